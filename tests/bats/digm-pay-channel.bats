#!/usr/bin/env bats
# Paying per chunk (SPEC §12) on the SQLite ledger: three priced nodes paid
# through channels during a real fetch and redeemed exactly once, a listener
# who stops paying cut off after the credit, bad vouchers refused with
# nothing changed (each voucher of a batch on its own), a channel its ledger
# does not hold refused outright, a channel refused in its last
# --channel-margin, the contrib redeem cron as written, acknowledged vouchers
# kept through kill -9, and the cheaper node preferred.

load helpers

PRICE=0.01  # XFG per MB: 100000 atomic units
CREDIT=128K

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  cd "$FIX"
  sox -n -r 44100 -c 2 -b 16 noise.wav synth 16 whitenoise vol 0.3
  sox noise.wav --comment "TITLE=Paid Noise" track.flac
  digm-chunk track.flac --chunk-size 64K --store chunks -q | digm-merkle seal > track.json
}

setup() {
  cd "$BATS_TEST_TMPDIR"
  export DIGM_LEDGER="$BATS_TEST_TMPDIR/ledger.db"
  ROOT=$(jq -r .root "$FIX/track.json")
  digm-pay wallet new -o listener.wallet > /dev/null
  LISTENER=$(digm-pay wallet show listener.wallet | awk '/^address/ { print $2 }')
  digm-pay deposit --to "$LISTENER" --amount 10 > /dev/null
}

teardown() { stop_nodes; }

# book_holds NODE SEQ: NODE's voucher book holds a voucher of SEQ or later.
# Read from the file, not asked of the node: a node's rate limit is shared by
# every client on 127.0.0.1, and a probe answered 429 while a rate-limited
# fetch ran could miss the whole fetch.
book_holds() {
  local seq
  seq=$(digm-seed vouchers --data "$1" 2> /dev/null | jq -s 'map(.seq) | max // 0') &&
    [ "$seq" -ge "$2" ]
}

# priced_node NAME [PRICE] [ARGS...]: a node holding the track, charging.
priced_node() {
  local name=$1 price=${2:-$PRICE}; shift 2 || shift $#
  digm-seed init --data "$name" > /dev/null
  digm-seed add "$FIX/track.json" --from "$FIX/chunks" --data "$name" > /dev/null
  start_node "$name" --price-per-mb "$price" --credit "$CREDIT" "$@"
}
address_of() { digm-pay wallet show "$1/node.wallet" | awk '/^address/ { print $2 }'; }
# open_channels NODE...: a 1 XFG channel from the listener to each, in NODE.channel.
open_channels() {
  local n
  for n in "$@"; do
    digm-pay channel open --payer listener.wallet --to "$(address_of "$n")" --amount 1 > "$n.channel"
  done
}
# paid_fetch NODE...: the track from those nodes, each paid through its
# channel, into got.flac with its receipt in r.json (run's status and output).
paid_fetch() {
  local n args=()
  for n in "$@"; do
    local url="URL_$n"
    args+=(--peer "${!url}" --pay "$n.channel")
  done
  run digm-fetch "$ROOT" "${args[@]}" --no-cache -q --wallet listener.wallet --receipt r.json -o got.flac
}
bal() { digm-pay balance "$1" | jq -r 'select(.asset == "XFG") | .amount'; }
atomic() { awk -v a="$1" 'BEGIN { printf "%.0f", a * 10000000 }'; }
served() { curl -s "$1/metrics" | awk '/^digm_bytes_served_total/ { print $2 }'; }
# The price in atomic units of $1 bytes at PRICE: ceil(bytes × 100000 / 1e6).
price_of() { awk -v b="$1" 'BEGIN { p = b * 100000 / 1000000; q = int(p); print (p > q ? q + 1 : q) }'; }

