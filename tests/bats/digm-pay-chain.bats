#!/usr/bin/env bats
# digm-pay's chain backend on a real local EVM chain (npm's ganache on
# 127.0.0.1, chain id 98765): EIP-155 signed value transfers whose data names
# the receipt or purchase, sent once and only once.

load helpers

setup_file() {
  make_receipt_fixture
  [ "$(jq '[.deliveries[] | select(.bytes > 0)] | length' receipt.json)" -eq 2 ]
}

setup() {
  cd "$BATS_TEST_TMPDIR"
  export DIGM_LEDGER="$BATS_TEST_TMPDIR/ledger.db"
  start_chain
  make_wallet bank.wallet $BANK_SECRET
  LISTENER=$(jq -r .listener "$FIX/receipt.json")
  CHAIN=(--chain evm --rpc "$RPC" --chain-id 98765)
}

teardown() { stop_nodes; }

nonce_of() { rpc eth_getTransactionCount "\"$1\"" '"latest"'; }

@test "settle a real receipt on the chain: each node's balance, the data, and never twice" {
  run -0 digm-pay transfer "${CHAIN[@]}" --wallet bank.wallet --to "$LISTENER" --amount 2 --ref fund
  jq -e '.chain_id == 98765 and (.chain_tx | test("^0x[0-9a-f]{64}$"))' <<<"$output"
  [ "$(wei_of "$LISTENER")" = 2000000000000000000 ]
  run -0 digm-pay settle "$FIX/receipt.json" --price-per-mb 0.5 "${CHAIN[@]}" --wallet "$FIX/listener.wallet"
  [ "$(wc -l <<<"$output")" -eq 2 ]
  hash=$(jq -cS 'del(.signature)' "$FIX/receipt.json" | tr -d '\n' | sha256sum | cut -c1-64)
  while read -r t; do
    node=$(jq -r .to <<<"$t")
    bytes=$(jq --arg n "$node" '.deliveries[] | select(.node_id == $n) | .bytes' "$FIX/receipt.json")
    # EIP-155: v = 2 × 98765 + 35 or 36. floor(bytes × 0.5 XFG / 1e6) in atomic units (10^-7), each worth 10^11 wei.
    [ "$(wei_of "$node")" = "$(( bytes * 5000000 / 1000000 ))00000000000" ]
    [ "$(jq -r .ref <<<"$t")" = "receipt:$hash" ]
    tx=$(rpc eth_getTransactionByHash "\"$(jq -r .chain_tx <<<"$t")\"" | jq -c .)
    jq -e --arg h "0x$hash" --arg l "$LISTENER" --arg n "$node" \
      '.input == $h and .from == $l and .to == $n and (.v == "0x303bd" or .v == "0x303be")' <<<"$tx" || { echo "$tx"; false; }
    [ "$(rpc eth_getTransactionReceipt "\"$(jq -r .chain_tx <<<"$t")\"" | jq -r .status)" = 0x1 ]
  done <<<"$output"
  nonce=$(nonce_of "$LISTENER")
  [ "$nonce" = 0x2 ]
  run -0 digm-pay settle "$FIX/receipt.json" --price-per-mb 0.5 "${CHAIN[@]}" --wallet "$FIX/listener.wallet"
  [ -z "$output" ]
  [ "$(nonce_of "$LISTENER")" = "$nonce" ]
  [ "$(digm-pay history | jq -s 'map(select(.kind == "settle")) | length')" -eq 2 ]
}

