#!/usr/bin/env bats
# digm-seed: real nodes on 127.0.0.1 (free ports), publishing, gossip,
# replication and repair, crash safety, the DCMX endpoints, hostile input.

load helpers

setup_file() {
  file_fixture
  make_wallet "$FIX/artist.wallet" "$ARTIST_SECRET"
  # An encrypted track in 16 KiB chunks (54 chunks) and a clear MP3.
  digm-chunk "$AUDIO/track.wav" --chunk-size 16K --encrypt --key-out "$FIX/wav.key" --store "$FIX/chunks" \
    | digm-merkle seal > "$FIX/wav.json"
  digm-chunk "$AUDIO/track.mp3" --chunk-size 16K --store "$FIX/chunks" | digm-merkle seal > "$FIX/mp3.json"
  digm-chunk "$AUDIO/track.flac" --chunk-size 16K --store "$FIX/chunks" | digm-merkle seal > "$FIX/flac.json"
}

setup() {
  cd "$BATS_TEST_TMPDIR"
}

teardown() {
  stop_nodes
  unmount_all
}

publish() {  # publish MANIFEST URL REPLICAS
  digm-seed publish "$1" --from "$FIX/chunks" --node "$2" --wallet "$FIX/artist.wallet" --replicas "$3"
}

# --- arguments and setup -------------------------------------------------------

@test "usage errors print nothing on stdout" {
  run --separate-stderr -2 digm-seed
  [ -z "$output" ]
  run --separate-stderr -2 digm-seed publish "$FIX/wav.json" --from "$FIX/chunks"
  [ -z "$output" ]
  [[ "$stderr" == *"--node is required"* ]]
  digm-seed init --data n > /dev/null
  run --separate-stderr -2 digm-seed serve --data n --listen nowhere
  [[ "$stderr" == *"--listen 'nowhere': expected HOST:PORT"* ]]
  run --separate-stderr -2 digm-seed servee --data n
  [[ "$stderr" == *"'servee' is not a digm-seed command"*"did you mean 'serve'?"* ]]
  run -0 digm-seed -V
  [[ "$output" == "digm-seed "* ]]
  # Numbers out of range are usage errors, never a limit turned off.
  for bad in "--max-body -1" "--idle-timeout -1" "--header-timeout 0" "--max-connections 0" "--threads -2"; do
    run --separate-stderr -2 digm-seed serve --data n $bad
  done
}

@test "every JSON output names its schema: add, ls and the upload replies" {
  digm-seed init --data a > /dev/null
  run -0 digm-seed add "$FIX/mp3.json" --from "$FIX/chunks" --data a
  [ "$(jq -r .schema <<<"$output")" = digm.added/1 ]
  digm-seed ls --data a | jq -se 'length == 1 and .[0].schema == "digm.stored-track/1"'
  start_node b
  run -0 --separate-stderr digm-seed publish "$FIX/wav.json" --from "$FIX/chunks" --node "$URL_b" --wallet "$FIX/artist.wallet" --replicas 1
  json_holds "$output" '.schema == "digm.published/1"'
  h=$(jq -r '.chunks[0].hash' "$FIX/wav.json")
  run -0 curl -sf -X PUT --data-binary "@$FIX/chunks/${h:0:2}/$h" "$URL_b/content/$h"
  json_holds "$output" '.schema == "digm.stored/1"'
}

@test "init makes a node wallet once, mode 0600" {
  run digm-seed init --data n
  [ "$(jq -r .schema <<<"$output")" = digm.identity/1 ]
  addr=$(jq -r .address <<<"$output")
  [[ "$addr" =~ ^0x[0-9a-f]{40}$ ]]
  [ "$(stat -c %a n/node.wallet)" = 600 ]
  [ "$(digm-seed init --data n | jq -r .address)" = "$addr" ]
  [ "$(jq -r .address n/node.wallet)" = "$addr" ]
}

