#!/usr/bin/env bats
# digm-live against a real node on 127.0.0.1: an MP3 published at real time
# (ffmpeg -re) reaches the node chunk by chunk, byte for byte; the directory
# lists it while it runs and not after; SIGTERM ends it cleanly, kill -9
# leaves it to go stale; a publisher the node does not allow is refused; the
# ended stream is sealed as a track every node stores (and a buyer of the
# stream id opens); gc removes streams silent for a day (a killed publisher's
# chunks go; an ended stream stays while its sealed track does, and its id
# plays it whole); each lie a publisher or
# impostor tells is refused.

load helpers

bats_require_minimum_version 1.5.0

setup_file() {
  file_fixture
  make_wallet "$FIX/dj.wallet" "$ARTIST_SECRET"
  sox -n -r 44100 -c 2 "$FIX/set.wav" synth 4 sine 440 2>/dev/null
  ffmpeg -v error -i "$FIX/set.wav" -c:a libmp3lame -b:a 128k "$FIX/set.mp3"
  digm-chunk "$FIX/set.mp3" -e --key-out "$FIX/other.key" -o /dev/null
}

setup() {
  cd "$BATS_TEST_TMPDIR"
}

teardown() {
  [ -f live.pid ] && kill -KILL "$(cat live.pid)" 2>/dev/null || true
  stop_nodes
}

@test "a stream published at real time is listed while it runs, stored byte for byte, and ended" {
  start_node n1
  publish_live "$URL_n1"
  id=$(stream_id)
  run -0 digm-live ls --peer "$URL_n1"
  [ "$(jq -r .id <<<"$output")" = "$id" ]
  [ "$(jq -r .stream.title <<<"$output")" = "Friday set" ]
  [ "$(digm-live ls --peer "$URL_n1" --query dj | jq -r .id)" = "$id" ]
  [ -z "$(digm-live ls --peer "$URL_n1" --query sunday)" ]
  wait "$(cat live.pid)"
  ended=$(tail -1 live.out)
  [ "$(jq -r .schema <<<"$ended")" = "digm.live-ended/1" ]
  chunks=$(jq -r .chunks <<<"$ended")
  [ "$chunks" -gt 4 ]   # cut every 250 ms of input, not at the end
  [ -z "$(digm-live ls --peer "$URL_n1")" ]
  [ "$(curl -sf "$URL_n1/streams/$id/head" | jq -r .ended)" = true ]
  for i in $(seq 0 $((chunks - 1))); do curl -sf "$URL_n1/streams/$id/$i"; done > got.mp3
  [ "$(sha256sum < got.mp3 | cut -d' ' -f1)" = "$(jq -r .source_sha256 <<<"$ended")" ]
  ffmpeg -v error -i "$FIX/set.mp3" -c copy -f mp3 - > sent.mp3
  cmp got.mp3 sent.mp3
  ffmpeg -v error -i got.mp3 -f null -
  # The log's proofs hold between any two sizes.
  curl -sf "$URL_n1/streams/$id/consistency?from=2&to=$chunks" > c.json
  run -0 digm-merkle verify-consistency c.json
}

@test "SIGTERM ends a stream cleanly; kill -9 leaves it to go stale" {
  start_node n1 --stale-after 2
  publish_live "$URL_n1"
  id=$(stream_id)
  sleep 0.5
  kill -TERM "$(cat live.pid)"
  rc=0
  wait "$(cat live.pid)" || rc=$?
  [ "$rc" -eq 0 ]   # the final head went out; not the 143 of a killed tool
  [ "$(curl -sf "$URL_n1/streams/$id/head" | jq -r .ended)" = true ]
  [ -z "$(digm-live ls --peer "$URL_n1")" ]
  : > live.out
  publish_live "$URL_n1"
  id2=$(stream_id)
  [ "$id2" != "$id" ]   # a stream begun again within the second is a new stream
  sleep 0.5
  kill -KILL "$(cat live.pid)"
  [ "$(digm-live ls --peer "$URL_n1" | jq -r .id)" = "$id2" ]
  sleep 3.5   # stale after 2 s; last_heard counts whole seconds
  [ -z "$(digm-live ls --peer "$URL_n1")" ]
}