@test "refusals send nothing: tampered (4), short (1), wrong chain id (3), no RPC (5), usage (2)" {
  digm-pay transfer "${CHAIN[@]}" --wallet bank.wallet --to "$LISTENER" --amount 0.001 > /dev/null
  jq -c '.deliveries[0].bytes += 1000000' "$FIX/receipt.json" > tampered.json
  run -4 digm-pay settle tampered.json --price-per-mb 0.5 "${CHAIN[@]}" --wallet "$FIX/listener.wallet"
  run -1 --separate-stderr digm-pay settle "$FIX/receipt.json" --price-per-mb 0.5 "${CHAIN[@]}" --wallet "$FIX/listener.wallet"
  [[ "$stderr" == *"the balance of $LISTENER on chain 98765 is short by"*"nothing was sent"* ]]
  run -3 --separate-stderr digm-pay settle "$FIX/receipt.json" --price-per-mb 0.5 --chain evm --rpc "$RPC" --chain-id 1 --wallet "$FIX/listener.wallet"
  [[ "$stderr" == *"has chain id 98765, not 1"* ]]
  run -5 digm-pay settle "$FIX/receipt.json" --price-per-mb 0.5 --chain evm --rpc http://127.0.0.1:9 --chain-id 98765 --wallet "$FIX/listener.wallet"
  run -2 digm-pay settle "$FIX/receipt.json" --price-per-mb 0.5 --chain evm --rpc "$RPC" --chain-id 98765
  run -2 digm-pay settle "$FIX/receipt.json" --price-per-mb 0.5 --rpc "$RPC"
  run -2 digm-pay settle "$FIX/receipt.json" --price-per-mb 0.5 "${CHAIN[@]}" --wallet bank.wallet
  [ "$(nonce_of "$LISTENER")" = 0x0 ]
  [ "$(sqlite3 "$DIGM_LEDGER" "SELECT count(*) FROM chain_sends WHERE kind = 'settle'")" -eq 0 ]
}

@test "purchase on the chain pays the artist, then grant wraps the key for the buyer" {
  digm-pay wallet new -o buyer.wallet > /dev/null
  digm-pay wallet identity buyer.wallet -o buyer.id
  buyer=$(jq -r .address buyer.id)
  artist=0x00000000000000000000000000000000000000ad
  root=$(jq -r .root "$FIX/mp3.json")
  digm-pay transfer "${CHAIN[@]}" --wallet bank.wallet --to "$buyer" --amount 3 > /dev/null
  run -0 digm-pay purchase "$root" --buyer buyer.wallet --artist $artist --price 2.5 "${CHAIN[@]}"
  jq -e --arg a $artist '.kind == "purchase" and .to == $a and .amount == "2.5" and .chain_id == 98765' <<<"$output"
  [ "$(wei_of $artist)" = 2500000000000000000 ]
  data=$(printf 'purchase:%s:%s' "$root" "$buyer" | sha256sum | cut -c1-64)
  [ "$(rpc eth_getTransactionByHash "\"$(jq -r .chain_tx <<<"$output")\"" | jq -r .input)" = "0x$data" ]
  run -0 digm-pay purchase "$root" --buyer buyer.wallet --artist $artist --price 2.5 "${CHAIN[@]}"
  [ -z "$output" ]
  [ "$(wei_of $artist)" = 2500000000000000000 ]
  # The purchase is in the ledger: grant wraps the key for this buyer only.
  run -0 digm-pay grant "$root" --key "$FIX/mp3.key" --to buyer.id
  jq -e --arg b "$buyer" '.schema == "digm.wrapped-key/1" and .recipient == $b' <<<"$output"
  digm-pay wallet new -o other.wallet > /dev/null
  digm-pay wallet identity other.wallet -o other.id
  run -1 digm-pay grant "$root" --key "$FIX/mp3.key" --to other.id
}

@test "not mined in time: exit 5, and the next run waits for the same transactions" {
  stop_nodes
  start_chain --miner.blockTime 3600  # nothing is mined until evm_mine
  CHAIN=(--chain evm --rpc "$RPC" --chain-id 98765)
  run -5 --separate-stderr digm-pay transfer "${CHAIN[@]}" --wallet bank.wallet --to "$LISTENER" --amount 1 --ref slow --confirm-timeout 1
  [[ "$stderr" == *"not mined within 1 s"*"run again"* ]]
  sent=$(sqlite3 "$DIGM_LEDGER" "SELECT tx_hash FROM chain_sends WHERE state = 'signed'")
  [ -n "$sent" ]
  rpc evm_mine > /dev/null
  run -0 digm-pay transfer "${CHAIN[@]}" --wallet bank.wallet --to "$LISTENER" --amount 1 --ref slow
  [ "$(jq -r .chain_tx <<<"$output")" = "$sent" ]
  [ "$(nonce_of 0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1)" = 0x1 ]
  [ "$(wei_of "$LISTENER")" = 1000000000000000000 ]
}

