#!/usr/bin/env bats
# BitTorrent (SPEC §11) with real clients on 127.0.0.1: aria2c, and Debian's
# python3-libtorrent as an independent peer (tests/tools/btpeer.py, which
# also plays a peer that sends corrupt pieces). No public tracker, router or
# DHT node is ever asked: DHTs here are made of our own nodes.

load helpers

BTPEER=(/usr/bin/python3 "$DIGM_SRC/tests/tools/btpeer.py")

setup_file() {
  file_fixture
  make_wallet "$FIX/artist.wallet" "$ARTIST_SECRET"
  make_wallet "$FIX/listener.wallet" 1111111111111111111111111111111111111111111111111111111111111111
  # A clear FLAC: its stored bytes are the playable file.
  digm-chunk "$AUDIO/track.flac" --chunk-size 32K --store "$FIX/chunks" | digm-merkle seal > "$FIX/flac.json"
  export ROOT=$(jq -r .root "$FIX/flac.json")
}

setup() {
  cd "$BATS_TEST_TMPDIR"
}

teardown() {
  stop_nodes
  unmount_all
}

publish_to() {  # publish_to URL
  digm-seed publish "$FIX/flac.json" --from "$FIX/chunks" --node "$1" --wallet "$FIX/artist.wallet" \
    --replicas 1 > /dev/null
}

# Waits until node NAME's log says it seeds the track over BitTorrent.
wait_seeding() {
  wait_log "$BATS_TEST_TMPDIR/$1.log" "s/.*bittorrent: seeding $ROOT as \([0-9a-f]*\).*/\1/p" > /dev/null ||
    { echo "$1 does not seed"; cat "$BATS_TEST_TMPDIR/$1.log"; return 1; }
}

