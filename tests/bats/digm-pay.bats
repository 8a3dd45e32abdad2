#!/usr/bin/env bats
# digm-pay on its SQLite ledger: wallets, a real receipt from a real fetch,
# settlement once and only once, refusals that apply nothing, purchases and
# grants that digm-fetch opens, rewards, stakes and slashes.

load helpers

setup_file() {
  make_receipt_fixture
}

setup() {
  cd "$BATS_TEST_TMPDIR"
  export DIGM_LEDGER="$BATS_TEST_TMPDIR/ledger.db"
  LISTENER=$(jq -r .listener "$FIX/receipt.json")
}

teardown() {
  unmount_all
}

addr() { digm-pay wallet show "$1" | awk '/^address/ { print $2 }'; }
bal() { digm-pay balance "$1" | jq -r --arg a "${2:-XFG}" 'select(.asset == $a) | .amount'; }

@test "wallet new makes a 0600 wallet, prints its address, and never overwrites" {
  run -0 digm-pay wallet new -o w.wallet
  [[ "$output" =~ ^0x[0-9a-f]{40}$ ]]
  [ "$(stat -c %a w.wallet)" = 600 ]
  [ "$(addr w.wallet)" = "$output" ]
  run -0 digm-pay wallet identity w.wallet
  jq -e 'keys == ["address", "public", "schema"] and .schema == "digm.identity/1"' <<<"$output"
  run -2 --separate-stderr digm-pay wallet new -o w.wallet
  [[ "$stderr" == *"w.wallet"* ]]
  [ "$(addr w.wallet)" = "$(jq -r .address <<<"$(digm-pay wallet identity w.wallet)")" ]
}

@test "usage errors exit 2; bad amounts exit 3; nothing is written" {
  run -2 digm-pay
  run -2 --separate-stderr digm-pay deposit --to 0x00000000000000000000000000000000000000a1
  run -2 digm-pay deposit --to nobody --amount 1
  run -3 --separate-stderr digm-pay deposit --to 0x00000000000000000000000000000000000000a1 --amount 0.00000001
  [[ "$stderr" == *"more than 7 decimals"* ]]
  run -3 digm-pay deposit --to 0x00000000000000000000000000000000000000a1 --amount 1e3
  # Nothing was written: there is not even a ledger, and reading does not make one.
  run -3 --separate-stderr digm-pay history
  [[ "$stderr" == *"no such ledger"* ]]
  [ ! -e "$DIGM_LEDGER" ]
}

@test "a read-only command on a ledger that does not exist is bad input, and creates nothing" {
  for cmd in balance history check; do
    run -3 --separate-stderr digm-pay --ledger typo.db $cmd
    [[ "$stderr" == *"'typo.db': no such ledger"* ]]
    [ ! -e typo.db ]
  done
}

@test "a short transfer is refused with exit 1 and changes nothing" {
  a=0x00000000000000000000000000000000000000a1 b=0x00000000000000000000000000000000000000b1
  digm-pay deposit --to $a --amount 1.5 > /dev/null
  run -1 --separate-stderr digm-pay transfer --from $a --to $b --amount 2
  [[ "$stderr" == *"the balance of $a is short by 0.5 XFG; nothing was applied"* ]]
  [ "$(bal $a)" = 1.5 ]
  run -0 digm-pay transfer --from $a --to $b --amount 0.25
  jq -e '.kind == "transfer" and .amount == "0.25"' <<<"$output"
  [ "$(bal $a)" = 1.25 ] && [ "$(bal $b)" = 0.25 ]
}

@test "a ledger on a full disk: exit 3 with a hint, nothing half-applied, all there once room is made" {
  small_disk disk 1m
  export DIGM_LEDGER=disk/ledger.db
  a=0x00000000000000000000000000000000000000a1 b=0x00000000000000000000000000000000000000b1
  digm-pay deposit --to $a --amount 5 > /dev/null
  head -c 2M /dev/zero > disk/filler 2> /dev/null || true  # as much as fits
  run -3 --separate-stderr digm-pay transfer --from $a --to $b --amount 2
  [[ "$stderr" == *"ledger.db'"*"hint: is its disk full? free some room there and run it again"* ]]
  rm disk/filler
  digm-pay check > /dev/null
  [ "$(bal $a)" = 5 ] && [ -z "$(bal $b)" ]
  digm-pay transfer --from $a --to $b --amount 2 > /dev/null
  [ "$(bal $a)" = 3 ] && [ "$(bal $b)" = 2 ]
}