@test "serve on an uninitialised folder or a taken port fails clearly" {
  run --separate-stderr -3 digm-seed serve --data nothing --listen 127.0.0.1:0
  [[ "$stderr" == *"run digm-seed init"* ]]
  start_node a
  port=${URL_a##*:}
  digm-seed init --data b > /dev/null
  run --separate-stderr -5 digm-seed serve --data b --listen "127.0.0.1:$port"
  [[ "$stderr" == *"cannot listen on 127.0.0.1:$port"* ]]
}

# --- publishing, gossip, replication -----------------------------------------------

@test "three nodes: publish with 3 replicas and every node holds every chunk" {
  start_node a
  start_node b --peer "$URL_a"
  start_node c --peer "$URL_a"
  root=$(jq -r .root "$FIX/wav.json")
  run publish "$FIX/wav.json" "$URL_a" 3
  [ "$status" -eq 0 ]
  [ "$(jq .uploaded <<<"$output")" = "$(jq '.chunks | length' "$FIX/wav.json")" ]
  for n in a b c; do eventually 20 holds "$n" "$root"; done
  for url in "$URL_a" "$URL_b" "$URL_c"; do
    for h in $(jq -r '.chunks[].hash' "$FIX/wav.json"); do
      [ "$(curl -sf "$url/content/$h" | sha256sum | cut -c1-64)" = "$h" ]
    done
  done
  # Publishing again uploads nothing.
  [ "$(publish "$FIX/wav.json" "$URL_a" 3 | jq .uploaded)" = 0 ]
}

@test "a fourth node joined by one peer learns all peers and tracks by gossip" {
  start_node a
  start_node b --peer "$URL_a"
  start_node c --peer "$URL_b"
  root=$(jq -r .root "$FIX/mp3.json")
  publish "$FIX/mp3.json" "$URL_a" 3 > /dev/null
  for n in a b c; do eventually 20 holds "$n" "$root"; done
  start_node d --peer "$URL_c"
  knows_all() {
    [ "$(curl -sf "$URL_d/peers" | jq length)" = 3 ] &&
      [ "$(digm-seed peers --data d | jq --arg r "$root" '[.[] | select(.available_tracks | index($r))] | length')" = 3 ]
  }
  eventually 20 knows_all
  json_at "$URL_d/peers" 'length > 0 and all(.[]; .schema == "digm.peer/1" and (.signature | length) == 130)'
}

@test "pins: a stranger's pin replaces nothing; expired, zero-day and future pins are refused" {
  start_node a
  start_node b --peer "$URL_a"
  artist=$(digm-pay wallet identity "$FIX/artist.wallet" | jq -r .address)
  start_node c --peer "$URL_a" --allow-publisher "$artist"
  root=$(jq -r .root "$FIX/mp3.json")
  publish "$FIX/mp3.json" "$URL_a" 3 > /dev/null
  for n in a b c; do eventually 20 holds "$n" "$root"; done
  make_wallet mallory.wallet 8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f
  digm-seed publish "$FIX/mp3.json" --from "$FIX/chunks" --node "$URL_a" --wallet mallory.wallet --replicas 1 > /dev/null
  [ "$(sqlite3 a/index.db "SELECT count(DISTINCT owner) FROM pins WHERE root = '$root'")" = 2 ]
  [ "$(sqlite3 a/index.db "SELECT json_extract(pin, '$.desired_replicas') FROM pins WHERE owner = '$artist'")" = 3 ]
  sleep 3
  for n in a b c; do holds "$n" "$root"; done
  # Pins that are over, last no time, or come from the future authorise nothing, anywhere.
  now=$(date +%s)
  for spec in "$((now - 40 * 86400)) 30" "$now 0" "$((now + 86400)) 30"; do
    read -r created days <<<"$spec"
    jq -n --arg r "$root" --arg o "$artist" --arg c "$(date -u -d "@$created" +%Y-%m-%dT%H:%M:%SZ)" \
      --argjson d "$days" '{schema: "digm.pin/1", root: $r, desired_replicas: 1, duration_days: $d, owner: $o, created: $c}' > pin.json
    body=$(jq -c --slurpfile p <(digm-test-sign pin.json "$FIX/artist.wallet") '{manifest: ., pin: $p[0]}' "$FIX/mp3.json")
    for url in "$URL_a" "$URL_c"; do
      [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d "$body" "$url/tracks/$root")" = 400 ]
    done
  done
  run --separate-stderr -2 digm-seed publish "$FIX/mp3.json" --from "$FIX/chunks" --node "$URL_a" --wallet mallory.wallet --days -5
}

@test "gc removes tracks whose pins all expired, and keeps imported ones" {
  digm-seed init --data a > /dev/null
  digm-seed add "$FIX/wav.json" --from "$FIX/chunks" --data a > /dev/null  # imported: no pin
  start_node a
  root=$(jq -r .root "$FIX/mp3.json")
  publish "$FIX/mp3.json" "$URL_a" 1 > /dev/null
  run -0 digm-seed gc --data a
  [ "$(jq -c .removed <<<"$output")" = '[]' ]
  # The pin runs out (as if its days had passed).
  sqlite3 a/index.db "UPDATE pins SET expires = 1 WHERE root = '$root'"
  h=$(jq -r '.chunks[3].hash' "$FIX/mp3.json")
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "@$FIX/chunks/${h:0:2}/$h" "$URL_a/content/$h")" = 403 ]
  run -0 digm-seed gc --data a
  jq -e --arg r "$root" '.schema == "digm.gc/1" and .removed == [$r]' <<<"$output"
  [ ! -e "a/chunks/${h:0:2}/$h" ]
  [ "$(digm-seed ls --data a | jq -r '.root')" = "$(jq -r .root "$FIX/wav.json")" ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL_a/content/$h")" = 404 ]
}