# Starts btpeer.py MODE ARGS... in the background (stopped by stop_nodes);
# waits for its READY file and prints what it holds (the port it serves at).
start_btpeer() {  # start_btpeer READY MODE ARGS...
  local ready=$1; shift
  "${BTPEER[@]}" "$@" --ready "$ready" > /dev/null 2> "$ready.log" &
  echo $! >> "$BATS_TEST_TMPDIR/pids"
  local pid=$!
  for _ in $(seq 600); do
    [ -s "$ready" ] && { cat "$ready"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "btpeer $* did not get ready"; cat "$ready.log"; return 1
}

@test "digm-seed torrent: a hybrid torrent whose web seeds are the nodes; bad roots exit 3" {
  start_node a
  publish_to "$URL_a"
  run --separate-stderr digm-seed torrent "$ROOT" --data a --web-seed "$URL_a" -o t.torrent
  [ "$status" -eq 0 ]
  [ "$(jq -r .schema <<< "$output")" = digm.torrent/1 ]
  [ "$(jq -r .root <<< "$output")" = "$ROOT" ]
  [[ "$(jq -r .btmh <<< "$output")" == 1220* ]]
  [[ "$(jq -r .magnet <<< "$output")" == "magnet:?xt=urn:btih:$(jq -r .btih <<< "$output")"* ]]
  grep -q "$URL_a/content/$ROOT" t.torrent
  run --separate-stderr digm-seed torrent "$ROOT" --data a -o v1.torrent --v1
  [ "$status" -eq 0 ]
  [ "$(jq -r .btmh <<< "$output")" = null ]
  run --separate-stderr digm-seed torrent 0000000000000000000000000000000000000000000000000000000000000000 \
    --data a -o none.torrent
  [ "$status" -eq 3 ]
  [ ! -e none.torrent ]
}

@test "aria2c downloads the track through its torrent from two nodes' web seeds" {
  start_node a
  start_node b
  publish_to "$URL_a"
  publish_to "$URL_b"
  digm-seed torrent "$ROOT" --data a --web-seed "$URL_a" --web-seed "$URL_b" -o t.torrent > /dev/null
  timeout 60 aria2c -q --enable-dht=false --bt-enable-lpd=false --enable-peer-exchange=false \
    --seed-time=0 --dir got t.torrent
  assert_same_bytes got/track.flac "$AUDIO/track.flac"
}

@test "aria2c finds a --bittorrent node on a private DHT and downloads from it, no web seed" {
  start_node boot --dht --dht-listen 127.0.0.1:0 --dht-bootstrap none
  local boot
  boot=$(dht_endpoint "$BATS_TEST_TMPDIR/boot.log")
  start_node a --dht --dht-listen 127.0.0.1:0 --dht-bootstrap "$boot" --bittorrent
  publish_to "$URL_a"
  wait_seeding a
  digm-seed torrent "$ROOT" --data a -o v1.torrent --v1 > /dev/null
  # aria2 1.36 reads BEP 3 torrents only (see digm-seed(1), --v1).
  timeout 90 aria2c -q --enable-dht=true --dht-listen-port="$(free_port)" --dht-entry-point="$boot" \
    --dht-file-path="$PWD/dht.dat" --bt-enable-lpd=false --enable-peer-exchange=false \
    --seed-time=0 --dir got v1.torrent
  assert_same_bytes got/track.flac "$AUDIO/track.flac"
}

@test "an independent client downloads from a --bittorrent node, then seeds to digm-fetch magnet: alone" {
  local bt
  bt=$(free_port)
  start_node a --bittorrent --bt-listen "127.0.0.1:$bt"
  publish_to "$URL_a"
  wait_seeding a
  local magnet
  magnet=$(digm-seed torrent "$ROOT" --data a -o t.torrent | jq -r .magnet)
  local port
  port=$(start_btpeer py.port get "$magnet" --save py --connect "127.0.0.1:$bt")
  assert_same_bytes py/track.flac "$AUDIO/track.flac"
  kill -TERM "$PID_a"
  wait "$PID_a" || true
  run ! curl -fsS "$URL_a/ping"  # no HTTP node is left
  run --separate-stderr digm-fetch "$magnet&x.pe=127.0.0.1:$port" --manifest "$FIX/flac.json" \
    -o t.flac --no-cache --wallet "$FIX/listener.wallet" --receipt r.json
  [ "$status" -eq 0 ] || { echo "$stderr"; cat py.port.log; false; }
  assert_same_bytes t.flac "$AUDIO/track.flac"
  [ "$(jq -r '.deliveries | length' r.json)" -eq 1 ] || { jq -c .deliveries r.json; false; }
  [ "$(jq -r '.deliveries[0].url' r.json)" = "bt://127.0.0.1:$port" ]
  [ "$(jq -r '.deliveries[0].node_id' r.json)" = null ]  # unproven: never paid
  [ "$(jq -r '[.deliveries[].bytes] | add' r.json)" -eq "$(jq '[.chunks[].size] | add' "$FIX/flac.json")" ]
}

# A mixed set: node a seeds the track over BitTorrent at port $BT (its
# magnet link in $MAGNET), and node b serves it over HTTP behind the liar
# ($URL_liar), which holds each answer two seconds: its first chunks are
# asked before the swarm has a peer, and the swarm is asked for the rest.
start_mixed() {
  BT=$(free_port)
  start_node a --bittorrent --bt-listen "127.0.0.1:$BT"
  publish_to "$URL_a"
  wait_seeding a
  MAGNET=$(digm-seed torrent "$ROOT" --data a -o t.torrent | jq -r .magnet)
  LIAR_STALL=2 start_behind_liar b delay 1
  publish_to "$URL_b"
}

# Bytes the receipt r.json says URL delivered.
delivered_by() {  # delivered_by URL
  jq --arg u "$1" '[.deliveries[] | select(.url == $u) | .bytes] | add // 0' r.json
}

@test "a mixed fetch: a BitTorrent peer and an HTTP node both deliver, and the receipt names both" {
  start_mixed
  run --separate-stderr digm-fetch "$MAGNET&x.pe=127.0.0.1:$BT" --manifest "$FIX/flac.json" \
    --peer "$URL_liar" -o t.flac --no-cache --wallet "$FIX/listener.wallet" --receipt r.json
  [ "$status" -eq 0 ] || { echo "$stderr"; false; }
  assert_same_bytes t.flac "$AUDIO/track.flac"
  local by_bt by_http
  by_bt=$(delivered_by "bt://127.0.0.1:$BT")
  by_http=$(delivered_by "$URL_liar")
  [ "$by_bt" -gt 0 ] && [ "$by_http" -gt 0 ] || { jq -c .deliveries r.json; false; }
  [ $((by_bt + by_http)) -eq "$(jq '[.chunks[].size] | add' "$FIX/flac.json")" ]
}

@test "a swarm whose temporary file is on a full disk: its pieces come from memory, the track whole" {
  start_mixed
  # Room for half a piece: every write of the swarm's file fails.
  small_disk tmp 16k
  TMPDIR="$PWD/tmp" run --separate-stderr digm-fetch "$MAGNET&x.pe=127.0.0.1:$BT" \
    --manifest "$FIX/flac.json" --peer "$URL_liar" -o t.flac --no-cache \
    --wallet "$FIX/listener.wallet" --receipt r.json
  [ "$status" -eq 0 ] || { echo "$stderr"; false; }
  assert_same_bytes t.flac "$AUDIO/track.flac"
  [ "$(delivered_by "bt://127.0.0.1:$BT")" -gt 0 ] || { jq -c '.deliveries, .dropped' r.json; false; }
  [ "$(jq '[.deliveries[].bytes] | add' r.json)" -eq "$(jq '[.chunks[].size] | add' "$FIX/flac.json")" ]
}

@test "a peer that sends corrupt pieces is dropped, and the output is the track" {
  local magnet
  start_node a
  publish_to "$URL_a"
  magnet=$(digm-seed torrent "$ROOT" --data a -o t.torrent | jq -r .magnet)
  local liar
  liar=$(start_btpeer liar.port liar t.torrent --file "$AUDIO/track.flac")
  # HTTP answers come after a second each, so the swarm is asked first.
  LIAR_STALL=1 start_behind_liar b delay 1
  publish_to "$URL_b"
  run --separate-stderr digm-fetch "$magnet&x.pe=127.0.0.1:$liar" --manifest "$FIX/flac.json" \
    --peer "$URL_liar" -o t.flac --no-cache --wallet "$FIX/listener.wallet" --receipt r.json
  [ "$status" -eq 0 ]
  assert_same_bytes t.flac "$AUDIO/track.flac"
  [ "$(jq -r --arg u "bt://127.0.0.1:$liar" '[.dropped[] | select(.url == $u)] | length' r.json)" -eq 1 ]
  [ "$(jq -r --arg u "bt://127.0.0.1:$liar" '[.deliveries[] | select(.url == $u)] | length' r.json)" -eq 0 ]
  # Alone, the liar gives nothing: a network error, and no file.
  run --separate-stderr digm-fetch "$magnet&x.pe=127.0.0.1:$liar" --manifest "$FIX/flac.json" \
    -o alone.flac --no-cache --timeout 1
  [ "$status" -eq 5 ]
  [[ "$stderr" == *"banned for corrupt pieces: 127.0.0.1:$liar"* ]]
  [ ! -e alone.flac ]
}

@test "a magnet whose swarm never answers: the HTTP node delivers the whole track" {
  local magnet closed
  start_node a
  publish_to "$URL_a"
  magnet=$(digm-seed torrent "$ROOT" --data a -o t.torrent | jq -r .magnet)
  closed=$(free_port)  # nothing listens there: the torrent's metadata never comes
  run --separate-stderr digm-fetch "$magnet&x.pe=127.0.0.1:$closed" --manifest "$FIX/flac.json" \
    --peer "$URL_a" -o t.flac --no-cache --wallet "$FIX/listener.wallet" --receipt r.json
  [ "$status" -eq 0 ] || { echo "$stderr"; false; }
  assert_same_bytes t.flac "$AUDIO/track.flac"
  [ "$(jq -r '[.deliveries[].url] | join(" ")' r.json)" = "$URL_a" ] || { jq -c .deliveries r.json; false; }
  [ "$(jq -r '.deliveries[0].bytes' r.json)" -eq "$(jq '[.chunks[].size] | add' "$FIX/flac.json")" ]
}

@test "digm-fetch TORRENT: usage errors name what is missing" {
  start_node a
  publish_to "$URL_a"
  digm-seed torrent "$ROOT" --data a -o t.torrent > /dev/null
  run --separate-stderr digm-fetch t.torrent -o x.flac
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"--manifest"* ]]
  run --separate-stderr digm-fetch "$ROOT" --manifest "$FIX/flac.json" -o x.flac --peer "$URL_a"
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"go with a magnet link"* ]]
  run --separate-stderr digm-fetch "magnet:?xt=urn:btih:nothex" --manifest "$FIX/flac.json" -o x.flac
  [ "$status" -eq 3 ]
  [ ! -e x.flac ]
  # --root with a web-seeded torrent: the manifest comes from the node.
  digm-seed torrent "$ROOT" --data a --web-seed "$URL_a" -o w.torrent > /dev/null
  run --separate-stderr digm-fetch w.torrent -o w.flac --no-cache
  [ "$status" -eq 0 ]
  assert_same_bytes w.flac "$AUDIO/track.flac"
}