@test "gc removes streams silent for a day and the chunks only they name; an ended stream stays with its sealed track" {
  start_node n1
  publish_live "$URL_n1" -o set.json
  sealed=$(stream_id)
  wait "$(cat live.pid)"
  root=$(jq -r .root set.json)
  # Another set, whose publisher is killed: never sealed, no track holds its chunks.
  sox -n -r 44100 -c 2 other.wav synth 4 sine 550 2>/dev/null
  ffmpeg -v error -i other.wav -c:a libmp3lame -b:a 128k other.mp3
  : > live.out
  { ffmpeg -v error -re -i other.mp3 -c copy -f mp3 - \
      | digm-live publish - --wallet "$FIX/dj.wallet" --node "$URL_n1" > live.out 2> live.err & } 2>/dev/null
  echo $! > live.pid
  killed=$(stream_id)
  for _ in $(seq 100); do
    [ "$(curl -sf "$URL_n1/streams/$killed/head" | jq -r '.size // 0')" -ge 2 ] && break
    sleep 0.1
  done
  kill -KILL "$(cat live.pid)"
  only=$(comm -23 <(sqlite3 n1/index.db "SELECT hash FROM stream_chunks WHERE id = '$killed'" | sort) \
    <(jq -r '.chunks[].hash' set.json | sort))
  [ -n "$only" ]
  run -0 digm-seed gc --data n1
  jq -e '.removed == [] and .streams == []' <<<"$output"
  # A day later: the killed one goes; the ended one stays with its sealed track.
  sqlite3 n1/index.db "UPDATE streams SET last_heard = last_heard - 86401"
  run -0 digm-seed gc --data n1
  jq -e --arg b "$killed" '.removed == [] and .streams == [$b]' <<<"$output"
  for h in $only; do [ ! -e "n1/chunks/${h:0:2}/$h" ]; done
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL_n1/streams/$killed/0")" = 404 ]
  ffmpeg -v error -i "$FIX/set.mp3" -c copy -f mp3 - > sent.mp3
  digm-fetch "$root" --peer "$URL_n1" --no-cache -o got.mp3
  cmp got.mp3 sent.mp3
  # Its id still names the recording: --live on an ended stream writes it whole.
  curl -sf "$URL_n1/streams/$sealed" | jq -e --arg r "$root" '.head.ended and .head.root == $r'
  digm-fetch "$sealed" --live --peer "$URL_n1" -q -o heard.mp3
  cmp heard.mp3 sent.mp3
  # Without --live the id is taken for a track's root: the error says what to add.
  run --separate-stderr -5 digm-fetch "$sealed" --peer "$URL_n1" -o wrong.mp3
  [[ "$stderr" == *"hint: $sealed is a live stream's id, not a track's root: add --live"* ]]
  [ ! -e wrong.mp3 ]
  # And the other way round: a track's root given to --live.
  run --separate-stderr -5 digm-fetch "$root" --live --peer "$URL_n1" -o wrong.mp3
  [[ "$stderr" == *"hint: $root is a track's root, not a live stream's id: drop --live"* ]]
  [ ! -e wrong.mp3 ]
  run -0 digm-seed fsck --data n1
  jq -e .clean <<<"$output"
  # The sealed track removed, the stream goes at the next gc, with its chunks.
  digm-seed rm "$root" --data n1 > /dev/null
  run -0 digm-seed gc --data n1
  jq -e --arg a "$sealed" '.streams == [$a]' <<<"$output"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL_n1/streams/$sealed")" = 404 ]
  [ "$(sqlite3 n1/index.db 'SELECT count(*) FROM chunks')" = 0 ]
  run -0 digm-seed fsck --data n1
  jq -e .clean <<<"$output"
}

@test "a node that does not allow the publisher refuses the stream; usage errors exit 2" {
  digm-pay wallet new -o other.wallet > /dev/null
  start_node n1 --allow-publisher "$(digm-pay wallet show other.wallet | awk '/^address/ {print $2}')"
  run --separate-stderr -5 digm-live publish "$FIX/set.mp3" --wallet "$FIX/dj.wallet" --node "$URL_n1"
  [[ "$stderr" == *"may not publish on this node"* ]]
  run --separate-stderr -2 digm-live publish "$FIX/set.mp3" --wallet "$FIX/dj.wallet"
  run --separate-stderr -2 digm-live publish "$FIX/set.mp3" --wallet "$FIX/dj.wallet" --node "$URL_n1" --encrypt
  [[ "$stderr" == *"--key-out"* ]]
  run --separate-stderr -5 digm-live ls --peer "http://127.0.0.1:$(free_port)"
}