@test "stopping a holder makes the repair loop restore three replicas" {
  start_node a
  start_node b --peer "$URL_a"
  start_node c --peer "$URL_a"
  start_node d --peer "$URL_a"
  root=$(jq -r .root "$FIX/mp3.json")
  all_know() { for u in "$URL_a" "$URL_b" "$URL_c" "$URL_d"; do [ "$(curl -sf "$u/peers" | jq length)" = 3 ] || return 1; done; }
  eventually 20 all_know
  publish "$FIX/mp3.json" "$URL_a" 3 > /dev/null
  count() { local n=0; for x in a b c d; do holds "$x" "$root" && n=$((n + 1)); done; echo "$n"; }
  three() { [ "$(count)" = 3 ]; }
  eventually 20 three
  for x in b c d; do holds "$x" "$root" && victim=$x && break; done
  pid_var="PID_$victim"
  kill -9 "${!pid_var}"
  others=$(for x in a b c d; do [ "$x" != "$victim" ] && echo "$x"; done)
  restored() { local n=0; for x in $others; do holds "$x" "$root" && n=$((n + 1)); done; [ "$n" = 3 ]; }
  eventually 30 restored
}

@test "a replica with no room is passed over: the next node in rendezvous order takes the copy" {
  root=$(jq -r .root "$FIX/mp3.json")
  # Of b, c and d, rendezvous ranks first the highest SHA-256(root || node id).
  ranked=$(for x in b c d; do
      id=$(digm-seed init --data "$x" | jq -r .address)
      echo "$(printf '%s%s' "$root" "$id" | sha256sum | cut -c1-64) $x"
    done | sort -r | cut -d' ' -f2 | xargs)
  read -r first second third <<<"$ranked"
  # The first one's disk is full.
  mv "$first" init
  small_disk "$first" 24m
  cp -a init/. "$first"/
  free=$(df --output=avail -B1 "$first" | tail -1)
  head -c $((free - 15 * 1024 * 1024)) /dev/zero > "$first/filler"
  export PEER_TTL=60  # no peer is lost to a slow round under load
  start_node a
  for x in b c d; do start_node "$x" --peer "$URL_a"; done
  all_know() { for u in "$URL_a" "$URL_b" "$URL_c" "$URL_d"; do [ "$(curl -sf "$u/peers" | jq length)" = 3 ] || return 1; done; }
  eventually 20 all_know
  publish "$FIX/mp3.json" "$URL_a" 2 > /dev/null
  eventually 30 holds "$second" "$root"
  grep -q "replication of $root to .*(507): this node's disk is full" a.log
  sleep 2  # two more rounds: the copy stays where it went, and goes nowhere else
  run -1 holds "$first" "$root"
  run -1 holds "$third" "$root"
}

@test "crash: kill -9 during 50 concurrent uploads, then a clean restart" {
  start_node a
  root=$(jq -r .root "$FIX/wav.json")
  # The publisher pins the track and uploads; once the pin is in, 50 more
  # uploads race it, and the node is killed in the middle.
  ( digm-seed publish "$FIX/wav.json" --from "$FIX/chunks" --node "$URL_a" --wallet "$FIX/artist.wallet" \
      --replicas 1 > /dev/null 2>&1 || true ) &
  pinned() { digm-seed ls --data a | jq -se --arg r "$root" 'any(.[]; .root == $r)' > /dev/null; }
  eventually 10 pinned
  for h in $(jq -r '.chunks[].hash' "$FIX/wav.json" | tail -n 50); do
    curl -s -o /dev/null -X PUT --data-binary "@$FIX/chunks/${h:0:2}/$h" "$URL_a/content/$h" &
  done
  sleep 0.2
  kill -9 "$PID_a"
  wait || true
  [ "$(find a/chunks -type f | wc -l)" -gt 0 ]  # some uploads landed before the crash
  [ -f a/serving.pid ]  # it did not stop cleanly
  start_node a
  grep -q "did not stop cleanly" a.log
  run digm-seed fsck --data a
  [ "$status" -eq 0 ]
  [ "$(jq .clean <<<"$output")" = true ]
  for f in $(find a/chunks -type f); do
    h=$(basename "$f")
    [ "$(curl -sf "$URL_a/content/$h" | sha256sum | cut -c1-64)" = "$h" ]
  done
}