@test "a paying fetch from three priced nodes: each is redeemed the price of what it served, once" {
  for n in n1 n2 n3; do
    priced_node "$n"
    digm-pay channel open --payer listener.wallet --to "$(address_of "$n")" --amount 1 > "$n.channel"
  done
  run -0 jq -e '.schema == "digm.channel/1" and .amount == "1" and .chain == "ledger"' n1.channel
  [ "$(bal "$LISTENER")" = 7 ]
  run -0 digm-fetch "$ROOT" --peer "$URL_n1" --peer "$URL_n2" --peer "$URL_n3" --no-cache -q \
    --pay n1.channel --pay n2.channel --pay n3.channel --wallet listener.wallet \
    --receipt receipt.json -o got.flac
  assert_same_bytes got.flac "$FIX/track.flac"
  total=0
  for n in n1 n2 n3; do
    digm-seed vouchers --data "$n" > "$n.vouchers"
    run -0 digm-pay channel redeem < "$n.vouchers"
    url_var="URL_$n"
    bytes=$(served "${!url_var}")
    got=$(atomic "$(bal "$(address_of "$n")")")
    want=$(price_of "$bytes")
    echo "$n served $bytes bytes: redeemed $got, price $want"
    # Vouchers pay ahead for what is asked, so at most one credit window apart.
    [ "$got" -ge "$want" ] && [ "$got" -le $((want + $(price_of 131072))) ]
    total=$((total + got))
    left=$(digm-pay channel show "$n.channel" | jq -r .left)
    [ "$(atomic "$left")" -eq $((10000000 - got)) ]
  done
  [ "$total" -gt 0 ]
  # Redeeming again changes nothing.
  before=$(digm-pay balance)
  for n in n1 n2 n3; do
    run -0 digm-pay channel redeem < "$n.vouchers"
    [ -z "$output" ]
  done
  [ "$(digm-pay balance)" = "$before" ]
  run -0 digm-pay check
  # The receipt names who delivered what through which channel, and what each
  # was paid; settling it pays nothing again.
  run -0 jq -e '[.deliveries[] | select(.channel and .paid)] | length > 0' receipt.json
  run -0 jq -e '[.deliveries[] | select(.channel | not)] | length == 0' receipt.json
  before=$(digm-pay balance)
  run -0 digm-pay settle receipt.json --price-per-mb 0.01
  [ -z "$output" ]
  [ "$(digm-pay balance)" = "$before" ]
}

@test "a channel its ledger does not hold gets nothing from a node, not even the credit" {
  priced_node n1
  # Signed by its payer, but opened in another ledger: here it holds no money.
  DIGM_LEDGER=other.db digm-pay deposit --to "$LISTENER" --amount 1 > /dev/null
  DIGM_LEDGER=other.db digm-pay channel open --payer listener.wallet --to "$(address_of n1)" \
    --amount 1 > unopened.channel
  run -5 --separate-stderr digm-fetch "$ROOT" --peer "$URL_n1" --pay unopened.channel --no-cache \
    --wallet listener.wallet -o got.flac
  echo "$stderr"
  [[ "$stderr" == *"would not take this fetch's payment (HTTP 402: Digm-Channel: the ledger this node checks holds no channel $(jq -r .id unopened.channel))"* ]]
  [ ! -e got.flac ]
  curl -s "$URL_n1/metrics" | grep -q '^digm_bytes_served_unpaid_total 0$'
  run -0 digm-seed vouchers --data n1
  [ -z "$output" ]
  # One opened in the node's ledger is taken.
  open_channels n1
  run -0 digm-fetch "$ROOT" --peer "$URL_n1" --pay n1.channel --no-cache -q --wallet listener.wallet -o got.flac
  assert_same_bytes got.flac "$FIX/track.flac"
  # A node that charges must be able to check channels.
  run -2 --separate-stderr env -u DIGM_LEDGER digm-seed serve --data n1 --listen 127.0.0.1:0 --price-per-mb 0.01
  [[ "$stderr" == *"give --ledger FILE (or set DIGM_LEDGER)"* ]]
  run -2 digm-seed serve --data n1 --listen 127.0.0.1:0 --price-per-mb 0.01 --chain evm --chain-id 5
  run -2 digm-seed serve --data n1 --listen 127.0.0.1:0 --ledger x.db
}

