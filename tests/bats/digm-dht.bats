#!/usr/bin/env bats
# Discovery on the BitTorrent mainline DHT (libtorrent): a private DHT of
# digm-seed nodes on 127.0.0.1, found by digm-fetch knowing only the root.
# Every node is given its bootstrap nodes on 127.0.0.1: nothing here talks
# to the public routers.

load helpers

setup_file() {
  file_fixture
  make_wallet "$FIX/artist.wallet" "$ARTIST_SECRET"
  digm-chunk "$AUDIO/track.mp3" --chunk-size 16K --store "$FIX/chunks" | digm-merkle seal > "$FIX/mp3.json"
  export ROOT=$(jq -r .root "$FIX/mp3.json")
  make_wallet "$FIX/dj.wallet" "$ARTIST_SECRET"
  sox -n -r 44100 -c 2 "$FIX/set.wav" synth 6 sine 440 2>/dev/null
  ffmpeg -v error -i "$FIX/set.wav" -c:a libmp3lame -b:a 128k "$FIX/set.mp3"
}

setup() {
  cd "$BATS_TEST_TMPDIR"
}

teardown() {
  [ -f live.pid ] && kill -KILL "$(cat live.pid)" 2>/dev/null || true
  stop_nodes
}

# Starts node NAME in the DHT with fast announcements and a short lifetime
# for them (or $DHT_INTERVAL and $DHT_TTL); sets DHT_NAME to the UDP endpoint
# it listens at. Bootstraps from $BOOT unless --dht-bootstrap is given.
start_dht_node() {
  local name=$1; shift
  local boot=(--dht-bootstrap "$BOOT")
  [[ " $* " == *" --dht-bootstrap "* ]] && boot=()
  start_node "$name" --dht --dht-listen "${DHT_LISTEN:-127.0.0.1:0}" "${boot[@]}" \
    --dht-announce-interval "${DHT_INTERVAL:-1}" --dht-peer-ttl "${DHT_TTL:-3}" "$@" || return 1
  local ep
  ep=$(dht_endpoint "$BATS_TEST_TMPDIR/$name.log") ||
    { echo "node $name did not join the DHT"; cat "$BATS_TEST_TMPDIR/$name.log"; return 1; }
  printf -v "DHT_$name" '%s' "$ep"
}

# Five nodes: d0 starts the DHT alone, d1..d4 join through it.
start_five() {
  BOOT=none
  start_dht_node d0 --dht-bootstrap none
  BOOT=$DHT_d0
  for n in d1 d2 d3 d4; do start_dht_node "$n"; done
}

pin_on() {  # pin_on NODE_URL: a signed pin for the MP3, this node only
  digm-seed publish "$FIX/mp3.json" --from "$FIX/chunks" --node "$1" --wallet "$FIX/artist.wallet" \
    --replicas 1 > /dev/null
}

# The nodes the DHT returns for the MP3, sorted, one URL a line.
lookup() {
  digm-fetch "$ROOT" --dht --dht-bootstrap "$BOOT" --dht-timeout "${1:-5}" --list-peers 2> /dev/null | sort
}

# True when the lookup returns exactly the URLs given.
lookup_is() {
  [ "$(lookup 3)" = "$(printf '%s\n' "$@" | sort)" ]
}

@test "usage errors: DHT options without --dht, bad HOST:PORT" {
  digm-seed init --data n > /dev/null
  run --separate-stderr -2 digm-seed serve --data n --listen 127.0.0.1:0 --dht-bootstrap 127.0.0.1:1
  [[ "$stderr" == *"--dht-bootstrap goes with --dht"* ]]
  run --separate-stderr -2 digm-seed serve --data n --listen 127.0.0.1:0 --dht --dht-bootstrap nohost
  [[ "$stderr" == *"'nohost': expected HOST:PORT"* ]]
  run --separate-stderr -2 digm-seed serve --data n --listen 127.0.0.1:0 --dht --dht-listen 127.0.0.1:99999
  [[ "$stderr" == *"--dht-listen"* ]]
  run --separate-stderr -2 digm-fetch "$ROOT" --dht-timeout 3 -o x
  [[ "$stderr" == *"--dht-timeout goes with --dht"* ]]
  run --separate-stderr -2 digm-live ls --dht-timeout 3 --peer http://127.0.0.1:1
  [[ "$stderr" == *"--dht-timeout goes with --dht"* ]]
  run --separate-stderr -2 digm-live ls
  [[ "$stderr" == *"--dht"* ]]
  run --separate-stderr -2 digm-fetch "$ROOT" --dht --dht-bootstrap 127.0.0.1:0 -o x
  [[ "$stderr" == *"bad port"* ]]
  [ ! -e x ]
}

