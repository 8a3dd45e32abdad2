#!/usr/bin/env bats
# digm-fetch: real nodes on 127.0.0.1, a lying proxy, killed nodes, streaming
# into ffmpeg, the cache, and receipts.

load helpers

setup_file() {
  file_fixture
  make_wallet "$FIX/listener.wallet" 0000000000000000000000000000000000000000000000000000000000000001
  cd "$FIX"
  digm-chunk "$AUDIO/track.wav" --chunk-size 16K --encrypt --key-out wav.key --store chunks --preview-seconds 1 \
    | digm-merkle seal > wav.json
  digm-chunk "$AUDIO/track.mp3" --chunk-size 16K --store chunks | digm-merkle seal > mp3.json
  digm-chunk "$AUDIO/track.flac" --chunk-size 16K --store chunks | digm-merkle seal > flac.json
  head -c 16384 "$AUDIO/track.wav" > one.bin
  digm-chunk one.bin --chunk-size 16K --store chunks | digm-merkle seal > one.json
  : > empty.bin
  digm-chunk empty.bin --store chunks | digm-merkle seal > empty.json
  for t in wav mp3 flac one empty; do
    for n in n1 n2 n3; do
      [ -d "$n" ] || digm-seed init --data "$n" > /dev/null
      digm-seed add "$t.json" --from chunks --data "$n" > /dev/null
    done
  done
}

setup() {
  cd "$BATS_TEST_TMPDIR"
  for n in n1 n2 n3; do cp -r "$FIX/$n" .; done
}

teardown() {
  stop_nodes
  [ -z "${LIAR:-}" ] || kill "$LIAR" 2>/dev/null || true
  unmount_all
}

root() { jq -r .root "$FIX/$1.json"; }

@test "usage errors" {
  run --separate-stderr -2 digm-fetch
  [ -z "$output" ]
  run --separate-stderr -2 digm-fetch "$(root mp3)" -o x
  [[ "$stderr" == *"no node to fetch from"* ]]
  run --separate-stderr -2 digm-fetch "$(root mp3)" --peer http://127.0.0.1:1 --receipt r.json -o x
  [[ "$stderr" == *"--receipt needs --wallet"* ]]
  run --separate-stderr -2 digm-fetch -o x
  [[ "$stderr" == *"error: TRACK is required"* ]]
  # A root one digit short reads as a file name: said before any node is asked.
  run --separate-stderr -3 digm-fetch "$(root mp3 | cut -c2-)" -o x
  [[ "$stderr" == *"no such file"*"hint: TRACK is a track root or stream id (64 hex digits)"* ]]
  [ ! -e x ]
  run --separate-stderr -2 digm-fetch "$(root mp3)" --peer http://127.0.0.1:1 --timeout -1 -o x
  run -0 digm-fetch -V
  [[ "$output" == "digm-fetch "* ]]
}

@test "the progress bar fits the terminal and redraws one line" {
  start_node n1
  script -qec "stty cols 50; digm-fetch $(root wav) --peer $URL_n1 --key $FIX/wav.key --no-cache --progress -o wav.out" /dev/null > tty.out
  cmp wav.out "$AUDIO/track.wav"
  # Each redraw starts at the line's start and clears the rest; none wraps.
  grep -q $'\r' tty.out
  tr '\r' '\n' < tty.out | sed 's/\x1b\[K//g' | awk 'length > 49 { bad = 1 } END { exit bad }'
  [ "$(grep -c 'digm-fetch: \[' tty.out)" -le 2 ]   # one line (and its final newline)
}

@test "a peer that does not prove its key is named by URL only, and never paid" {
  start_node n1
  start_liar "$URL_n1" flip 0   # a relay: its /ping answers with n1's key and n1's URL
  digm-fetch "$(root mp3)" --peer "$URL_liar" --no-cache -o got.mp3 --wallet "$FIX/listener.wallet" --receipt r.json
  cmp got.mp3 "$AUDIO/track.mp3"
  jq -e --arg u "$URL_liar" '.deliveries == [.deliveries[] | select(.url == $u and .node_id == null)]
    and (.deliveries | length) == 1' r.json
  export DIGM_LEDGER=ledger.db
  digm-pay deposit --to "$(jq -r .listener r.json)" --amount 10 > /dev/null
  run -0 digm-pay settle r.json --price-per-mb 1
  [ -z "$output" ]   # nothing to pay: no proven identity delivered
  # Fetched directly, n1 proves its key and is named.
  digm-fetch "$(root mp3)" --peer "$URL_n1" --no-cache -o got2.mp3 --wallet "$FIX/listener.wallet" --receipt r2.json
  [ "$(jq -r '.deliveries[0].node_id' r2.json)" = "$(curl -sf "$URL_n1/ping" | jq -r .node_id)" ]
}