@test "a node killed -9 while seeding restarts, seeds again, and its store passes fsck" {
  local bt http magnet
  bt=$(free_port)
  http=$(free_port)
  LISTEN=127.0.0.1:$http start_node a --bittorrent --bt-listen "127.0.0.1:$bt"
  publish_to "$URL_a"
  wait_seeding a
  magnet=$(digm-seed torrent "$ROOT" --data a -o t.torrent | jq -r .magnet)
  "${BTPEER[@]}" get "$magnet" --save py --connect "127.0.0.1:$bt" --ready py.port 2> py.log &
  echo $! >> "$BATS_TEST_TMPDIR/pids"
  sleep 0.3
  kill -KILL "$PID_a"
  wait "$PID_a" || true
  LISTEN=127.0.0.1:$http start_node a --bittorrent --bt-listen "127.0.0.1:$bt"
  wait_seeding a
  eventually 60 test -s py.port || { cat py.log; false; }
  assert_same_bytes py/track.flac "$AUDIO/track.flac"
  run digm-seed fsck --data a
  [ "$status" -eq 0 ]
}

@test "a track removed while seeded leaves the swarm and its torrents go; added back, a client gets it whole" {
  local bt magnet
  start_node a --bittorrent --bt-listen 127.0.0.1:0
  bt=$(wait_log a.log 's/.*bittorrent listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p')
  publish_to "$URL_a"
  wait_seeding a
  [ -e "a/torrents/$ROOT.torrent" ] && [ -e "a/torrents/$ROOT.v1.torrent" ]
  digm-seed rm "$ROOT" --data a > /dev/null
  wait_log a.log "s/.*bittorrent: \(no longer seeding $ROOT\)$/\1/p" > /dev/null
  [ ! -e "a/torrents/$ROOT.torrent" ] && [ ! -e "a/torrents/$ROOT.v1.torrent" ]
  publish_to "$URL_a"
  eventually 10 eval '[ "$(grep -c "bittorrent: seeding $ROOT" a.log)" -eq 2 ]'
  magnet=$(digm-seed torrent "$ROOT" --data a -o t.torrent | jq -r .magnet)
  "${BTPEER[@]}" get "$magnet" --save py --connect "127.0.0.1:$bt" --ready py.port 2> py.log &
  echo $! >> "$BATS_TEST_TMPDIR/pids"
  eventually 60 test -s py.port || { cat py.log; false; }
  assert_same_bytes py/track.flac "$AUDIO/track.flac"
}

