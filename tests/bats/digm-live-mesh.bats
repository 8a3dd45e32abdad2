#!/usr/bin/env bats
# Live streams across a mesh of real nodes on 127.0.0.1: the directory
# travels in gossip to every node, a node that does not hold a stream relays
# it to a listener, digm-fetch --live plays it byte for byte, a publisher
# who signs two logs is caught (exit 4, both heads), and a node killed mid-
# stream comes back with its prefix and is caught up by the publisher.

load helpers

bats_require_minimum_version 1.5.0

setup_file() {
  file_fixture
  make_wallet "$FIX/dj.wallet" "$ARTIST_SECRET"
  sox -n -r 44100 -c 2 "$FIX/set.wav" synth 10 sine 330 2>/dev/null
  ffmpeg -v error -i "$FIX/set.wav" -c:a libmp3lame -b:a 128k "$FIX/set.mp3"
  # What ffmpeg -c copy -f mp3 sends of it: the bytes a listener must get.
  ffmpeg -v error -i "$FIX/set.mp3" -c copy -f mp3 - > "$FIX/sent.mp3"
}

setup() {
  cd "$BATS_TEST_TMPDIR"
}

teardown() {
  for f in live.pid listen.pid fork.pid; do
    [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true
  done
  stop_nodes
}

# Waits (at most $2 s) until node URL $1 lists stream $3 (or, with $3 "none",
# lists nothing).
wait_listed() {  # wait_listed URL SECONDS ID|none
  for _ in $(seq $(($2 * 10))); do
    got=$(curl -sf "$1/streams" | jq -r '.[].id')
    if [ "$3" = none ]; then [ -z "$got" ] && return 0; else [[ "$got" == *"$3"* ]] && return 0; fi
    sleep 0.1
  done
  echo "$1 lists: ${got:-nothing}, not $3"
  return 1
}

@test "a stream published to node 1 is listed on every node and played from node 3 through a relay" {
  start_node n1
  start_node n2 --peer "$URL_n1"
  start_node n3 --peer "$URL_n2"
  publish_live "$URL_n1"
  id=$(stream_id)
  # One gossip round a second: every node lists it within a few.
  wait_listed "$URL_n2" 5 "$id"
  wait_listed "$URL_n3" 5 "$id"
  [ "$(curl -sf "$URL_n3/streams?q=friday" | jq -r '.[0].id')" = "$id" ]
  [ "$(curl -sf "$URL_n3/streams?q=sunday" | jq length)" = 0 ]
  [ "$(curl -sf "$URL_n3/streams" | jq -r '.[0].holders[0]')" = "$URL_n1" ]
  # Node 3 holds nothing of it: it relays from a holder.
  run -0 timeout 30 digm-fetch "$id" --live --from-start --peer "$URL_n3" -o got.mp3
  [[ "$output" == *'listening to "Friday set" by DJ Test'* ]]
  [[ "$output" == *"the stream has ended"* ]]
  grep -q "relaying stream $id" "$BATS_TEST_TMPDIR/n3.log"
  wait "$(cat live.pid)"
  assert_same_bytes got.mp3 "$FIX/sent.mp3"
  ffmpeg -v error -i got.mp3 -f null -
  # Ended: gone from every list within a gossip round.
  wait_listed "$URL_n1" 1 none
  wait_listed "$URL_n2" 4 none
  wait_listed "$URL_n3" 4 none
  # The relay's copy verifies and serves the whole stream too.
  [ "$(curl -sf "$URL_n3/streams/$id/head" | jq -r '[.size, .ended] | @tsv')" = \
    "$(curl -sf "$URL_n1/streams/$id/head" | jq -r '[.size, .ended] | @tsv')" ]
}

@test "a listener joins at the live edge; HLS players get live.m3u8 of a clear stream" {
  start_node n1
  publish_live "$URL_n1"
  id=$(stream_id)
  sleep 3
  { digm-fetch "$id" --live --peer "$URL_n1" -o edge.mp3 2> listen.err & } 2>/dev/null
  echo $! > listen.pid
  curl -sf "$URL_n1/streams/$id/live.m3u8" > live.m3u8
  grep -q '^#EXT-X-MEDIA-SEQUENCE:' live.m3u8
  ! grep -q '#EXT-X-ENDLIST' live.m3u8
  wait "$(cat live.pid)"
  wait "$(cat listen.pid)"
  grep -q "the stream has ended" listen.err
  # From the edge: the stream's tail, byte for byte, and not its start.
  size=$(stat -c %s edge.mp3)
  [ "$size" -gt 1000 ] && [ "$size" -lt "$(stat -c %s "$FIX/sent.mp3")" ]
  tail -c "$size" "$FIX/sent.mp3" | cmp - edge.mp3
  curl -sf "$URL_n1/streams/$id/live.m3u8" > ended.m3u8
  grep -q '#EXT-X-ENDLIST' ended.m3u8
  ffmpeg -v error -protocol_whitelist http,tcp -i "$URL_n1/streams/$id/live.m3u8" -f null -
}

@test "a publisher who signs two logs of one stream makes the listener exit 4 with both heads" {
  start_node n1
  start_node n2
  { digm-test-fork --wallet "$FIX/dj.wallet" --node "$URL_n1" --node "$URL_n2" --chunks 60 \
      > fork.out & } 2>/dev/null
  echo $! > fork.pid
  for _ in $(seq 100); do [ -s fork.out ] && break; sleep 0.05; done
  id=$(head -1 fork.out)
  run --separate-stderr -4 timeout 30 digm-fetch "$id" --live --peer "$URL_n1" --peer "$URL_n2" -o out.bin
  [[ "$stderr" == *"equivocation"* || "$stderr" == *"fork"* ]]
  evidence=$(grep '^\[' <<<"$stderr")
  dj=$(digm-pay wallet show "$FIX/dj.wallet" | awk '/^address/ {print $2}')
  [ "$(jq -r '.[0].signer, .[1].signer' <<<"$evidence" | sort -u)" = "$dj" ]
  [ "$(jq -r '.[0].root != .[1].root' <<<"$evidence")" = true ]
  [ ! -e out.bin ]  # nothing left of a listening that failed
}

@test "a node killed mid-stream comes back with its prefix and the publisher catches it up" {
  LISTEN=127.0.0.1:$(free_port) start_node n1 --stale-after 30
  port=${URL_n1##*:}
  publish_live "$URL_n1"
  id=$(stream_id)
  sleep 2
  kill -KILL "$PID_n1"
  sleep 1
  LISTEN=127.0.0.1:$port start_node n1 --stale-after 30
  grep -q "did not stop cleanly" "$BATS_TEST_TMPDIR/n1.log"
  # Its prefix verifies: a listener from the start gets it whole.
  run -0 timeout 30 digm-fetch "$id" --live --from-start --peer "$URL_n1" -o got.mp3
  wait "$(cat live.pid)"
  grep -q "trying again" live.err
  grep -q "caught up from chunk" live.err
  assert_same_bytes got.mp3 "$FIX/sent.mp3"
  [ "$(curl -sf "$URL_n1/streams/$id/head" | jq -r .ended)" = true ]
}

@test "a killed publisher's stream leaves every node's list once stale; bad listener input exits 2" {
  start_node n1 --stale-after 3
  start_node n2 --peer "$URL_n1" --stale-after 3
  publish_live "$URL_n1"
  id=$(stream_id)
  wait_listed "$URL_n2" 5 "$id"
  kill -KILL "$(cat live.pid)"
  wait_listed "$URL_n1" 6 none
  wait_listed "$URL_n2" 6 none
  run --separate-stderr -2 digm-fetch not-a-stream --live --peer "$URL_n1"
  [[ "$stderr" == *"stream id"* ]]
  run --separate-stderr -2 digm-fetch "$id" --live --peer "$URL_n1" --receipt r.json -o -
  run --separate-stderr -2 digm-fetch "$id" --from-start --peer "$URL_n1" -o -
  run --separate-stderr -5 digm-fetch "$(printf 'ab%.0s' $(seq 32))" --live --peer "$URL_n1" -o -
}