@test "a full disk: what does not fit is refused (507) and said, the rest is served, the store stays clean" {
  small_disk a 24m
  digm-seed init --data a > /dev/null
  start_node a
  publish "$FIX/wav.json" "$URL_a" 1 > /dev/null
  # The flac's pin goes in while there is room, none of its chunks yet.
  root=$(jq -r .root "$FIX/flac.json")
  owner=$(digm-pay wallet identity "$FIX/artist.wallet" | jq -r .address)
  jq -nc --arg r "$root" --arg o "$owner" '{schema: "digm.pin/1", root: $r, desired_replicas: 1,
      duration_days: 30, owner: $o, created: (now | floor | todate)}' \
    | digm-test-sign - "$FIX/artist.wallet" > pin.json
  jq -c --slurpfile p pin.json '{manifest: ., pin: $p[0]}' "$FIX/flac.json" > put.json
  curl -sf -X PUT --data-binary @put.json "$URL_a/tracks/$root" | jq -e '.missing | length > 0'
  h1=$(jq -r '.chunks[1].hash' "$FIX/flac.json")
  # Then something else fills the disk into the node's reserve.
  free=$(df --output=avail -B1 a | tail -1)
  head -c $((free - 15 * 1024 * 1024)) /dev/zero > a/filler
  run -5 --separate-stderr publish "$FIX/mp3.json" "$URL_a" 1
  [[ "$stderr" == *"refused the track (507): this node's disk is full"* ]]
  run -0 curl -s -o out.json -w '%{http_code}' -X PUT --data-binary "@$FIX/chunks/${h1:0:2}/$h1" "$URL_a/content/$h1"
  [ "$output" = 507 ]
  json_holds "$(cat out.json)" '.error | test("disk is full")'
  eventually 5 grep -q "the disk is full: .* refused (507)" a.log
  grep -q "refused track $(jq -r .root "$FIX/mp3.json"): this node's disk is full" a.log
  # A live stream's chunks are refused too: the publisher says why, and fails.
  ffmpeg -v error -i "$AUDIO/track.wav" -t 2 -c:a libmp3lame -b:a 128k -f mp3 live.mp3
  run -5 --separate-stderr digm-live publish live.mp3 --wallet "$FIX/artist.wallet" --node "$URL_a" --title t
  [[ "$stderr" == *"HTTP 507: this node's disk is full"*"no node stored the sealed track"* ]]
  curl -sf "$URL_a/metrics" | awk '/^digm_insufficient_storage_total / { n = $2 } END { exit !(n >= 3) }'
  # What it holds is still served, and the store is clean.
  digm-fetch "$(jq -r .root "$FIX/wav.json")" --peer "$URL_a" --key "$FIX/wav.key" --no-cache -o wav.out
  cmp wav.out "$AUDIO/track.wav"
  run -0 digm-seed fsck --data a
  json_holds "$output" '.clean'
  # Room again: said, and the flac goes in whole.
  rm a/filler
  eventually 5 grep -q "the disk has room again" a.log
  publish "$FIX/flac.json" "$URL_a" 1 > /dev/null
  digm-fetch "$(jq -r .root "$FIX/flac.json")" --peer "$URL_a" --no-cache -o flac.out
  cmp flac.out "$AUDIO/track.flac"
}

@test "--max-storage: a track past the limit is refused (507) and said; rm frees its room at once" {
  run -2 --separate-stderr digm-seed serve --data a --max-storage 1X
  [[ "$stderr" == *"--max-storage: '1X' is not a size"* ]]
  run -2 digm-seed serve --data a --max-storage 0
  wav=$(jq '[.chunks[].size] | add' "$FIX/wav.json")
  mp3=$(jq '[.chunks[].size] | add' "$FIX/mp3.json")
  wav_root=$(jq -r .root "$FIX/wav.json") mp3_root=$(jq -r .root "$FIX/mp3.json")
  # Room for the wav and half the mp3: under a chunk of the usual size left.
  max=$((wav + mp3 / 2))
  start_node a --max-storage "$max"
  grep -q "holding at most $max bytes of chunks (0 held)" a.log
  publish "$FIX/wav.json" "$URL_a" 1 > /dev/null
  run -5 --separate-stderr publish "$FIX/mp3.json" "$URL_a" 1
  [[ "$stderr" == *"refused the track (507): this node's store is full"*"--max-storage"* ]]
  grep -q "refused track $mp3_root: this node's store is full" a.log
  eventually 5 grep -q "the store is full: it holds $wav of the $max bytes of --max-storage" a.log
  curl -sf "$URL_a/metrics" > metrics
  grep -qx "digm_store_bytes $wav" metrics
  grep -qx "digm_store_max_bytes $max" metrics
  grep -qx "digm_insufficient_storage_total 1" metrics
  digm-fetch "$wav_root" --peer "$URL_a" --key "$FIX/wav.key" --no-cache -o wav.out
  cmp wav.out "$AUDIO/track.wav"
  # Another process removes the wav: the node counts the room at once.
  digm-seed rm "$wav_root" --data a > /dev/null
  eventually 5 grep -q "the store has room again" a.log
  [ "$(curl -sf "$URL_a/metrics" | awk '/^digm_store_bytes / { print $2 }')" = 0 ]
  publish "$FIX/mp3.json" "$URL_a" 1 > /dev/null
  digm-fetch "$mp3_root" --peer "$URL_a" --no-cache -o mp3.out
  cmp mp3.out "$AUDIO/track.mp3"
  run -0 digm-seed fsck --data a
  json_holds "$output" '.clean'
}