@test "settle pays each node for its bytes, states the rounding, and only once" {
  digm-pay deposit --to "$LISTENER" --amount 10 > /dev/null
  run -0 digm-pay settle "$FIX/receipt.json" --price-per-mb 0.001
  n=$(jq '[.deliveries[] | select(.bytes > 0)] | length' "$FIX/receipt.json")
  [ "$(wc -l <<<"$output")" -eq "$n" ]
  # Each node gets floor(bytes × 10000 units / 1e6); the dropped fraction is stated.
  jq -s --slurpfile r "$FIX/receipt.json" -e '
    all(.[]; . as $t | ($r[0].deliveries[] | select(.node_id == $t.to)) as $d
      | ($t.amount | tonumber) * 10000000 == (($d.bytes * 10000 / 1000000) | floor)
      and (($t.rounding | tonumber) * 10000000 * 1000000 | round) == (($d.bytes * 10000) % 1000000))' <<<"$output"
  before=$(digm-pay balance)
  run -0 digm-pay settle "$FIX/receipt.json" --price-per-mb 0.001
  [ -z "$output" ]
  [ "$(digm-pay balance)" = "$before" ]
}

@test "a settle at price 0 is a usage error and uses nothing up" {
  digm-pay deposit --to "$LISTENER" --amount 10 > /dev/null
  run --separate-stderr -2 digm-pay settle "$FIX/receipt.json" --price-per-mb 0
  [[ "$stderr" == *"--price-per-mb must be more than zero"* ]]
  run -0 digm-pay settle "$FIX/receipt.json" --price-per-mb 0.001
  [ "$(jq -s length <<<"$output")" -ge 1 ]
}

@test "a tampered receipt exits 4 and nothing is applied, not even the good ones" {
  digm-pay deposit --to "$LISTENER" --amount 10 > /dev/null
  jq -c '.deliveries[0].bytes += 1000000' "$FIX/receipt.json" > tampered.json
  run -4 --separate-stderr digm-pay settle "$FIX/receipt.json" tampered.json --price-per-mb 0.001
  [[ "$stderr" == *"'tampered.json'"* ]]
  [ "$(digm-pay history | wc -l)" -eq 1 ]
}

@test "a listener who cannot pay: exit 1, nothing applied" {
  digm-pay deposit --to "$LISTENER" --amount 0.0000001 > /dev/null
  run -1 --separate-stderr digm-pay settle "$FIX/receipt.json" --price-per-mb 0.001
  [[ "$stderr" == *"the balance of $LISTENER is short"* ]]
  [ "$(bal "$LISTENER")" = 0.0000001 ]
}

@test "purchase then grant: the buyer's wrapped key opens the track; others get none" {
  digm-pay wallet new -o buyer.wallet > /dev/null
  digm-pay wallet new -o other.wallet > /dev/null
  digm-pay wallet identity buyer.wallet -o buyer.id
  digm-pay wallet identity other.wallet -o other.id
  artist=0x00000000000000000000000000000000000000ad
  root=$(jq -r .root "$FIX/mp3.json")
  digm-pay deposit --to "$(addr buyer.wallet)" --amount 3 > /dev/null
  run -1 --separate-stderr digm-pay grant "$root" --key "$FIX/mp3.key" --to buyer.id
  [[ "$stderr" == *"has not purchased"* ]]
  [ -z "$output" ]
  run -0 digm-pay purchase "$root" --buyer buyer.wallet --artist $artist --price 2.5
  jq -e --arg a $artist '.kind == "purchase" and .to == $a and .amount == "2.5"' <<<"$output"
  run -0 --separate-stderr digm-pay purchase "$root" --buyer buyer.wallet --artist $artist --price 2.5
  [ -z "$output" ]
  [[ "$stderr" == *"bought $root before; nothing changed"* ]]
  [ "$(bal $artist)" = 2.5 ]
  digm-pay grant "$root" --key "$FIX/mp3.key" --to buyer.id -o buyer.wk
  jq -e --arg a "$(addr buyer.wallet)" '.schema == "digm.wrapped-key/1" and .recipient == $a' buyer.wk
  run -1 digm-pay grant "$root" --key "$FIX/mp3.key" --to other.id
  # The wrapped key opens the track for the buyer, offline from the chunk folder.
  digm-seed init --data n > /dev/null
  digm-seed add "$FIX/mp3.json" --from "$FIX/chunks" --data n > /dev/null
  start_node n
  digm-fetch "$root" --peer "$URL_n" --wrapped buyer.wk --wallet buyer.wallet --no-cache -o out.mp3
  assert_same_bytes out.mp3 "$AUDIO/track.mp3"
  run -4 digm-fetch "$root" --peer "$URL_n" --wrapped buyer.wk --wallet other.wallet --no-cache -o other.mp3
  [ ! -e other.mp3 ]
  stop_nodes
}