@test "a node whose BitTorrent port is taken exits 5 and says so; on port 0 it logs the port it got; one that charges says BitTorrent peers do not pay" {
  local port bt
  port=$(free_port)
  # Another process holds the port for TCP alone (its UDP port is free).
  python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
open(sys.argv[2], "w").close(); time.sleep(120)' "$port" held &
  echo $! >> "$BATS_TEST_TMPDIR/pids"
  eventually 10 test -e held
  digm-seed init --data a > /dev/null
  run --separate-stderr timeout 30 digm-seed serve --data a --listen 127.0.0.1:0 --bittorrent \
    --bt-listen "127.0.0.1:$port"
  [ "$status" -eq 5 ]
  [[ "$stderr" == *"BitTorrent: cannot listen on 127.0.0.1:$port"*"in use"* ]]
  [ ! -e a/serving.pid ]
  start_node b --bittorrent --bt-listen 127.0.0.1:0
  bt=$(wait_log b.log 's/.*bittorrent listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p')
  [ "$bt" -gt 0 ]
  python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' "$bt"
  ! grep -q "do not pay" b.log
  start_node c --bittorrent --bt-listen 127.0.0.1:0 --price-per-mb 0.001 --ledger ledger.db
  wait_log c.log 's/.*\(BitTorrent peers do not pay --price-per-mb\).*/\1/p' > /dev/null
}