# --- the DCMX endpoints and real clients ---------------------------------------------

@test "DCMX endpoints answer with their documented shapes" {
  start_node a
  root=$(jq -r .root "$FIX/mp3.json")
  publish "$FIX/mp3.json" "$URL_a" 1 > /dev/null
  json_at "$URL_a/ping" '.schema == "digm.pong/1" and (.node_id | test("^0x[0-9a-f]{40}$")) and (.time | test("Z$"))'
  json_at "$URL_a/peers" 'type == "array"'
  run -0 curl -sf "$URL_a/tracks"
  json_holds "$output" --arg r "$root" \
    '.[0] | has("title") and has("artist") and has("album") and has("duration") and has("size") and .content_hash == $r and has("created_at") and .root == $r and .chunks > 0'
  # Any peer object is answered, only a signed one is learned.
  run -0 curl -sf -X POST -d '{"peer":{"url":"http://127.0.0.1:1"}}' "$URL_a/discover"
  json_holds "$output" --arg r "$root" '(.peer.available_tracks | index($r)) != null and (.tracks | length) == 1 and (.peers | length) == 0'
  [ "$(curl -sf "$URL_a/peers" | jq length)" = 0 ]
  json_at "$URL_a/tracks/$root" '.root == $r' --arg r "$root"
  curl -sf "$URL_a/content/$root" | cmp - "$AUDIO/track.mp3"
  curl -sf "$URL_a/metrics" | grep -q '^digm_bytes_served_total [1-9]'
}

@test "curl and aria2c download chunks and byte ranges" {
  start_node a
  root=$(jq -r .root "$FIX/mp3.json")
  publish "$FIX/mp3.json" "$URL_a" 1 > /dev/null
  h=$(jq -r '.chunks[1].hash' "$FIX/mp3.json")
  curl -sf -r 100-199 "$URL_a/content/$h" > part
  cmp part <(tail -c +101 "$FIX/chunks/${h:0:2}/$h" | head -c 100)
  curl -sf -r -50 "$URL_a/content/$h" | cmp - <(tail -c 50 "$FIX/chunks/${h:0:2}/$h")
  curl -sf -r 16000- "$URL_a/content/$h" | cmp - <(tail -c +16001 "$FIX/chunks/${h:0:2}/$h")
  [ "$(curl -s -o /dev/null -w '%{http_code}' -r 99999- "$URL_a/content/$h")" = 416 ]
  curl -sfI "$URL_a/content/$h" | grep -qi "^etag: \"$h\""
  curl -sfI "$URL_a/content/$h" | grep -qi '^cache-control:.*immutable'
  aria2c -q -d . -o whole.mp3 -x 4 -s 4 --min-split-size=1M --allow-overwrite=true "$URL_a/content/$root"
  cmp whole.mp3 "$AUDIO/track.mp3"
  aria2c -q -d . -o chunk.bin --allow-overwrite=true "$URL_a/content/$h"
  [ "$(sha256sum chunk.bin | cut -c1-64)" = "$h" ]
}

@test "HLS plays in ffprobe, ffmpeg, mpv and cvlc with default options; FLAC and encrypted get 409" {
  start_node a
  root=$(jq -r .root "$FIX/mp3.json")
  publish "$FIX/mp3.json" "$URL_a" 1 > /dev/null
  list="$URL_a/tracks/$root/playlist.m3u8"
  curl -sf "$list" | head -n 1 | grep -q '#EXTM3U'
  curl -sf "$list" | grep -qE '^/content/[0-9a-f]{64}\.mp3$'
  [ "$(curl -sI "$URL_a/content/$(jq -r '.chunks[0].hash' "$FIX/mp3.json").mp3" | tr -d '\r' | sed -n 's/^Content-Type: //Ip')" = audio/mpeg ]
  ffprobe -v error -show_entries format=format_name -of csv=p=0 "$list" | grep -q hls
  ffmpeg -nostdin -v error -i "$list" -f wav -y out.wav
  secs=$(ffprobe -v error -show_entries format=duration -of csv=p=0 out.wav)
  awk -v s="$secs" 'BEGIN { exit !(s > 4.5 && s < 5.5) }'
  mpv --no-config --really-quiet --no-video --ao=pcm --ao-pcm-file=mpv.wav "$list"
  secs=$(ffprobe -v error -show_entries format=duration -of csv=p=0 mpv.wav)
  awk -v s="$secs" 'BEGIN { exit !(s > 4.5 && s < 5.5) }'
  # VLC refuses to run as root.
  out=$(nobody_dir)
  as_nobody env HOME="$out" cvlc -q --no-video --play-and-exit \
    --sout "#transcode{acodec=s16l}:std{access=file,mux=wav,dst=$out/vlc.wav}" "$list" vlc://quit 2> vlc.log
  secs=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$out/vlc.wav")
  rm -rf "$out"
  awk -v s="$secs" 'BEGIN { exit !(s > 4.5 && s < 5.5) }'
  # What HLS cannot carry, or an encrypted track, gets 409 and the way to play it.
  for t in flac wav; do
    publish "$FIX/$t.json" "$URL_a" 1 > /dev/null
    r=$(jq -r .root "$FIX/$t.json")
    [ "$(curl -s -o body.json -w '%{http_code}' "$URL_a/tracks/$r/playlist.m3u8")" = 409 ]
    jq -e '.alternative | startswith("digm-fetch ")' body.json
  done
  grep -q encrypted body.json
}