@test "five nodes: a track pinned on two is found by its root alone and fetched byte-identical" {
  # Announced at once when pinned, not at the next round an hour away.
  DHT_INTERVAL=3600 DHT_TTL=3600 start_five
  pin_on "$URL_d2"
  pin_on "$URL_d4"
  eventually 10 lookup_is "$URL_d2" "$URL_d4"
  # No --peer, no --index: the DHT is the only way to the holders.
  run --separate-stderr digm-fetch "$ROOT" --dht --dht-bootstrap "$DHT_d0" --no-cache -o got.mp3
  [ "$status" -eq 0 ] || { echo "$stderr"; false; }
  assert_same_bytes got.mp3 "$AUDIO/track.mp3"
  [[ "$stderr" == *"dht: 2 nodes in "*"(the first after "* ]]
  # The DHT's nodes join those given with --peer and --index.
  digm-fetch "$ROOT" --dht --dht-bootstrap "$DHT_d0" --peer "$URL_d1" --no-cache -o both.mp3
  assert_same_bytes both.mp3 "$AUDIO/track.mp3"
  jq -n --arg a "$URL_d3" '{schema: "digm.fresh-index/1", generated: "2026-11-22T10:00:00Z", epoch: 1,
    nodes: [{url: $a, healthy: true, score: 0.9}]}' > index.json
  peers=$(digm-fetch "$ROOT" --dht --dht-bootstrap "$DHT_d0" --index index.json --list-peers 2> /dev/null)
  for u in "$URL_d2" "$URL_d3" "$URL_d4"; do grep -qxF "$u" <<<"$peers"; done
  make_wallet listener.wallet 0000000000000000000000000000000000000000000000000000000000000001
  digm-fetch "$ROOT" --dht --dht-bootstrap "$DHT_d0" --index index.json --no-cache -o idx.mp3 \
    --receipt r.json --wallet listener.wallet
  assert_same_bytes idx.mp3 "$AUDIO/track.mp3"
  # Only the holders delivered, whoever else was asked.
  jq -e --arg a "$URL_d2" --arg b "$URL_d4" '.deliveries | length > 0 and all(.url == $a or .url == $b)' r.json
  grep -q "dht: announcing 1 track" d2.log
  grep -q "dht: announcing 0 tracks" d1.log
}

@test "a live stream is announced under its id by the node holding it: --live --dht plays it" {
  DHT_INTERVAL=3600 DHT_TTL=3600 start_five
  publish_live "$URL_d2"
  id=$(stream_id)
  found() { digm-fetch "$id" --dht --dht-bootstrap "$BOOT" --dht-timeout 3 --list-peers 2> /dev/null; }
  eventually 10 eval '[ "$(found)" = "$URL_d2" ]'
  # Knowing no node: the directory is found on the DHT, where d2 announces one.
  run -0 --separate-stderr digm-live ls --dht --dht-bootstrap "$DHT_d0" --dht-timeout 5
  [ "$(jq -r .id <<<"$output")" = "$id" ]
  [ "$(jq -r '.holders[0]' <<<"$output")" = "$URL_d2" ]
  # Nothing but the stream id and the DHT: the listener finds d2 and plays on.
  run --separate-stderr digm-fetch "$id" --live --dht --dht-bootstrap "$DHT_d0" -o heard.mp3
  [ "$status" -eq 0 ] || { echo "$stderr"; false; }
  [[ "$stderr" == *"the stream has ended"* ]]
  [ -s heard.mp3 ]
  ffmpeg -v error -i heard.mp3 -f null -
}