@test "one slow peer neither delays the first chunk nor gets a share of the track" {
  start_node n1
  start_node n2
  start_liar "$URL_n2" delay 1 --stall 1   # every answer of n2's takes a second
  digm-fetch "$(root wav)" --peer "$URL_liar" --peer "$URL_n1" --key "$FIX/wav.key" --no-cache -o wav.out \
    --wallet "$FIX/listener.wallet" --receipt r.json
  cmp wav.out "$AUDIO/track.wav"
  total=$(jq '.chunks | length' "$FIX/wav.json")
  slow=$(jq --arg u "$URL_liar" '[.deliveries[] | select(.url == $u) | .chunks | length] | add // 0' r.json)
  echo "the slow peer delivered $slow of $total chunks"
  [ "$slow" -le 2 ]
}

@test "a fully cached 160 MiB track is fetched in bounded memory" {
  start_node n1
  head -c $((160 << 20)) /dev/urandom > long.bin
  digm-chunk long.bin --store long | digm-merkle seal > long.json
  digm-seed add long.json --from long --data n1 > /dev/null
  digm-fetch long.json --peer "$URL_n1" --cache cache -o /dev/null   # fills the cache
  command time -f '%M' -o rss.kb digm-fetch long.json --peer "$URL_n1" --cache cache -o got.bin
  cmp got.bin long.bin
  echo "peak RSS $(( $(cat rss.kb) / 1024 )) MiB, all from the cache"
  sanitized || [ "$(cat rss.kb)" -lt $((64 << 10)) ]
}

@test "clear and encrypted tracks, one chunk, a short last chunk, and an empty track" {
  start_node n1
  digm-fetch "$(root mp3)" --peer "$URL_n1" --no-cache -o mp3.out
  cmp mp3.out "$AUDIO/track.mp3"
  digm-fetch "$(root wav)" --peer "$URL_n1" --key "$FIX/wav.key" --no-cache -o wav.out
  cmp wav.out "$AUDIO/track.wav"
  digm-fetch "$(root one)" --peer "$URL_n1" --no-cache -o one.out
  cmp one.out "$FIX/one.bin"
  digm-fetch "$(root empty)" --peer "$URL_n1" --no-cache -o empty.out
  [ -e empty.out ] && [ ! -s empty.out ]
  digm-fetch "$FIX/flac.json" --peer "$URL_n1" --no-cache -o flac.out
  cmp flac.out "$AUDIO/track.flac"
}

@test "three nodes at once, with a signed receipt that adds up" {
  start_node n1
  start_node n2
  start_node n3
  digm-fetch "$(root wav)" --peer "$URL_n1" --peer "$URL_n2" --peer "$URL_n3" --key "$FIX/wav.key" \
    --no-cache -o wav.out --receipt r.json --wallet "$FIX/listener.wallet"
  cmp wav.out "$AUDIO/track.wav"
  [ "$(jq -r .schema r.json)" = digm.receipt/1 ]
  [ "$(jq -r .signer r.json)" = 0x7e5f4552091a69125d5dfcb7b8c2659029395bdf ]
  [ "$(jq -r .listener r.json)" = 0x7e5f4552091a69125d5dfcb7b8c2659029395bdf ]
  [ "$(jq '.deliveries | length' r.json)" -ge 2 ]
  [ "$(jq '[.deliveries[].bytes] | add' r.json)" = "$(jq '[.chunks[].size] | add' "$FIX/wav.json")" ]
  [ "$(jq '[.deliveries[].chunks[]] | sort | unique | length' r.json)" = "$(jq '.chunks | length' "$FIX/wav.json")" ]
}

@test "a node that flips bytes is dropped and named; the output is still exact" {
  start_node n1
  start_node n2
  start_liar "$URL_n2" flip 0.5
  digm-fetch "$(root wav)" --peer "$URL_liar" --peer "$URL_n1" --key "$FIX/wav.key" --no-cache \
    -o wav.out --receipt r.json --wallet "$FIX/listener.wallet"
  cmp wav.out "$AUDIO/track.wav"
  jq -e --arg u "$URL_liar" '.dropped[] | select(.url == $u and (.reason | startswith("served bad bytes")))' r.json
  # With no honest node left, the error says why each failed.
  run --separate-stderr -5 digm-fetch "$FIX/wav.json" --peer "$URL_liar" --key "$FIX/wav.key" \
    --no-cache -o none.out
  [[ "$stderr" == *"(all 1 failed: $URL_liar: served bad bytes for chunk "* ]] || { echo "$stderr"; false; }
  [ ! -e none.out ]
}