# --- bad and hostile input ----------------------------------------------------------

@test "hostile: bad paths, unknown content, bad ranges" {
  start_node a
  code() { curl -s -o /dev/null -w '%{http_code}' --path-as-is "$@"; }
  [ "$(code "$URL_a/content/../index.db")" = 400 ]
  [ "$(code "$URL_a/content/%2e%2e%2findex.db")" = 400 ]
  [ "$(code "$URL_a/content/xyz")" = 400 ]
  [ "$(code "$URL_a/content/$(printf 'a%.0s' {1..64})")" = 404 ]
  [ "$(code "$URL_a/tracks/$(printf 'b%.0s' {1..64})")" = 404 ]
  [ "$(code -X DELETE "$URL_a/ping")" = 405 ]
}

@test "hostile: oversized headers and bodies" {
  start_node a --max-body 100000
  big=$(head -c 20000 /dev/zero | tr '\0' x)
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$URL_a/ping")" = 431 ]
  head -c 200000 /dev/zero > body
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @body "$URL_a/content/$(printf 'c%.0s' {1..64})")" = 413 ]
  curl -sf "$URL_a/ping" > /dev/null  # still serving
}

@test "hostile: uploads without a pin (403) and with the wrong bytes (422)" {
  start_node a
  h=$(jq -r '.chunks[0].hash' "$FIX/wav.json")
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "@$FIX/chunks/${h:0:2}/$h" "$URL_a/content/$h")" = 403 ]
  publish "$FIX/wav.json" "$URL_a" 1 > /dev/null
  h1=$(jq -r '.chunks[1].hash' "$FIX/mp3.json")
  publish "$FIX/mp3.json" "$URL_a" 1 > /dev/null
  digm-seed rm --data a "$(jq -r .root "$FIX/mp3.json")" 2>/dev/null || true
  other=$(jq -r '.chunks[2].hash' "$FIX/wav.json")
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "@$FIX/chunks/${h1:0:2}/$h1" "$URL_a/content/$other")" = 422 ]
}

@test "hostile: forged pins and peer records are rejected" {
  start_node a
  root=$(jq -r .root "$FIX/mp3.json")
  make_wallet mallory.wallet 8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f
  # A pin signed by one key that claims another owner.
  publish "$FIX/mp3.json" "$URL_a" 1 > /dev/null
  body=$(jq -c '{manifest: ., pin: {schema: "digm.pin/1", root: .root, desired_replicas: 1, duration_days: 1,
    owner: "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", created: "'"$(date -u +%Y-%m-%dT%H:%M:%SZ)"'",
    signer: "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", signature: ("ab" * 65)}}' "$FIX/mp3.json")
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d "$body" "$URL_a/tracks/$root")" = 403 ]
  # A node that only accepts the artist refuses mallory.
  start_node b --allow-publisher 0x0000000000000000000000000000000000000001
  run --separate-stderr -4 digm-seed publish "$FIX/mp3.json" --from "$FIX/chunks" --node "$URL_b" --wallet mallory.wallet
  [[ "$stderr" == *"refused the track (403)"*"not allowed on this node"* ]]
  # A peer record whose URL was changed after signing is not learned.
  record=$(curl -sf -X POST -d '{"peer":{}}' "$URL_b/discover" | jq -c '.peer | del(.available_tracks) | .url = "http://127.0.0.1:9"')
  curl -sf -X POST -d "{\"peer\": $record}" "$URL_a/discover" > /dev/null
  [ "$(curl -sf "$URL_a/peers" | jq length)" = 0 ]
  curl -sf "$URL_a/metrics" | grep -q '^digm_rejected_records_total [1-9]'
}