@test "reward: 0.1 PARA per second, 60/40, capped by the track, once per listener, track and day" {
  artist=0x00000000000000000000000000000000000000ad
  run -1 digm-pay reward --seconds 10 --listener "$LISTENER" --artist $artist
  digm-pay deposit --to pool:rewards --amount 100 --asset PARA > /dev/null
  run -0 digm-pay reward --seconds 10 --listener "$LISTENER" --artist $artist
  jq -se '[.[].amount] == ["0.6", "0.4"] and all(.[]; .asset == "PARA" and .from == "pool:rewards")' <<<"$output"
  # A receipt that claims 42 s of the 5 s track earns 5 s: 0.5 PARA.
  jq '.finished = ((.started | fromdate) + 42 | todate)' "$FIX/receipt.json" | digm-test-sign - "$FIX/listener.wallet" > long.json
  run --separate-stderr -2 digm-pay reward --receipt long.json --artist $artist
  [[ "$stderr" == *"--receipt needs --manifest"* ]]
  run -0 digm-pay reward --receipt long.json --manifest "$FIX/mp3.json" --artist $artist
  jq -se --arg l "$LISTENER" '[.[] | [.to, .amount, .memo]] == [[$l, "0.3", "5 s"], ["'$artist'", "0.2", "5 s"]]' <<<"$output"
  # The same listener, track and day again, even by another receipt: nothing.
  jq '.finished = ((.started | fromdate) + 41 | todate)' "$FIX/receipt.json" | digm-test-sign - "$FIX/listener.wallet" > again.json
  run -0 digm-pay reward --receipt again.json --manifest "$FIX/mp3.json" --artist $artist
  [ -z "$output" ]
  [ "$(bal pool:rewards PARA)" = 98.5 ]
}

@test "reward: receipts with nothing delivered by identified nodes mint nothing" {
  artist=0x00000000000000000000000000000000000000ad
  digm-pay deposit --to pool:rewards --amount 100 --asset PARA > /dev/null
  for i in 1 2 3; do
    make_wallet "minter$i.wallet" "$(printf '%064x' $((0xbad0 + i)))"
    jq '.deliveries = [] | .dropped = [] | .finished = ((.started | fromdate) + 86400 | todate)' "$FIX/receipt.json" \
      | jq --arg l "$(digm-pay wallet identity "minter$i.wallet" | jq -r .address)" '.listener = $l' \
      | digm-test-sign - "minter$i.wallet" > "minted$i.json"
    run -0 --separate-stderr digm-pay reward --receipt "minted$i.json" --manifest "$FIX/mp3.json" --artist $artist
    [ -z "$output" ]
    [[ "$stderr" == *"earns nothing"* ]]
  done
  # Deliveries from no proven identity do not count either.
  jq '.deliveries |= map(.node_id = null) | .finished = ((.started | fromdate) + 60 | todate)' "$FIX/receipt.json" \
    | digm-test-sign - "$FIX/listener.wallet" > anon.json
  run -0 --separate-stderr digm-pay reward --receipt anon.json --manifest "$FIX/mp3.json" --artist $artist
  [ -z "$output" ]
  # A receipt of another track than the manifest's: bad input.
  digm-chunk "$AUDIO/track.wav" | digm-merkle seal > other.json
  run --separate-stderr -3 digm-pay reward --receipt anon.json --manifest other.json --artist $artist
  [[ "$stderr" == *"the receipt is for"* ]]
  [ "$(bal pool:rewards PARA)" = 100 ]
}

@test "slash burns half a struck-out node's stake once per node and epoch" {
  node=0x00000000000000000000000000000000000000c1
  digm-pay deposit --to $node --amount 8 > /dev/null
  digm-pay stake --node $node --amount 6 > /dev/null
  make_wallet auditor.wallet 00000000000000000000000000000000000000000000000000000000000000a1
  auditor=$(digm-pay wallet identity auditor.wallet | jq -r .address)
  echo '{"schema":"digm.slash/1","node_id":"'$node'","address":"'$node'","epoch":7,"evidence":[]}' > rec.json
  rec=$(digm-test-sign rec.json auditor.wallet)
  printf '%s\n%s\n' '{"schema":"digm.audit/1","ok":false}' "$rec" > in.ndjson
  run -0 digm-pay slash --auditor "$auditor" < in.ndjson
  jq -e --arg n "stake:$node" '.kind == "slash" and .from == $n and .to == "burn" and .amount == "3"' <<<"$output"
  run -0 digm-pay slash --auditor "$auditor" < in.ndjson
  [ -z "$output" ]
  [ "$(bal stake:$node)" = 3 ] && [ "$(bal burn)" = 3 ]
  run -4 digm-pay slash --auditor 0x00000000000000000000000000000000000000ee < in.ndjson
}