@test "a chain that never answers holds no server thread: the node serves on while it checks, four wait per address, then all are refused" {
  # A JSON-RPC endpoint that takes connections and never answers.
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
held = []
while True: held.append(s.accept()[0])' > rpc.port &
  echo $! >> "$BATS_TEST_TMPDIR/pids"
  eventually 5 test -s rpc.port
  contract=0x00000000000000000000000000000000000000c4
  digm-seed init --data n1 > /dev/null
  digm-seed add "$FIX/track.json" --from "$FIX/chunks" --data n1 > /dev/null
  # One server thread: a check holding it would stop the node.
  start_node n1 --price-per-mb "$PRICE" --threads 1 --chain evm --rpc "http://127.0.0.1:$(cat rpc.port)" \
    --chain-id 98765 --contract "$contract"
  # Channel documents on that chain, signed by the listener.
  for n in 1 2; do
    digm-pay channel open --payer listener.wallet --to "$(address_of n1)" --amount 1 |
      jq -c --arg c "$contract" '.chain = "evm:98765" | .contract = $c' |
      digm-test-sign - listener.wallet > "evm$n.json"
  done
  url="$URL_n1/content/$(jq -r '.chunks[0].hash' "$FIX/track.json")"
  ask() {  # ask NAME DOC: in the background, the code in NAME.code
    curl -s -o "$1.json" -w '%{http_code}' -H "Digm-Channel: $(jq -c . "$2")" "$url" > "$1.code" &
    echo $! >> waiting.pids
  }
  ask r1 evm1.json  # its check is under way...
  sleep 0.3
  for k in 1 2 3 4; do ask "r2$k" evm2.json; done  # ...and four wait, as many as one address may
  sleep 0.6
  run -0 curl -s -m 1 -o busy.json -D busy.headers -w '%{http_code}' -H "Digm-Channel: $(jq -c . evm2.json)" "$url"
  [ "$output" = 503 ]
  grep -qi '^retry-after: 1' busy.headers
  # Meanwhile the node answers at once: its identity, its tracks, a free manifest.
  run -0 curl -sf -m 1 "$URL_n1/ping"
  run -0 curl -sf -m 1 "$URL_n1/tracks"
  run -0 curl -sf -m 1 -o /dev/null "$URL_n1/tracks/$ROOT"
  while read -r pid; do wait "$pid"; done < waiting.pids
  for r in r1 r21 r22 r23 r24; do  # each check gives up after 2 s; those waiting on it are told at once
    [ "$(cat "$r.code")" = 402 ]
    jq -e '.error | test("chain RPC eth_chainId: .* timed out")' "$r.json"
  done
  curl -s "$URL_n1/metrics" | grep -q '^digm_bytes_served_unpaid_total 0$'
  # SIGTERM: the check under way still answers; those waiting get 503; the node exits 0.
  : > waiting.pids
  ask r3 evm1.json
  sleep 0.3
  ask r4 evm2.json
  sleep 0.3
  kill -TERM "$PID_n1"
  rc=0
  wait "$PID_n1" || rc=$?
  [ "$rc" -eq 0 ]
  while read -r pid; do wait "$pid"; done < waiting.pids
  [ "$(cat r3.code)" = 402 ]
  [ "$(cat r4.code)" = 503 ]
  jq -e '.error == "the node is stopping"' r4.json
}

@test "a node refuses a channel in its last --channel-margin seconds, which its price states; the fetch says why" {
  priced_node n1 "$PRICE" --channel-margin 172800
  digm-pay channel open --payer listener.wallet --to "$(address_of n1)" --amount 1 --expires 1 > short.channel
  digm-pay channel open --payer listener.wallet --to "$(address_of n1)" --amount 1 --expires 3 > long.channel
  run -0 jq -e '.price.channel_margin == 172800' <(curl -s "$URL_n1/ping?nonce=$(printf 'ab%.0s' {1..16})")
  grep -q "a channel is refused from 172800 seconds before it expires" "$BATS_TEST_TMPDIR/n1.log"
  run -5 --separate-stderr digm-fetch "$ROOT" --peer "$URL_n1" --pay short.channel --no-cache \
    --wallet listener.wallet -o got.flac
  echo "$stderr"
  [[ "$stderr" == *"$URL_n1: would not take this fetch's payment (HTTP 402: the channel expires at "*", within the 172800 seconds this node keeps to redeem its vouchers (--channel-margin): open one that runs longer)"* ]]
  [[ "$stderr" == *"hint:"* ]]
  [ ! -e got.flac ]
  run -0 digm-seed vouchers --data n1
  [ -z "$output" ]
  run -0 digm-fetch "$ROOT" --peer "$URL_n1" --pay long.channel --no-cache -q --wallet listener.wallet -o got.flac
  assert_same_bytes got.flac "$FIX/track.flac"
  run -2 --separate-stderr digm-seed serve --data n1 --listen 127.0.0.1:0 --channel-margin 60
  [[ "$stderr" == *"--channel-margin goes with --price-per-mb"* ]]
}