# The channel contract, compiled with the pinned npm solc (tests/chain), and
# deployed from the bank: sets CONTRACT.
deploy_channels() {
  "$DIGM_SRC/tests/chain/node_modules/.bin/solcjs" --bin --optimize -o sol \
    "$DIGM_SRC/contracts/DigmChannels.sol" > /dev/null
  run -0 digm-pay channel deploy --bytecode sol/*DigmChannels.bin --wallet bank.wallet "${CHAIN[@]}"
  CONTRACT=$(jq -r .address <<<"$output")
  [[ "$CONTRACT" =~ ^0x[0-9a-f]{40}$ ]]
  [ "$(rpc eth_getCode "\"$CONTRACT\"" '"latest"')" != 0x ]
}

@test "paying per chunk on the chain: open, pay while fetching, redeem once, refund after expiry" {
  deploy_channels
  sox -n -r 44100 -c 2 -b 16 noise.wav synth 6 whitenoise vol 0.3
  sox noise.wav track.flac
  digm-chunk track.flac --chunk-size 64K --store chunks -q | digm-merkle seal > track.json
  node=$(digm-seed init --data n1 | jq -r .address)
  digm-seed add track.json --from chunks --data n1 > /dev/null
  digm-pay wallet new -o payer.wallet > /dev/null
  payer=$(digm-pay wallet show payer.wallet | awk '/^address/ { print $2 }')
  digm-pay transfer "${CHAIN[@]}" --wallet bank.wallet --to "$payer" --amount 5 --ref fund-payer > /dev/null
  digm-pay transfer "${CHAIN[@]}" --wallet bank.wallet --to "$node" --amount 1 --ref fund-node > /dev/null
  DIGM_LEDGER= start_node n1 --price-per-mb 0.01 --credit 128K "${CHAIN[@]}" --contract "$CONTRACT"  # channels on the chain only
  run -0 digm-pay channel open --payer payer.wallet --to "$node" --amount 1 --contract "$CONTRACT" "${CHAIN[@]}"
  echo "$output" > ch.json
  # The node asks the contract: a channel document it never saw opened, or
  # one claiming more than was paid in, gets nothing, not even the credit.
  chunk0="$URL_n1/content/$(jq -r '.chunks[0].hash' track.json)"
  jq -c --arg id "$(printf 'ee%.0s' {1..32})" '.id = $id' ch.json | digm-test-sign - payer.wallet > unopened.json
  jq -c '.amount = "2"' ch.json | digm-test-sign - payer.wallet > inflated.json
  for bad in unopened inflated; do
    run -0 curl -s -o body.json -w '%{http_code}' -H "Digm-Channel: $(jq -c . "$bad.json")" "$chunk0"
    [ "$output" = 402 ]
    jq -e '.error | test("the contract 0x[0-9a-f]{40} holds (no channel|channel .* with another payer, payee, amount or expiry)")' body.json
  done
  # Nor is a channel opened, and paid for, in a contract the node does not
  # trust: any contract could answer anything, and pay nothing at redeem.
  trusted=$CONTRACT
  deploy_channels
  run -0 digm-pay channel open --payer payer.wallet --to "$node" --amount 0.1 --contract "$CONTRACT" "${CHAIN[@]}"
  echo "$output" > untrusted.json
  CONTRACT=$trusted
  run -0 curl -s -o body.json -w '%{http_code}' -H "Digm-Channel: $(jq -c . untrusted.json)" "$chunk0"
  [ "$output" = 402 ]
  jq -e --arg c "$CONTRACT" '.error | test("are not taken here: this node takes channels in " + $c)' body.json
  # Nor is a channel in a ledger, which this node was not given.
  digm-pay deposit --to "$payer" --amount 1 > /dev/null
  digm-pay channel open --payer payer.wallet --to "$node" --amount 1 > ledger-ch.json
  run -0 curl -s -o body.json -w '%{http_code}' -H "Digm-Channel: $(jq -c . ledger-ch.json)" "$chunk0"
  [ "$output" = 402 ]
  jq -e '.error | test("channels in a ledger are not taken here")' body.json
  curl -s "$URL_n1/metrics" | grep -q '^digm_bytes_served_unpaid_total 0$'
  jq -e --arg c "$CONTRACT" '.chain == "evm:98765" and .contract == $c' ch.json
  [ "$(wei_of "$CONTRACT")" = 1000000000000000000 ]
  run -0 digm-fetch "$(jq -r .root track.json)" --peer "$URL_n1" --no-cache -q --pay ch.json \
    --wallet payer.wallet -o got.flac
  cmp got.flac track.flac
  digm-seed vouchers --data n1 > vouchers.ndjson
  jq -e '.evm_signature | test("^[0-9a-f]{130}$")' vouchers.ndjson
  paid=$(jq -r .amount vouchers.ndjson)
  node_before=$(wei_of "$node")
  # The node's operator redeems with a ledger of its own, which never saw the
  # channel opened: it learns the channel from its document, once the
  # contract is found to hold it.
  run -4 --separate-stderr env DIGM_LEDGER=node.db digm-pay channel redeem "${CHAIN[@]}" \
    --wallet n1/node.wallet < vouchers.ndjson
  [[ "$stderr" == *"hint:"*"digm-seed vouchers --channels"* ]]
  digm-seed vouchers --data n1 --channels > with-channels.ndjson
  jq -se '.[0].schema == "digm.channel/1" and .[1].schema == "digm.voucher/1"' with-channels.ndjson
  jq -c '.amount = "2"' <(head -1 with-channels.ndjson) | digm-test-sign - payer.wallet > inflated.ndjson
  tail -1 with-channels.ndjson >> inflated.ndjson
  run -4 --separate-stderr env DIGM_LEDGER=node.db digm-pay channel redeem "${CHAIN[@]}" \
    --wallet n1/node.wallet < inflated.ndjson
  echo "inflated: $stderr"
  [[ "$stderr" == *"with another payer, payee, amount or expiry than its document"* ]]
  [ "$(wei_of "$node")" = "$node_before" ]
  run -0 env DIGM_LEDGER=node.db digm-pay channel redeem "${CHAIN[@]}" --wallet n1/node.wallet < with-channels.ndjson
  run -0 env DIGM_LEDGER=node.db digm-pay channel show ch.json "${CHAIN[@]}"
  jq -e --arg p "$paid" '.redeemed == $p and .chain.redeemed == $p' <<<"$output"
  # Behind a voucher of a channel the ledger does not hold, refused alone.
  { jq -c --arg c "$(printf 'cd%.0s' {1..32})" '.channel = $c' vouchers.ndjson; cat vouchers.ndjson; } > both.ndjson
  run -4 --separate-stderr digm-pay channel redeem "${CHAIN[@]}" --wallet n1/node.wallet < both.ndjson
  [[ "$stderr" == *"error: voucher 1: the ledger holds no channel"* ]]
  [[ "$stderr" == *"voucher 2 was redeemed before"* ]]  # and the payer's ledger learns so
  run -0 --separate-stderr digm-pay channel redeem "${CHAIN[@]}" --wallet n1/node.wallet < vouchers.ndjson
  [[ "$stderr" == *"redeemed before"* ]]
  # The chain and the ledger see the same channel; the node got the voucher's amount (less its gas).
  run -0 digm-pay channel show ch.json "${CHAIN[@]}"
  jq -e --arg p "$paid" '.redeemed == $p and .chain.redeemed == $p and .left == .chain.left
    and .chain.amount == "1"' <<<"$output"
  gained=$(node -e "console.log((BigInt('$(wei_of "$node")') - BigInt('$node_before')).toString())")
  want=$(node -e "console.log((BigInt(Math.round($paid * 1e7)) * 10n ** 11n).toString())")
  node -e "const g = BigInt('$gained'), w = BigInt('$want'); process.exit(g < w && g > w - 10n ** 15n ? 0 : 1)"
  # A tampered voucher is refused by digm-pay before the chain sees it.
  run -4 digm-pay channel redeem "${CHAIN[@]}" --wallet n1/node.wallet \
    < <(jq -c '.amount = "0.5"' vouchers.ndjson)
  # Refund: not before expiry (the chain's clock), then the rest back once.
  run -1 digm-pay channel refund ch.json --wallet payer.wallet "${CHAIN[@]}"
  rpc evm_increaseTime $((31 * 86400)) > /dev/null
  rpc evm_mine > /dev/null
  run -4 digm-pay channel refund ch.json --wallet n1/node.wallet "${CHAIN[@]}"
  run -0 digm-pay channel refund ch.json --wallet payer.wallet "${CHAIN[@]}"
  [ "$(wei_of "$CONTRACT")" = 0 ]
  run -1 digm-pay channel refund ch.json --wallet payer.wallet "${CHAIN[@]}"
  run -0 digm-pay channel show ch.json "${CHAIN[@]}"
  jq -e '.refunded and .chain.refunded and .left == "0" and .chain.left == "0"' <<<"$output"
}