@test "hostile: an idle client does not block others and is dropped" {
  start_node a --idle-timeout 2
  port=${URL_a##*:}
  exec 5<>"/dev/tcp/127.0.0.1/$port"   # connects and sends nothing (bats owns fd 3)
  for _ in 1 2 3 4 5; do curl -sf "$URL_a/ping" > /dev/null; done
  sleep 3
  # The server closed the idle connection: reading gives end of file.
  # cat sees end of file (status 0) only if the node closed it; a timeout is 124.
  run timeout 2 cat <&5
  [ "$status" -eq 0 ]
  exec 5>&-
  curl -sf "$URL_a/ping" > /dev/null
}

@test "hostile: clients that hang up mid-download do not hurt the node" {
  start_node a --rate-limit 0
  # Larger than the socket buffers, so the node is still sending at hang-up.
  head -c $((12 << 20)) /dev/urandom > big.bin
  digm-chunk big.bin --chunk-size 1M --store big | digm-merkle seal > big.json
  digm-seed publish big.json --from big --node "$URL_a" --wallet "$FIX/artist.wallet" --replicas 1 > /dev/null
  root=$(jq -r .root big.json)
  port=${URL_a##*:}
  for _ in 1 2 3 4 5; do
    # Read for a moment, then close cleanly while the node is still sending.
    exec 5<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET /content/%s HTTP/1.1\r\nHost: x\r\n\r\n' "$root" >&5
    timeout 0.2 cat <&5 > /dev/null || true
    exec 5>&-
    curl -s --limit-rate 100K --max-time 0.3 -o /dev/null "$URL_a/content/$root" || true
  done
  # wrk stops mid-response on every connection when its time is up.
  wrk -t2 -c400 -d1s "$URL_a/content/$root" > /dev/null
  sleep 0.5
  kill -0 "$PID_a"
  curl -sf "$URL_a/content/$root" | cmp - big.bin
}

@test "connections over the cap are closed at once" {
  start_node a --max-connections 2
  port=${URL_a##*:}
  exec 5<>"/dev/tcp/127.0.0.1/$port"
  exec 6<>"/dev/tcp/127.0.0.1/$port"
  sleep 0.3
  run curl -s --max-time 3 "$URL_a/ping"
  [ "$status" -ne 0 ]   # closed without an answer
  exec 5>&- 6>&-
  sleep 0.3
  curl -sf --max-time 3 "$URL_a/ping" > /dev/null
}

@test "the per-address request rate is limited" {
  start_node a --rate-limit 5
  codes=$(for _ in $(seq 30); do curl -s -o /dev/null -w '%{http_code}\n' "$URL_a/ping"; done)
  grep -q 200 <<<"$codes"
  grep -q 429 <<<"$codes"
}

# --- operations ---------------------------------------------------------------------

@test "SIGTERM drains a download in flight and exits 0" {
  start_node a
  root=$(jq -r .root "$FIX/mp3.json")
  publish "$FIX/mp3.json" "$URL_a" 1 > /dev/null
  curl -sf --limit-rate 60K "$URL_a/content/$root" -o slow.mp3 &
  client=$!
  sleep 0.5
  kill -TERM "$PID_a"
  set +e; wait "$PID_a"; rc=$?; set -e
  wait "$client"
  [ "$rc" -eq 0 ]
  cmp slow.mp3 "$AUDIO/track.mp3"
  [ ! -e a/serving.pid ]
}

@test "one process per data folder: a second serve is refused (exit 2) and harms nothing" {
  start_node a
  pid_file=$(cat a/serving.pid)
  run --separate-stderr -2 digm-seed serve --data a --listen 127.0.0.1:0
  [[ "$stderr" == *"'a' is served by another digm-seed (pid $PID_a)"* ]]
  [ "$(cat a/serving.pid)" = "$pid_file" ]
  ! grep -q "did not stop cleanly" a.log
  curl -sf "$URL_a/ping" > /dev/null
  # The lock goes with the process, even after kill -9.
  kill -9 "$PID_a"
  wait "$PID_a" 2>/dev/null || true
  start_node a
  curl -sf "$URL_a/ping" > /dev/null
}

@test "SIGHUP does not stop a node, and the next start needs no fsck" {
  start_node a
  kill -HUP "$PID_a"
  sleep 0.3
  kill -0 "$PID_a"
  curl -sf "$URL_a/ping" > /dev/null
  kill -TERM "$PID_a"
  set +e; wait "$PID_a"; rc=$?; set -e
  [ "$rc" -eq 0 ]
  start_node a
  ! grep -q "did not stop cleanly" a.log
}

@test "a node listening on 0.0.0.0 needs --url: it never advertises 0.0.0.0" {
  digm-seed init --data a > /dev/null
  run --separate-stderr -2 digm-seed serve --data a --listen 0.0.0.0:0
  [[ "$stderr" == *"give --url http://ADDRESS:PORT"* ]]
  [ ! -e a/serving.pid ]
  run --separate-stderr -2 digm-seed serve --data a --listen '[::]:0'
  [[ "$stderr" == *"give --url"* ]]
}

@test "fsck --repair on a running node: quarantined chunks are no longer served" {
  digm-seed init --data a > /dev/null
  digm-seed add "$FIX/mp3.json" --from "$FIX/chunks" --data a > /dev/null
  start_node a
  h=$(jq -r '.chunks[1].hash' "$FIX/mp3.json")
  [ "$(curl -sf "$URL_a/content/$h" | sha256sum | cut -c1-64)" = "$h" ]  # open, and cached
  flip_byte "a/chunks/${h:0:2}/$h" 10
  run digm-seed fsck --data a --repair
  [ -f "a/quarantine/$h" ]
  sleep 1.1   # an open chunk file is checked against its path once a second
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL_a/content/$h")" = 404 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL_a/content/$(jq -r .root "$FIX/mp3.json")")" = 404 ]
}

@test "contrib/digm-seed.service is hardened and advertises a reachable URL" {
  unit="$DIGM_SRC/contrib/digm-seed.service"
  exposure=$(systemd-analyze security --offline=yes "$unit" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  echo "exposure $exposure"
  awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }'
  grep -q '^ExecStart=.* --url ${DIGM_URL}' "$unit"
  ! grep -q '0\.0\.0\.0:7070$' <(grep '^ExecStart=' "$unit")
  # The unit's command line, as systemd would run it with its defaults, serves.
  listen=127.0.0.1:$(free_port)
  cmd=$(sed -n 's/^ExecStart=//p' "$unit" | sed "s|/usr/local/bin/digm-seed|digm-seed|; s|\${STATE_DIRECTORY}|$PWD/state|; s|\${DIGM_LISTEN}|$listen|; s|\${DIGM_URL}|http://$listen|")
  digm-seed init --data state > /dev/null
  $cmd 2> state.log &
  echo $! >> "$BATS_TEST_TMPDIR/pids"
  eventually 10 curl -sf "http://$listen/ping" -o /dev/null
  [ "$(curl -sf -X POST -d '{"peer":{}}' "http://$listen/discover" | jq -r .peer.url)" = "http://$listen" ]
}

@test "make install: stripped binaries, man pages, and the contrib files under share/" {
  make -s -C "$DIGM_SRC" install PREFIX="$PWD/prefix" BUILD="$(cd "$DIGM_BIN/.." && pwd)" > /dev/null
  for t in digm-chunk digm-merkle digm-seed digm-fetch digm-audit digm-pay; do
    [ -x "prefix/bin/$t" ]
    file "prefix/bin/$t" | grep -q ', stripped'
  done
  [ -f prefix/share/digm/digm-seed.service ] && [ -f prefix/share/digm/digm-audit.cron ]
  [ -f prefix/share/digm/digm-seed-gc.cron ] && [ -f prefix/share/digm/digm-seed-redeem.cron ]
  [ -f prefix/share/man/man1/digm-seed.1 ] && [ -f prefix/share/man/man7/digm.7 ]
}

@test "fsck reports damage (exit 1) and --repair mends it" {
  digm-seed init --data n > /dev/null
  digm-seed add "$FIX/mp3.json" --from "$FIX/chunks" --data n > /dev/null
  run digm-seed fsck --data n
  [ "$status" -eq 0 ]
  h=$(jq -r '.chunks[1].hash' "$FIX/mp3.json")
  flip_byte "n/chunks/${h:0:2}/$h" 10
  run digm-seed fsck --data n
  [ "$status" -eq 1 ]
  [ "$(jq -r '.missing[0]' <<<"$output")" = "$h" ]
  [ "$(jq '.corrupt | length' <<<"$output")" = 1 ]
  run digm-seed fsck --data n --repair
  [ "$status" -eq 0 ]
  [ -f "n/quarantine/$h" ]
  run digm-seed fsck --data n
  [ "$(jq .clean <<<"$output")" = true ]
  [ "$(digm-seed ls --data n | jq -s '.[0].complete')" = false ]
}

@test "add, ls and rm" {
  digm-seed init --data n > /dev/null
  digm-seed add "$FIX/mp3.json" --from "$FIX/chunks" --data n > /dev/null
  root=$(jq -r .root "$FIX/mp3.json")
  [ "$(digm-seed ls --data n | jq -rs '.[0].root')" = "$root" ]
  [ "$(find n/chunks -type f | wc -l)" -gt 0 ]
  digm-seed rm --data n "$root"
  [ "$(digm-seed ls --data n | jq -s length)" = 0 ]
  [ "$(find n/chunks -type f | wc -l)" = 0 ]
  run --separate-stderr -3 digm-seed rm --data n "$root"
  [[ "$stderr" == *"no track $root on this node"* ]]
}