@test "the ended stream is an ordinary sealed track: -o writes its manifest, every node stores it" {
  start_node n1
  start_node n2
  publish_live "$URL_n1" --node "$URL_n2" -o set.json --store chunks
  id=$(stream_id)
  [ ! -e set.json ]   # it appears only once the stream is sealed
  wait "$(cat live.pid)"
  ended=$(tail -1 live.out)
  root=$(jq -r .root <<<"$ended")
  [ "$(jq -r '.stored_on | length' <<<"$ended")" -eq 2 ]
  jq -e --arg r "$root" --arg id "$id" \
    '.root == $r and .stream == $id and .media.title == "Friday set" and .media.format == "mp3"' set.json
  [ "$(digm-merkle root set.json)" = "$root" ]
  [ "$(jq -r .source.sha256 set.json)" = "$(jq -r .source_sha256 <<<"$ended")" ]
  ffmpeg -v error -i "$FIX/set.mp3" -c copy -f mp3 - > sent.mp3
  for n in "$URL_n1" "$URL_n2"; do
    digm-fetch "$root" --peer "$n" --no-cache -o got.mp3
    cmp got.mp3 sent.mp3
    rm got.mp3
  done
  json_at "$URL_n2/tracks/$root" '.stream == $id' --arg id "$id"
  # Audited and settled as any track: the publisher kept every chunk (--store).
  digm-chunk --join set.json --store chunks -o joined.mp3
  cmp joined.mp3 sent.mp3
  digm-pay wallet new -o auditor.wallet > /dev/null
  digm-audit prepare set.json --from chunks --db audit.db > /dev/null
  run -0 digm-audit run --db audit.db --peer "$URL_n1" --peer "$URL_n2" --wallet auditor.wallet --quiet
  [ "$(jq -s '[.[] | select(.schema == "digm.audit/1" and .ok)] | length' <<<"$output")" -eq 2 ]
  digm-pay wallet new -o listener.wallet > /dev/null
  digm-fetch "$root" --peer "$URL_n1" --peer "$URL_n2" --no-cache -o /dev/null \
    --wallet listener.wallet --receipt r.json
  export DIGM_LEDGER="$BATS_TEST_TMPDIR/ledger.db"
  digm-pay deposit --to "$(jq -r .listener r.json)" --amount 1 > /dev/null
  run -0 digm-pay settle r.json --price-per-mb 0.01
  [ -n "$output" ]
}

@test "an encrypted stream: the key plays it live and opens the sealed track; a grant on the stream id does both for a buyer" {
  start_node n1
  export DIGM_LEDGER="$BATS_TEST_TMPDIR/ledger.db"
  digm-pay wallet new -o buyer.wallet > /dev/null
  digm-pay wallet identity buyer.wallet -o buyer.id
  digm-pay deposit --to "$(jq -r .address buyer.id)" --amount 3 > /dev/null
  publish_live "$URL_n1" --encrypt --key-out set.key -o set.json
  id=$(stream_id)
  run -1 digm-pay grant "$id" --key set.key --to buyer.id   # not bought yet
  digm-pay purchase "$id" --buyer buyer.wallet --artist "$(head -1 live.out | jq -r .stream.publisher)" --price 2 > /dev/null
  digm-pay grant "$id" --key set.key --to buyer.id -o buyer.wk
  # While it runs: the key plays it, and so does the buyer's wrapped key.
  digm-fetch "$id" --live --from-start --peer "$URL_n1" --key set.key -q -o live.mp3 &
  with_key=$!
  digm-fetch "$id" --live --from-start --peer "$URL_n1" --wrapped buyer.wk --wallet buyer.wallet -q -o bought-live.mp3 &
  with_grant=$!
  run --separate-stderr -2 digm-fetch "$id" --live --peer "$URL_n1" -o none.mp3
  run --separate-stderr -4 digm-fetch "$id" --live --from-start --peer "$URL_n1" --key "$FIX/other.key" -o wrong.mp3
  [ ! -e none.mp3 ] && [ ! -e wrong.mp3 ]
  wait "$(cat live.pid)"
  wait "$with_key"
  wait "$with_grant"
  ffmpeg -v error -i "$FIX/set.mp3" -c copy -f mp3 - > sent.mp3
  cmp live.mp3 sent.mp3
  cmp bought-live.mp3 sent.mp3
  # Sealed: the same key opens the track; without one it is a usage error, a wrong one exit 4.
  root=$(jq -r .root set.json)
  [ "$(jq -r .encryption.key_id set.json)" = "$(jq -r .key_id set.key)" ]
  digm-fetch "$root" --peer "$URL_n1" --key set.key --no-cache -o got.mp3
  cmp got.mp3 sent.mp3
  run --separate-stderr -2 digm-fetch "$root" --peer "$URL_n1" --no-cache -o clear.mp3
  [ ! -e clear.mp3 ]
  run --separate-stderr -4 digm-fetch "$root" --peer "$URL_n1" --key "$FIX/other.key" --no-cache -o wrong.mp3
  [ ! -e wrong.mp3 ]
  digm-fetch "$root" --peer "$URL_n1" --wrapped buyer.wk --wallet buyer.wallet --no-cache -o bought.mp3
  cmp bought.mp3 sent.mp3
}