@test "truncating, stalling and resetting nodes do not corrupt the output" {
  start_node n1
  for mode in truncate stall reset mixed; do
    start_liar "$URL_n1" "$mode" 0.4
    digm-fetch "$(root mp3)" --peer "$URL_liar" --peer "$URL_n1" --timeout 1 --no-cache -o "$mode.out"
    cmp "$mode.out" "$AUDIO/track.mp3"
    kill "$LIAR"; LIAR=
  done
}

@test "a node killed mid-fetch; all nodes down gives exit 5 and no file" {
  start_node n1
  start_node n2
  start_liar "$URL_n1" stall 0.3
  ( sleep 0.3; kill -9 "$PID_n2" ) &
  killer=$!
  digm-fetch "$(root wav)" --peer "$URL_n2" --peer "$URL_liar" --key "$FIX/wav.key" --timeout 1 --no-cache -o wav.out
  cmp wav.out "$AUDIO/track.wav"
  wait "$killer"   # the fetch may be done before n2 is killed
  kill -9 "$PID_n1"
  run --separate-stderr -5 digm-fetch "$(root wav)" --peer "$URL_n1" --peer "$URL_n2" --key "$FIX/wav.key" --no-cache -o down.out
  [ ! -e down.out ]
  assert_no_leftovers .
}

@test "wrong key (4), and a manifest whose root does not match (4), leave no file" {
  start_node n1
  digm-chunk /dev/null --encrypt --key-out other.key > /dev/null
  run --separate-stderr -4 digm-fetch "$(root wav)" --peer "$URL_n1" --key other.key --no-cache -o x.out
  [[ "$stderr" == *"wrong key"* ]]
  [ ! -e x.out ]
  jq -c '.root = ("ab" * 32)' "$FIX/mp3.json" > bad.json
  run --separate-stderr -4 digm-fetch bad.json --peer "$URL_n1" --no-cache -o y.out
  [ ! -e y.out ]
  assert_no_leftovers .
}

@test "streaming into ffmpeg decodes MP3 and FLAC without errors" {
  start_node n1
  start_node n2
  for t in mp3 flac; do
    digm-fetch "$(root $t)" --peer "$URL_n1" --peer "$URL_n2" --no-cache -o - \
      | ffmpeg -nostdin -v error -i - -f null - 2> ffmpeg.err
    [ ! -s ffmpeg.err ] || { cat ffmpeg.err; false; }
  done
}

@test "the preview needs no key; the cache makes the second fetch download nothing" {
  start_node n1
  digm-fetch "$(root wav)" --peer "$URL_n1" --preview --cache cache -o preview.out
  n=$(jq .encryption.preview.chunks "$FIX/wav.json")
  cmp preview.out <(head -c $((n * 16384)) "$AUDIO/track.wav")
  digm-fetch "$(root wav)" --peer "$URL_n1" --key "$FIX/wav.key" --cache cache -o first.out \
    --receipt r1.json --wallet "$FIX/listener.wallet"
  [ "$(jq '[.deliveries[].bytes] | add' r1.json)" -lt "$(jq '[.chunks[].size] | add' "$FIX/wav.json")" ]
  digm-fetch "$(root wav)" --peer "$URL_n1" --key "$FIX/wav.key" --cache cache -o second.out \
    --receipt r2.json --wallet "$FIX/listener.wallet"
  cmp second.out "$AUDIO/track.wav"
  [ "$(jq '[.deliveries[].bytes] | add // 0' r2.json)" = 0 ]
}

@test "a full cache is said once and the fetch goes on; what it holds is whole" {
  small_disk cache 256k
  start_node n1
  run -0 --separate-stderr digm-fetch "$(root wav)" --peer "$URL_n1" --key "$FIX/wav.key" --cache cache -o wav.out
  cmp wav.out "$AUDIO/track.wav"
  [[ "$stderr" == *"warning: chunks are no longer cached: storing chunk "*"No space left on device"* ]]
  [ "$(grep -c warning <<<"$stderr")" = 1 ]
  [ "$(find cache -type f | wc -l)" -gt 0 ]
  for f in $(find cache -type f); do [ "$(sha256sum < "$f" | cut -c1-64)" = "$(basename "$f")" ]; done
  run -0 --separate-stderr digm-fetch "$(root wav)" --peer "$URL_n1" --key "$FIX/wav.key" --cache cache -q -o wav.out
  [ -z "$stderr" ]
  # A cache that cannot be made at all is said, and not needed.
  run -0 --separate-stderr digm-fetch "$(root mp3)" --peer "$URL_n1" --cache /proc/no-cache -o mp3.out
  [[ "$stderr" == *"warning: no cache: "*"/proc/no-cache"* ]]
  cmp mp3.out "$AUDIO/track.mp3"
}

