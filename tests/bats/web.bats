#!/usr/bin/env bats
# The web player every node serves (SPEC §10), in a real browser: headless
# Chromium from Debian driven by puppeteer-core (tests/web/play.mjs), on
# 127.0.0.1 only. A clear MP3, an encrypted FLAC opened with #key=, its
# preview without a key, a wrong key, a lying node, a node that charges, and
# live streams (through a relay; encrypted; ended, as their sealed track),
# every head's signature checked in the page. A screenshot of the page while
# it plays is kept in $DIGM_ARTIFACTS (default build/test-artifacts).

load helpers

setup_file() {
  file_fixture
  export ARTIFACTS="${DIGM_ARTIFACTS:-$DIGM_BIN/../test-artifacts}"
  mkdir -p "$ARTIFACTS"
  ffmpeg -v error -i "$AUDIO/track.wav" -c:a libmp3lame -b:a 192k -metadata title="Web Tone" \
    -metadata artist="digm" "$FIX/web.mp3"
  digm-chunk "$FIX/web.mp3" --chunk-size 16K --store "$FIX/chunks" -q | digm-merkle seal > "$FIX/mp3.json"
  digm-chunk "$AUDIO/track.flac" --chunk-size 64K --encrypt --key-out "$FIX/flac.key" \
    --preview-seconds 3 --store "$FIX/chunks" -q | digm-merkle seal > "$FIX/flac.json"
  # A compressible WAV: its chunks are stored zstd-compressed and sealed.
  sox -n -r 44100 -c 1 -b 16 "$FIX/quiet.wav" synth 4 sine 220 vol 0.01
  digm-chunk "$FIX/quiet.wav" --chunk-size 64K --compress --encrypt --key-out "$FIX/wav.key" \
    --store "$FIX/chunks" -q | digm-merkle seal > "$FIX/wav.json"
  # A 20 s live set (publish_live pipes $FIX/set.mp3 at real time).
  make_wallet "$FIX/dj.wallet" "$ARTIST_SECRET"
  sox -n -r 44100 -c 2 "$FIX/set.wav" synth 20 sine 330 vol 0.4
  ffmpeg -v error -i "$FIX/set.wav" -c:a libmp3lame -b:a 128k "$FIX/set.mp3"
}

setup() {
  cd "$BATS_TEST_TMPDIR"
  start_node n1
  for t in mp3 flac wav; do
    digm-seed add "$FIX/$t.json" --from "$FIX/chunks" --data "$BATS_TEST_TMPDIR/n1" > /dev/null
  done
}

teardown() {
  [ -f live.pid ] && kill -KILL "$(cat live.pid)" 2>/dev/null || true
  stop_nodes
}

# play URL [ARGS...]: tests/web/play.mjs, its JSON line in $output.
play() {
  run --separate-stderr timeout 90 node "$DIGM_SRC/tests/web/play.mjs" "$@"
}

@test "the node serves the page and its files, built in, with their types; bad paths are refused" {
  run -0 curl -sf -D headers "$URL_n1/"
  [[ "$output" == *"<audio"* ]]
  grep -qi '^content-type: text/html' headers
  grep -qi "^content-security-policy: default-src 'self'" headers
  curl -sf -D js.headers -o app.js "$URL_n1/web/app.js"
  grep -qi '^content-type: text/javascript' js.headers
  cmp app.js "$DIGM_SRC/web/app.js"
  root=$(jq -r .root "$FIX/mp3.json")
  curl -sf -D play.headers -o /dev/null "$URL_n1/play/$root"
  h=$(jq -r '.chunks[0].hash' "$FIX/mp3.json")
  grep -qi "^link: </tracks/$root>; rel=preload; as=fetch; crossorigin=anonymous, </content/$h>" play.headers
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL_n1/play/nothex")" = 400 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL_n1/web/nope.js")" = 404 ]
  [ "$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$URL_n1/web/..")" = 400 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL_n1/")" = 405 ]
  # The library, drawn by the page in the browser.
  play "$URL_n1/" --list
  [ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
  jq -e --arg r "$root" '.tracks | any(.href == "/play/" + $r and (.text | contains("Web Tone")))' <<<"$output"
}