@test "slash: unsigned or foreign records burn nothing; --auditor is required" {
  node=0x00000000000000000000000000000000000000c2
  digm-pay deposit --to $node --amount 100 > /dev/null
  digm-pay stake --node $node --amount 100 > /dev/null
  for e in 1 2 3 4 5 6 7 8; do
    echo '{"schema":"digm.slash/1","node_id":"'$node'","address":"'$node'","epoch":'$e',"evidence":[]}'
  done > forged.ndjson
  run --separate-stderr -2 digm-pay slash < forged.ndjson
  [[ "$stderr" == *"--auditor is required"* ]]
  make_wallet auditor.wallet 00000000000000000000000000000000000000000000000000000000000000a1
  auditor=$(digm-pay wallet identity auditor.wallet | jq -r .address)
  run --separate-stderr -4 digm-pay slash --auditor "$auditor" < forged.ndjson
  make_wallet mallory.wallet 8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f
  head -1 forged.ndjson | digm-test-sign - mallory.wallet > foreign.ndjson
  run --separate-stderr -4 digm-pay slash --auditor "$auditor" < foreign.ndjson
  [[ "$stderr" == *"not by a given --auditor"* ]]
  rc=0; digm-pay slash --auditor "$auditor" <&- 2> err || rc=$?   # bats' run keeps a stdin open
  [ "$rc" -eq 3 ] && grep -q "stdin is closed" err
  [ "$(bal stake:$node)" = 100 ]
}

@test "node-rewards shares a pool among healthy nodes by score" {
  digm-pay deposit --to pool:rewards --amount 10 --asset PARA > /dev/null
  cat > index.json <<'JSON'
{"schema":"digm.fresh-index/1","epoch":1,"nodes":[
 {"node_id":"0x00000000000000000000000000000000000000d1","healthy":true,"score":1},
 {"node_id":"0x00000000000000000000000000000000000000d2","healthy":true,"score":0.95},
 {"node_id":"0x00000000000000000000000000000000000000d3","healthy":false,"score":0.2}]}
JSON
  run -0 digm-pay node-rewards --index index.json --pool 3.9
  jq -se '[.[].amount] == ["2", "1.9"]' <<<"$output"
  run -0 digm-pay node-rewards --index index.json --pool 3.9
  [ -z "$output" ]
}

@test "the ledger's invariant holds after all of it" {
  a=0x00000000000000000000000000000000000000a1
  digm-pay deposit --to $a --amount 5 > /dev/null
  digm-pay transfer --from $a --to burn --amount 1 > /dev/null
  [ "$(digm-pay balance | jq -s 'map(select(.asset == "XFG") | .amount | tonumber) | add')" = 0 ]
  [ "$(sqlite3 "$DIGM_LEDGER" 'SELECT count(*) FROM journal GROUP BY transfer HAVING sum(amount) != 0' | wc -l)" -eq 0 ]
}

@test "check finds a ledger whose balances were altered behind its back (exit 4)" {
  a=0x00000000000000000000000000000000000000a1
  digm-pay deposit --to $a --amount 5 > /dev/null
  run -0 digm-pay check
  sqlite3 "$DIGM_LEDGER" "UPDATE balances SET amount = amount + 1 WHERE account = '$a'"
  run -4 --separate-stderr digm-pay check
  [[ "$stderr" == *"the balance of $a in XFG differs from its journal"* ]]
}

@test "kill -9 in the middle of a large settle: every receipt is before or after, never half" {
  make_wallet l.wallet 0000000000000000000000000000000000000000000000000000000000000022
  digm-test-receipts "$FIX/receipt.json" l.wallet 3000 .
  payer=$(addr l.wallet)
  digm-pay deposit --to "$payer" --amount 100000 > /dev/null
  start=$(bal "$payer")
  for delay in 0.05 0.2 0.4; do
    digm-pay settle r-*.json --price-per-mb 0.001 > /dev/null &
    pid=$!
    sleep "$delay"
    kill -KILL $pid 2>/dev/null || true
    wait $pid || true
    digm-pay check
    # A receipt is settled with all its deliveries or not at all.
    n=$(jq '[.deliveries[] | select(.bytes > 0)] | length' "$FIX/receipt.json")
    [ "$(sqlite3 "$DIGM_LEDGER" "SELECT count(*) FROM postings p JOIN transfers t ON t.posting = p.id
          WHERE p.kind = 'settle' GROUP BY p.id HAVING count(*) != $n" | wc -l)" -eq 0 ]
  done
  digm-pay settle r-*.json --price-per-mb 0.001 > /dev/null
  digm-pay check
  [ "$(sqlite3 "$DIGM_LEDGER" "SELECT count(*) FROM postings WHERE kind = 'settle'")" -eq 3000 ]
  # The payer paid each receipt exactly once.
  one=$(jq '[.deliveries[] | (.bytes * 10000 / 1000000 | floor)] | add' "$FIX/receipt.json")
  [ "$(bal "$payer")" = "$(jq -n --argjson s "$start" --argjson o "$one" '($s * 10000000 - 3000 * $o) / 10000000')" ]
}