@test "contrib/digm-seed-redeem.cron: its hourly line redeems as written, once" {
  mkdir -p log
  export DIGM_LEDGER="$PWD/lib/ledger.db"
  priced_node lib  # the node's data folder, /var/lib/digm in the file
  digm-pay deposit --to "$LISTENER" --amount 10 > /dev/null
  open_channels lib
  run -0 digm-fetch "$ROOT" --peer "$URL_lib" --pay lib.channel --no-cache -q --wallet listener.wallet -o /dev/null
  file="$DIGM_SRC/contrib/digm-seed-redeem.cron"
  grep -qx 'DIGM_LEDGER=/var/lib/digm/ledger.db' "$file"
  line=$(grep -E '^[0-9*]' "$file" | cut -d' ' -f7- \
    | sed -e "s|/var/lib/digm|$PWD/lib|g" -e "s|/var/log/digm|$PWD/log|g")
  [ -n "$line" ]
  for run in 1 2; do sh -c "$line" || true; done
  [ "$(wc -l < log/redeem.ndjson)" -eq 1 ]  # once, though run twice
  paid=$(digm-seed vouchers --data lib | jq -r "select(.channel == \"$(jq -r .id lib.channel)\") | .amount")
  [ "$(bal "$(address_of lib)")" = "$paid" ]
  [ ! -s log/redeem.log ]
}

@test "a listener who stops paying is cut off after the credit; no --pay exits 5 with a hint" {
  priced_node n1
  digm-pay channel open --payer listener.wallet --to "$(address_of n1)" --amount 1 > ch.json
  chunk() { jq -r ".chunks[$1].hash" "$FIX/track.json"; }
  header="Digm-Channel: $(jq -c . ch.json)"
  # 128 KiB of credit: two 64 KiB chunks unpaid, then 402 with an invoice.
  for i in 0 1; do
    run -0 curl -sf -o /dev/null -H "$header" "$URL_n1/content/$(chunk "$i")"
  done
  run -0 curl -s -o invoice.json -w '%{http_code}' -H "$header" "$URL_n1/content/$(chunk 2)"
  [ "$output" = 402 ]
  run -0 jq -e --arg id "$(jq -r .id ch.json)" \
    '.schema == "digm.invoice/1" and .channel == $id and .paid == "0" and .price.per_mb == "0.01"' invoice.json
  curl -s "$URL_n1/metrics" | grep -q '^digm_bytes_served_unpaid_total 131072$'
  curl -s "$URL_n1/metrics" | grep -q '^digm_bytes_served_paid_total 0$'
  # A channel of 0.0005 XFG pays for 50,000 bytes at most: not one 64 KiB
  # chunk, whatever the credit.
  digm-pay channel open --payer listener.wallet --to "$(address_of n1)" --amount 0.0005 > tiny.json
  run -0 curl -s -o /dev/null -w '%{http_code}' -H "Digm-Channel: $(jq -c . tiny.json)" "$URL_n1/content/$(chunk 0)"
  [ "$output" = 402 ]
  curl -s "$URL_n1/metrics" | grep -q '^digm_bytes_served_unpaid_total 131072$'
  # Without a channel at all: 402 at once.
  run -0 curl -s -o /dev/null -w '%{http_code}' "$URL_n1/content/$(chunk 3)"
  [ "$output" = 402 ]
  run -5 --separate-stderr digm-fetch "$ROOT" --peer "$URL_n1" --no-cache -o nopay.flac
  [[ "$stderr" == *"$URL_n1: charges for its content (HTTP 402: this node charges: pay through a channel)"* ]]
  [[ "$stderr" == *"hint:"*"digm-pay channel open"*"--pay"* ]]
  [ ! -e nopay.flac ]
  # A channel to another node does not pay this one: left out, exit 5.
  digm-pay wallet new -o other.wallet > /dev/null
  digm-pay channel open --payer listener.wallet --to "$(digm-pay wallet show other.wallet | awk '/^address/ { print $2 }')" \
    --amount 1 > wrong.json
  run -5 --separate-stderr digm-fetch "$ROOT" --peer "$URL_n1" --no-cache --pay wrong.json \
    --wallet listener.wallet -o nopay.flac
  [[ "$stderr" == *"hint:"* ]]
  run -2 --separate-stderr digm-fetch "$ROOT" --peer "$URL_n1" --pay ch.json -o nopay.flac
  [[ "$stderr" == *"--pay needs --wallet"* ]]
}