@test "a clear MP3 plays past 2 s through Media Source Extensions, every chunk verified" {
  root=$(jq -r .root "$FIX/mp3.json")
  play "$URL_n1/play/$root" --until-done --screenshot "$ARTIFACTS/web-player.png"
  [ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
  n=$(jq '.chunks | length' "$FIX/mp3.json")
  jq -e --argjson n "$n" '.currentTime > 2 and .digm.verified == $n and .digm.chunks == $n
    and .digm.done and .digm.mode == "mse" and .digm.bad == [] and .digm.error == null
    and .digm.buffered > 4' <<<"$output"
  [[ "$(jq -r .status <<<"$output")" == "All $n chunks verified"* ]]
  [ -s "$ARTIFACTS/web-player.png" ]
}

@test "an encrypted FLAC plays with #key=; the key never leaves the browser" {
  root=$(jq -r .root "$FIX/flac.json")
  key=$(jq -r .key "$FIX/flac.key")
  play "$URL_n1/play/$root#key=$key" --until-done
  [ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
  n=$(jq '.chunks | length' "$FIX/flac.json")
  jq -e --argjson n "$n" '.currentTime > 2 and .digm.verified == $n and .digm.done and .digm.error == null' <<<"$output"
  ! grep -q "$key" "$BATS_TEST_TMPDIR/n1.log"
}

@test "compressed, encrypted chunks are opened and decompressed in the page" {
  root=$(jq -r .root "$FIX/wav.json")
  [ "$(jq '[.chunks[] | select(.z)] | length' "$FIX/wav.json")" -gt 0 ]
  play "$URL_n1/play/$root#key=$(jq -r .key "$FIX/wav.key")" --until-done
  [ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
  jq -e '.currentTime > 2 and .digm.done and .digm.error == null' <<<"$output"
}

@test "without a key the preview plays and the page says why the rest is locked" {
  root=$(jq -r .root "$FIX/flac.json")
  preview=$(jq .encryption.preview.chunks "$FIX/flac.json")
  [ "$preview" -gt 0 ]
  play "$URL_n1/play/$root" --until-done
  [ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
  jq -e --argjson p "$preview" '.currentTime > 2 and .digm.chunks == $p and .digm.verified == $p and .digm.done' <<<"$output"
  [[ "$(jq -r .lock <<<"$output")" == *"Preview"*"#key=HEX"* ]]
}

@test "a wrong key shows an error and plays nothing" {
  root=$(jq -r .root "$FIX/flac.json")
  play "$URL_n1/play/$root#key=$(jq -r .key "$FIX/wav.key")" --timeout 10
  [ "$status" -eq 1 ]
  jq -e '.currentTime == 0 and .playing_ms == null and (.digm.error | contains("not the track'"'"'s key"))' <<<"$output"
}

@test "a lying node is shown as bad and the track still plays from another node" {
  start_node n2 --peer "$URL_n1"
  digm-seed add "$FIX/mp3.json" --from "$FIX/chunks" --data "$BATS_TEST_TMPDIR/n2" > /dev/null
  start_liar "$URL_n2" flip 1
  # The page comes from the liar (it spoils only chunks); n2 names n1 as its peer.
  eventually 10 eval '[ "$(curl -sf "$URL_n2/peers" | jq length)" -ge 1 ]'
  root=$(jq -r .root "$FIX/mp3.json")
  play "$URL_liar/play/$root" --until-done
  [ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
  n=$(jq '.chunks | length' "$FIX/mp3.json")
  jq -e --arg l "$URL_liar" --argjson n "$n" \
    '.currentTime > 2 and .digm.verified == $n and .digm.bad == [$l] and any(.nodes[]; .bad and (.text | startswith($l)))' <<<"$output"
  [[ "$(jq -r .status <<<"$output")" == *"bad node(s): $URL_liar"* ]]
}

@test "a node that charges is left for a free one, and without one the page says it cannot pay" {
  start_node n2 --peer "$URL_n1" --price-per-mb 0.001 --ledger ledger.db
  digm-seed add "$FIX/mp3.json" --from "$FIX/chunks" --data "$BATS_TEST_TMPDIR/n2" > /dev/null
  eventually 10 eval '[ "$(curl -sf "$URL_n2/peers" | jq length)" -ge 1 ]'
  root=$(jq -r .root "$FIX/mp3.json")
  # n2 names n1, which serves free: every chunk comes from n1.
  play "$URL_n2/play/$root" --until-done
  [ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
  n=$(jq '.chunks | length' "$FIX/mp3.json")
  jq -e --arg u "$URL_n2" --argjson n "$n" '.currentTime > 2 and .digm.verified == $n and .digm.bad == []
    and .digm.charging == [$u] and any(.nodes[]; .text == $u + " — charges 0.001 XFG per MB")' <<<"$output"
  # n1 gone: no free node is left, and the page says why nothing plays.
  kill "$PID_n1"
  play "$URL_n2/play/$root" --timeout 15
  [ "$status" -eq 1 ]
  jq -e --arg u "$URL_n2" '.currentTime == 0 and .digm.bad == [] and .status == .digm.error
    and (.digm.error | startswith($u + " charges 0.001 XFG per MB, which this page cannot pay"))' <<<"$output"
}

@test "a live stream plays from its live edge through a relay, every head and chunk checked in the page" {
  start_node n2 --peer "$URL_n1"
  publish_live "$URL_n1"
  id=$(stream_id)
  eventually 10 eval '[ "$(digm-live ls --peer "$URL_n2" | jq -r .id)" = "$id" ]'
  play "$URL_n2/" --list
  [ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
  jq -e --arg id "$id" '.streams | any(.href == "/play/" + $id and (.text | contains("Friday set")))' <<<"$output"
  play "$URL_n2/play/$id" --seconds 2 --screenshot "$ARTIFACTS/web-player-live.png"
  [ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
  jq -e '.currentTime > 2 and .digm.live and .digm.verified >= 8 and .digm.error == null and .digm.mode == "mse"' <<<"$output"
  [[ "$(jq -r .status <<<"$output")" == "Live: "*"chunks verified (joined at chunk "* ]]
}

@test "a stream whose document was forged is refused by the page" {
  start_node n2
  publish_live "$URL_n1"
  id=$(stream_id)
  # n2 is told of a stream under that id whose title is not what was signed:
  # the liar answers /streams/ID itself.
  curl -sf "$URL_n1/streams/$id" | jq '.stream.title = "Forged set"' > forged.json
  start_liar "$URL_n1" flip 0 --reply "GET /streams/$id 200 forged.json"
  play "$URL_liar/play/$id" --timeout 10
  [ "$status" -eq 1 ]
  jq -e '.currentTime == 0 and (.digm.error | contains("does not hash to its id"))' <<<"$output"
}

@test "an encrypted live stream plays with #key= and shows an error without it" {
  publish_live "$URL_n1" --encrypt --key-out set.key
  id=$(stream_id)
  play "$URL_n1/play/$id" --timeout 10
  [ "$status" -eq 1 ]
  [[ "$(jq -r .digm.error <<<"$output")" == *"encrypted: open this page with #key=HEX"* ]]
  play "$URL_n1/play/$id#key=$(jq -r .key set.key)" --seconds 2
  [ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
  jq -e '.currentTime > 2 and .digm.live and .digm.verified >= 8 and .digm.error == null' <<<"$output"
}

@test "an ended stream's page plays its sealed track whole; a node without the track plays the stream from its start" {
  start_node n2
  digm-live publish "$FIX/set.mp3" --wallet "$FIX/dj.wallet" --node "$URL_n1" --node "$URL_n2" \
    --title "Friday set" -o sealed.json > live.out
  id=$(head -1 live.out | jq -r .id)
  root=$(jq -r .root sealed.json)
  chunks=$(jq '.chunks | length' sealed.json)
  play "$URL_n1/play/$id" --seconds 2 --until-done
  [ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
  jq -e --arg id "$id" --argjson n "$chunks" '.currentTime > 2 and .digm.sealed == $id
    and (.digm.live | not) and .digm.verified == $n and .digm.error == null' <<<"$output"
  # n2 no longer holds the track: the stream's own chunks, all of them.
  digm-seed rm "$root" --data n2 > /dev/null
  play "$URL_n2/play/$id" --seconds 2 --until-done
  [ "$status" -eq 0 ] || { echo "$output $stderr"; false; }
  jq -e --argjson n "$chunks" '.currentTime > 2 and .digm.live and .digm.verified == $n
    and .digm.error == null' <<<"$output"
  [[ "$(jq -r .status <<<"$output")" == "The stream has ended: $chunks chunks verified from chunk 0." ]]
  # A final head pointed at another track the node holds is not the publisher's.
  curl -sf "$URL_n1/streams/$id" | jq --arg r "$(jq -r .root "$FIX/mp3.json")" '.head.root = $r' > forged.json
  start_liar "$URL_n1" flip 0 --reply "GET /streams/$id 200 forged.json"
  play "$URL_liar/play/$id" --timeout 10
  [ "$status" -eq 1 ]
  jq -e '.currentTime == 0 and (.digm.error | contains("not signed by the stream'"'"'s publisher"))' <<<"$output"
}