@test "--cache-size: the cache keeps to its size, the track's first chunks kept longest" {
  start_node n1
  run -2 --separate-stderr digm-fetch "$(root wav)" --peer "$URL_n1" --cache cache --cache-size 1X -o x.out
  [[ "$stderr" == *"--cache-size: '1X' is not a size"* ]]
  digm-fetch "$(root mp3)" --peer "$URL_n1" --cache cache -o mp3.out
  digm-fetch "$(root wav)" --peer "$URL_n1" --key "$FIX/wav.key" --cache cache --cache-size 64K -o wav.out
  cmp wav.out "$AUDIO/track.wav"
  [ "$(find cache -type f -printf '%s\n' | awk '{ n += $1 } END { print n }')" -le 65536 ]
  # What is left is the start of the track just fetched, nothing of the other.
  kept=$(find cache -type f -printf '%f\n' | sort)
  [ -n "$kept" ]
  n=$(wc -l <<<"$kept")
  [ "$kept" = "$(jq -r --argjson n "$n" '.chunks[:$n][].hash' "$FIX/wav.json" | sort)" ]
  digm-fetch "$(root wav)" --peer "$URL_n1" --key "$FIX/wav.key" --cache cache --cache-size 64K -o again.out \
    --receipt r.json --wallet "$FIX/listener.wallet"
  cmp again.out "$AUDIO/track.wav"
  cached=$(jq --argjson n "$n" '[.chunks[:$n][].size] | add' "$FIX/wav.json")
  [ "$(jq '[.deliveries[].bytes] | add' r.json)" = "$(( $(jq '[.chunks[].size] | add' "$FIX/wav.json") - cached ))" ]
}

@test "a wrapped key opens the track for its wallet only" {
  start_node n1
  make_wallet buyer.wallet 8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f
  digm-test-wrap "$FIX/wav.key" buyer.wallet > wrapped.json
  digm-fetch "$(root wav)" --peer "$URL_n1" --wrapped wrapped.json --wallet buyer.wallet --no-cache -o wav.out
  cmp wav.out "$AUDIO/track.wav"
  run --separate-stderr -4 digm-fetch "$(root wav)" --peer "$URL_n1" --wrapped wrapped.json \
    --wallet "$FIX/listener.wallet" --no-cache -o other.out
  [[ "$stderr" == *"the key is wrapped for 0x"*"not for this wallet"* ]]
  [ ! -e other.out ]
}

@test "peers come from gossip and from a fresh index" {
  start_node n1
  start_node n2 --peer "$URL_n1"
  start_node n3 --peer "$URL_n1"
  knows() { [ "$(curl -sf "$URL_n1/peers" | jq length)" = 2 ]; }
  eventually 20 knows
  # One --peer: its gossip brings the other two.
  digm-fetch "$(root wav)" --peer "$URL_n1" --key "$FIX/wav.key" --no-cache -o a.out \
    --receipt r.json --wallet "$FIX/listener.wallet"
  cmp a.out "$AUDIO/track.wav"
  [ "$(jq '.deliveries | length' r.json)" -ge 2 ]
  # A fresh index: only healthy nodes are used.
  jq -n --arg a "$URL_n2" --arg b "$URL_n3" --arg c "http://127.0.0.1:1" '{schema: "digm.fresh-index/1",
    generated: "2026-11-22T10:00:00Z", epoch: 1, nodes: [
      {url: $c, healthy: false, score: 0.1}, {url: $a, healthy: true, score: 0.9}, {url: $b, healthy: true, score: 0.8}]}' > index.json
  kill -TERM "$PID_n1"
  digm-fetch "$(root mp3)" --index index.json --no-cache -o b.out --receipt r2.json --wallet "$FIX/listener.wallet"
  cmp b.out "$AUDIO/track.mp3"
  jq -e '[.deliveries[].url] | all(. != "http://127.0.0.1:1")' r2.json
}