@test "--credit 0: nothing is sent before it is paid for, and a paying fetch gets it all" {
  digm-seed init --data n1 > /dev/null
  digm-seed add "$FIX/track.json" --from "$FIX/chunks" --data n1 > /dev/null
  start_node n1 --price-per-mb "$PRICE" --credit 0
  open_channels n1
  run -0 curl -s -o /dev/null -w '%{http_code}' -H "Digm-Channel: $(jq -c . n1.channel)" \
    "$URL_n1/content/$(jq -r '.chunks[0].hash' "$FIX/track.json")"
  [ "$output" = 402 ]
  paid_fetch n1
  [ "$status" -eq 0 ]
  assert_same_bytes got.flac "$FIX/track.flac"
  curl -s "$URL_n1/metrics" | grep -q '^digm_bytes_served_unpaid_total 0$'
  run -0 jq -e '.seq >= 2' <(digm-seed vouchers --data n1)
}

@test "after the node's price changes, a channel it served at the old price is closed; its vouchers still redeem" {
  priced_node n1
  open_channels n1
  paid_fetch n1
  [ "$status" -eq 0 ]
  kill -TERM "$PID_n1"
  wait "$PID_n1" 2> /dev/null || true
  start_node n1 --price-per-mb 0.02 --credit "$CREDIT"
  paid_fetch n1
  [ "$status" -eq 5 ]
  [[ "$output" == *"was served here at 0.01 XFG per MB, and this node now charges 0.02: open a new channel to it"* ]]
  [ ! -e got.flac ] || assert_same_bytes got.flac "$FIX/track.flac"
  digm-seed vouchers --data n1 | digm-pay channel redeem > /dev/null
  [ "$(bal "$(address_of n1)")" = "$(digm-seed vouchers --data n1 | jq -r .amount)" ]
  rm -f got.flac
  open_channels n1
  paid_fetch n1
  [ "$status" -eq 0 ]
  assert_same_bytes got.flac "$FIX/track.flac"
}

@test "a channel spent before the track is in: exit 5, the hint names it, no file" {
  priced_node n1
  # 0.001 XFG pays for 0.1 MB at 0.01 per MB: the track is some MB.
  digm-pay channel open --payer listener.wallet --to "$(address_of n1)" --amount 0.001 > small.channel
  run -5 --separate-stderr digm-fetch "$ROOT" --peer "$URL_n1" --pay small.channel \
    --wallet listener.wallet --no-cache -q -o got.flac
  [[ "$stderr" == *"hint: the --pay channel $(jq -r .id small.channel) is spent"*"digm-pay channel open"* ]] ||
    { echo "$stderr"; false; }
  [ ! -e got.flac ]
}

# voucher CHANNEL_FILE AMOUNT SEQ WALLET [CHANNEL_ID]: a signed digm.voucher/1.
voucher() {
  local id=${5:-$(jq -r .id "$1")}
  jq -nc --arg c "$id" --arg a "$2" --argjson s "$3" \
    '{schema: "digm.voucher/1", channel: $c, amount: $a, seq: $s, root: "", bytes: 0}' |
    digm-test-sign - "$4"
}

@test "stale, replayed, over-amount, foreign and wrongly signed vouchers are refused; nothing changes" {
  node=0x00000000000000000000000000000000000000b7
  digm-pay channel open --payer listener.wallet --to "$node" --amount 1 > ch.json
  voucher ch.json 0.05 5 listener.wallet > good.json
  run -0 digm-pay channel redeem < good.json
  [ "$(bal "$node")" = 0.05 ]
  digm-pay wallet new -o thief.wallet > /dev/null
  voucher ch.json 0.04 4 listener.wallet > stale.json
  voucher ch.json 0.06 5 listener.wallet > replayed.json
  voucher ch.json 2 9 listener.wallet > over.json
  voucher ch.json 0.5 9 listener.wallet "$(printf 'ab%.0s' {1..32})" > foreign.json
  voucher ch.json 0.5 9 thief.wallet > forged.json
  before=$(digm-pay balance)
  for bad in stale replayed over foreign forged; do
    run -4 --separate-stderr digm-pay channel redeem < "$bad.json"
    echo "$bad: $stderr"
    [ "$(digm-pay balance)" = "$before" ]
  done
  # Each voucher of a batch on its own: the bad one is refused and named, the
  # good ones are redeemed, and the exit status is the refusal's.
  cat good.json <(voucher ch.json 0.07 7 listener.wallet) forged.json > mixed.ndjson
  run -4 --separate-stderr digm-pay channel redeem < mixed.ndjson
  [[ "$stderr" == *"error: voucher 3: "* ]]
  [ "$(jq -s 'length' <<<"$output")" = 1 ]
  [ "$(bal "$node")" = 0.07 ]
  run -0 jq -e '.redeemed == "0.07" and .seq == 7 and .left == "0.93"' <(digm-pay channel show ch.json)
  run -1 --separate-stderr digm-pay channel refund ch.json --wallet listener.wallet
  [[ "$stderr" == *"open until"* ]]
  run -4 digm-pay channel refund ch.json --wallet thief.wallet
  run -0 digm-pay check
}