@test "publish -o: an unwritable path fails before the stream starts; -o - is a usage error" {
  start_node n1
  run --separate-stderr -3 digm-live publish "$FIX/set.mp3" --wallet "$FIX/dj.wallet" --node "$URL_n1" -o no/such/dir/set.json
  [ -z "$output" ]   # no stream was announced
  [ -z "$(curl -sf "$URL_n1/streams" | jq -r '.[].id')" ]
  run --separate-stderr -2 digm-live publish "$FIX/set.mp3" --wallet "$FIX/dj.wallet" --node "$URL_n1" -o -
  run --separate-stderr -3 digm-live publish /dev/null --wallet "$FIX/dj.wallet" --node "$URL_n1" -o empty.json
  [[ "$stderr" == *"the input was empty"* ]]
  [ ! -e empty.json ]
}

@test "hostile: each lie to a node is refused with its status and nothing of it is stored" {
  start_node n1
  digm-pay wallet new -o other.wallet > /dev/null
  run -0 digm-test-stream-liar --wallet "$FIX/dj.wallet" --other other.wallet --node "$URL_n1"
  status_of() { jq -r --arg l "$1" 'select(.lie == $l) | .status' <<<"$output"; }
  [ "$(status_of forged-announce)" = 403 ]    # a document its signer did not sign
  [ "$(status_of other-signer)" = 403 ]       # a head another wallet signed
  [ "$(status_of inconsistent-root)" = 409 ]  # a root that rewrites the stored log
  [ "$(status_of not-the-leaf)" = 409 ]       # bytes that are not the head's new leaf
  [ "$(status_of size-back)" = 409 ]          # a head of an earlier size
  [ "$(status_of time-back)" = 409 ]          # a head of an earlier time
  [ "$(status_of forged-heartbeat)" = 403 ]   # a signature that is not the publisher's
  [ "$(status_of other-end)" = 403 ]          # an end another wallet signed
  id=$(jq -r 'select(.id) | .id' <<<"$output")
  # What the node holds is the honest prefix, still live: no lie's bytes, no lie's head.
  json_at "$URL_n1/streams/$id/head" '.size == 3 and .ended == false'
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL_n1/streams/$id/3")" = 404 ]
  for h in $(jq -r 'select(.hash) | .hash' <<<"$output" | sort -u); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL_n1/content/$h")" = 404 ]
  done
  [ "$(digm-live ls --peer "$URL_n1" | jq -r .head.size)" = 3 ]
  [ "$(digm-live ls --peer "$URL_n1" | jq -r .stream.title)" = "Honest set" ]
}

@test "SIGTERM answers a waiting head long-poll at once, and the node stops without waiting it out" {
  start_node n1
  digm-pay wallet new -o other.wallet > /dev/null
  id=$(digm-test-stream-liar --wallet "$FIX/dj.wallet" --other other.wallet --node "$URL_n1" | jq -r 'select(.id) | .id')
  curl -s -o poll.json -w '%{http_code}' "$URL_n1/streams/$id/head?after=3&wait=30" > poll.code &
  poll=$!
  sleep 0.5
  kill -TERM "$PID_n1"
  start=$SECONDS
  wait "$poll"
  for _ in $(seq 60); do kill -0 "$PID_n1" 2>/dev/null || break; sleep 0.05; done
  ! kill -0 "$PID_n1" 2>/dev/null   # not the 10 s drain of a poll left waiting
  [ $((SECONDS - start)) -le 3 ]
  [ "$(cat poll.code)" = 200 ]
  jq -e '.size == 3' poll.json > /dev/null   # the head as it stood
}