@test "a node that announces the track and serves bad bytes is dropped and named" {
  start_five
  pin_on "$URL_d1"
  start_liar "$URL_d1" flip 0.5
  # d3 holds the track but announces the liar's port (its --url).
  digm-seed init --data d3b > /dev/null
  digm-seed add "$FIX/mp3.json" --from "$FIX/chunks" --data d3b > /dev/null
  start_dht_node d3b --url "$URL_liar"
  eventually 20 lookup_is "$URL_d1" "$URL_liar"
  make_wallet listener.wallet 0000000000000000000000000000000000000000000000000000000000000001
  digm-fetch "$ROOT" --dht --dht-bootstrap "$DHT_d0" --no-cache -o got.mp3 --receipt r.json --wallet listener.wallet
  assert_same_bytes got.mp3 "$AUDIO/track.mp3"
  jq -e --arg u "$URL_liar" '.dropped[] | select(.url == $u and (.reason | startswith("served bad bytes")))' r.json
}

@test "a lookup for a track nobody announces exits 5 and writes nothing" {
  start_five
  run --separate-stderr -5 digm-fetch "$ROOT" --dht --dht-bootstrap "$DHT_d0" --dht-timeout 2 --no-cache -o none.mp3
  [[ "$stderr" == *"no node on the DHT announces $ROOT"* ]]
  [ ! -e none.mp3 ]
  assert_no_leftovers .
  run --separate-stderr -5 digm-live ls --dht --dht-bootstrap "$DHT_d0" --dht-timeout 2
  [[ "$stderr" == *"no node on the DHT announces a stream directory"* ]]
  [ -z "$output" ]
}

@test "a node started before its bootstrap node joins once that node is up" {
  start_dht_node d0 --dht-bootstrap none
  BOOT=$DHT_d0
  kill -TERM "$PID_d0"
  eventually 10 bash -c "! kill -0 $PID_d0 2>/dev/null"
  # d1 holds the track and starts while nothing answers at $BOOT.
  digm-seed init --data d1 > /dev/null
  digm-seed add "$FIX/mp3.json" --from "$FIX/chunks" --data d1 > /dev/null
  start_dht_node d1
  eventually 10 grep -q "no other DHT node answers yet" d1.log
  DHT_LISTEN=$BOOT start_dht_node d0 --dht-bootstrap none
  eventually 30 lookup_is "$URL_d1"
  grep -q "dht: announcing 1 track" d1.log
}

@test "after rm, and once the announcement expires, lookups stop returning the node" {
  start_five
  pin_on "$URL_d1"
  pin_on "$URL_d3"
  eventually 20 lookup_is "$URL_d1" "$URL_d3"
  digm-seed rm --data d3 "$ROOT"
  # d3 no longer announces; its last announcement lives 3 s (--dht-peer-ttl).
  eventually 20 lookup_is "$URL_d1"
  grep -q "dht: announcing 0 tracks" d3.log
  # d1 keeps announcing, so it stays found well past the lifetime.
  sleep 4
  lookup_is "$URL_d1"
  # A node that stops (killed, no goodbye) drops out the same way.
  kill -9 "$PID_d1"
  eventually 20 lookup_is
  run --separate-stderr -5 digm-fetch "$ROOT" --dht --dht-bootstrap "$DHT_d0" --dht-timeout 2 --no-cache -o gone.mp3
  [ ! -e gone.mp3 ]
}

@test "a node restarted with its saved DHT state rejoins without the bootstrap list" {
  start_five
  pin_on "$URL_d4"
  eventually 20 lookup_is "$URL_d4"
  kill -TERM "$PID_d4"
  eventually 10 bash -c "! kill -0 $PID_d4 2>/dev/null"
  [ "$(stat -c %a d4/dht.state)" = 600 ]
  # Back on new DHT and HTTP ports, with no bootstrap node: only the nodes
  # remembered in d4/dht.state lead it back.
  old=$URL_d4 old_dht=$DHT_d4
  start_dht_node d4 --dht-bootstrap none
  [ "$URL_d4" != "$old" ] && [ "$DHT_d4" != "$old_dht" ]
  grep -Eq "joining through [1-9][0-9]* nodes saved in dht.state" d4.log
  eventually 30 lookup_is "$URL_d4"
  digm-fetch "$ROOT" --dht --dht-bootstrap "$DHT_d0" --no-cache -o back.mp3
  assert_same_bytes back.mp3 "$AUDIO/track.mp3"
}