@test "a node refuses a forged voucher with 402 and keeps its book; after kill -9 every acknowledged voucher is there" {
  priced_node n1
  digm-pay channel open --payer listener.wallet --to "$(address_of n1)" --amount 1 > ch.json
  header="Digm-Channel: $(jq -c . ch.json)"
  digm-pay wallet new -o thief.wallet > /dev/null
  run -0 curl -s -o out.json -w '%{http_code}' -H "$header" \
    -H "Digm-Voucher: $(voucher ch.json 0.9 1 thief.wallet)" "$URL_n1/content/$(jq -r '.chunks[0].hash' "$FIX/track.json")"
  [ "$output" = 402 ]
  run -0 jq -e '.error | test("not the channel.s payer")' out.json
  run -0 digm-seed vouchers --data n1
  [ -z "$output" ]
  # Ten paid requests, each answered 200 (acknowledged), then kill -9.
  for i in $(seq 0 9); do
    v=$(voucher ch.json "$(awk -v i="$i" 'BEGIN { printf "%.3f", (i + 1) / 1000 }')" $((i + 1)) listener.wallet)
    run -0 curl -sf -o /dev/null -H "$header" -H "Digm-Voucher: $v" \
      "$URL_n1/content/$(jq -r ".chunks[$i].hash" "$FIX/track.json")"
  done
  kill -KILL "$PID_n1"
  wait "$PID_n1" 2>/dev/null || true
  run -0 digm-seed vouchers --data n1
  run -0 jq -e '.seq == 10 and (.amount | tonumber) == 0.01' <<<"$output"
  start_node n1 --price-per-mb "$PRICE" --credit "$CREDIT"
  run -0 curl -s "$URL_n1/channels/$(jq -r .id ch.json)"
  run -0 jq -e '.voucher.seq == 10 and .served == 655360' <<<"$output"
  digm-seed vouchers --data n1 | digm-pay channel redeem > /dev/null
  [ "$(bal "$(address_of n1)")" = 0.01 ]
  run -0 digm-seed fsck --data n1
}

@test "the cheaper node serves; the dearer one only when the cheaper is gone" {
  priced_node cheap 0.01
  priced_node dear 0.05
  open_channels cheap dear
  paid_fetch dear cheap
  [ "$status" -eq 0 ]
  assert_same_bytes got.flac "$FIX/track.flac"
  size=$(stat -c %s "$FIX/track.flac")
  cheap=$(jq --arg u "$URL_cheap" '[.deliveries[] | select(.url == $u) | .bytes] | add // 0' r.json)
  echo "the cheap node delivered $cheap of $size bytes"
  [ "$cheap" -ge $((size * 9 / 10)) ]
  kill -TERM "$PID_cheap"
  wait "$PID_cheap" 2>/dev/null || true
  run -0 digm-fetch "$ROOT" --peer "$URL_dear" --peer "$URL_cheap" --no-cache -q --pay cheap.channel \
    --pay dear.channel --wallet listener.wallet -o got2.flac
  assert_same_bytes got2.flac "$FIX/track.flac"
}

@test "hostile payment headers get 402 or 400 and the node serves on" {
  priced_node n1
  digm-pay channel open --payer listener.wallet --to "$(address_of n1)" --amount 1 > ch.json
  url="$URL_n1/content/$(jq -r '.chunks[0].hash' "$FIX/track.json")"
  code() { curl -s -o body.json -w '%{http_code}' "$@" "$url"; }
  [ "$(code -H 'Digm-Channel: not json')" = 402 ]
  jq -e '.schema == "digm.invoice/1" and (.error | test("Digm-Channel"))' body.json
  [ "$(code -H "Digm-Channel: $(printf '[%.0s' {1..5000})")" = 400 ]  # over 4 KiB
  [ "$(code -H "Digm-Channel: $(printf '[%.0s' {1..3000})")" = 402 ]  # too deep
  [ "$(code -H "Digm-Channel: $(jq -c '.amount = "999"' ch.json)")" = 402 ]  # forged
  [ "$(code -H "Digm-Channel: $(jq -c . ch.json)" -H 'Digm-Voucher: {"schema":"digm.voucher/1"}')" = 402 ]
  [ "$(code -H "Digm-Channel: $(jq -c . ch.json)" -H "Digm-Voucher: $(printf '{%.0s' {1..100})")" = 402 ]
  # A voucher for another channel, signed by the payer: refused, nothing kept.
  digm-pay channel open --payer listener.wallet --to "$(address_of n1)" --amount 1 > other.json
  [ "$(code -H "Digm-Channel: $(jq -c . ch.json)" -H "Digm-Voucher: $(voucher other.json 0.5 1 listener.wallet)")" = 402 ]
  run -0 digm-seed vouchers --data n1
  [ -z "$output" ]
  # POST /channels/ID must name the channel it pays.
  run -0 curl -s -o /dev/null -w '%{http_code}' -X POST -H "Digm-Channel: $(jq -c . ch.json)" \
    "$URL_n1/channels/$(jq -r .id other.json)"
  [ "$output" = 400 ]
  run -0 curl -sf "$URL_n1/ping"
  run -0 curl -sf -o /dev/null -H "Digm-Channel: $(jq -c . ch.json)" "$url"  # within the credit
  # Once it holds seq 3, a voucher of seq 3 or below is not taken, nor even
  # checked (forged or not, it changes nothing); a forged one above is refused.
  [ "$(code -H "Digm-Channel: $(jq -c . ch.json)" -H "Digm-Voucher: $(voucher ch.json 0.01 3 listener.wallet)")" = 200 ]
  printf '{"schema":"digm.wallet/1","secret":"%064x"}\n' 99 > mallory.wallet
  chmod 600 mallory.wallet
  [ "$(code -H "Digm-Channel: $(jq -c . ch.json)" -H "Digm-Voucher: $(voucher ch.json 0.9 2 mallory.wallet)")" = 200 ]
  [ "$(code -H "Digm-Channel: $(jq -c . ch.json)" -H "Digm-Voucher: $(voucher ch.json 0.9 4 mallory.wallet)")" = 402 ]
  jq -e '.error | test("signed by")' body.json
  # A channel document of Mallory's own under the listener's channel id, and
  # her voucher for it: refused, with or without the voucher.
  mallory=$(digm-pay wallet show mallory.wallet | awk '/^address/ { print $2 }')
  jq -c --arg p "$mallory" '.payer = $p' ch.json | digm-test-sign - mallory.wallet > claimed.json
  [ "$(code -H "Digm-Channel: $(jq -c . claimed.json)" -H "Digm-Voucher: $(voucher ch.json 0.9 9 mallory.wallet)")" = 402 ]
  jq -e '.error | test("the ledger holds another channel under the id")' body.json
  [ "$(code -H "Digm-Channel: $(jq -c . claimed.json)")" = 402 ]
  run -0 digm-seed vouchers --data n1
  [ "$(jq -r .seq <<< "$output")" = 3 ] && [ "$(jq -r .amount <<< "$output")" = 0.01 ]
}

@test "kill -9 of the node during a paid fetch: its vouchers stay, and the next fetch goes on from them" {
  priced_node n1 "$PRICE" --rate-limit 10  # ten chunks a second: the fetch takes seconds
  digm-pay channel open --payer listener.wallet --to "$(address_of n1)" --amount 1 > ch.json
  digm-fetch "$ROOT" --peer "$URL_n1" --no-cache -q --timeout 2 --pay ch.json --wallet listener.wallet \
    -o got.flac 2> fetch.err &
  fetch=$!
  eventually 20 book_holds n1 2
  kill -KILL "$PID_n1"
  wait "$fetch" && { echo "the fetch should have failed"; false; } || true
  [ ! -e got.flac ]
  seq=$(digm-seed vouchers --data n1 | jq .seq)
  [ -n "$seq" ] && [ "$seq" -ge 2 ] || {
    echo "the book after kill -9:"; sqlite3 n1/vouchers.db 'SELECT id, paid, seq, served, voucher IS NOT NULL FROM channels'
    ls -la n1/; tail -5 n1.log; false
  }
  start_node n1 --price-per-mb "$PRICE" --credit "$CREDIT"
  run -0 digm-fetch "$ROOT" --peer "$URL_n1" --no-cache -q --pay ch.json --wallet listener.wallet \
    -o got.flac
  assert_same_bytes got.flac "$FIX/track.flac"
  [ "$(digm-seed vouchers --data n1 | jq .seq)" -gt "$seq" ]  # went on, never refused as stale
  digm-seed vouchers --data n1 | digm-pay channel redeem > /dev/null
  got=$(atomic "$(bal "$(address_of n1)")")
  size=$(stat -c %s "$FIX/track.flac")
  [ "$got" -ge "$(price_of "$size")" ]  # the whole track at least, once
}

@test "a priced node that serves bad bytes is dropped and paid no more; the honest one serves the rest" {
  priced_node honest
  digm-seed init --data liar > /dev/null
  digm-seed add "$FIX/track.json" --from "$FIX/chunks" --data liar > /dev/null
  NODE_ARGS="--price-per-mb $PRICE --credit $CREDIT" start_behind_liar liar flip 1 --on content
  open_channels honest liar
  paid_fetch liar honest
  [ "$status" -eq 0 ]
  assert_same_bytes got.flac "$FIX/track.flac"
  run -0 jq -e --arg u "$URL_liar" '[.dropped[] | select(.url == $u and (.reason | test("bad bytes")))] | length == 1' r.json
  # What the liar holds pays for at most the requests it had in flight when its
  # first bad chunk came (4 of 64 KiB) plus its credit: nothing after.
  digm-seed vouchers --data liar | digm-pay channel redeem > /dev/null
  got=$(atomic "$(bal "$(address_of liar)")")
  echo "the liar was paid $got"
  [ "$got" -le "$(price_of $((5 * 65536)))" ]
  size=$(stat -c %s "$FIX/track.flac")
  digm-seed vouchers --data honest | digm-pay channel redeem > /dev/null
  [ "$(atomic "$(bal "$(address_of honest)")")" -ge "$(price_of $((size - 5 * 65536)))" ]
}

@test "a paid fetch killed midway leaves the node owed its credit at most; the next fetch pays it first" {
  priced_node n1 "$PRICE" --rate-limit 10
  open_channels n1
  id=$(jq -r .id n1.channel)
  digm-fetch "$ROOT" --peer "$URL_n1" --no-cache -q --pay n1.channel --wallet listener.wallet \
    -o got.flac 2> fetch.err &
  fetch=$!
  # Killed once a voucher was taken, midway. (The fetch pays ahead for what
  # it asks, so the node is rarely caught having served past the last
  # voucher; what it may be owed is bounded by the credit either way.)
  eventually 20 book_holds n1 2
  kill -KILL "$fetch"
  wait "$fetch" 2>/dev/null || true
  sleep 1  # the node limits each client to ten requests a second
  account=$(curl -sf --retry 5 --retry-all-errors "$URL_n1/channels/$id")
  echo "$account" | jq -c '{served, paid_for: .voucher.bytes}'
  [ "$(jq '.served - .voucher.bytes' <<<"$account")" -le 131072 ]
  paid_fetch n1
  [ "$status" -eq 0 ]
  assert_same_bytes got.flac "$FIX/track.flac"
  run -0 jq -e '.dropped == []' r.json
  # The debt went with the first voucher: the node never had to answer 402.
  curl -sf --retry 5 --retry-all-errors "$URL_n1/metrics" | grep -q '^digm_payment_required_total 0$'
  served=$(curl -sf --retry 5 --retry-all-errors "$URL_n1/channels/$id" | jq .served)
  digm-seed vouchers --data n1 | digm-pay channel redeem > /dev/null
  got=$(atomic "$(bal "$(address_of n1)")")
  echo "served $served bytes in all, redeemed $got"
  [ "$got" -ge "$(price_of "$served")" ]  # the debt too
}
