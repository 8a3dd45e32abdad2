#!/usr/bin/env bats
# digm-chunk: argument checks, normal use on real audio, pipelines, failure injection.

load helpers

setup_file() {
  file_fixture
}

setup() {
  cd "$BATS_TEST_TMPDIR"
}

# --- argument checks: exit 2, nothing on stdout -----------------------------

@test "no input is a usage error" {
  run --separate-stderr -2 digm-chunk
  [ -z "$output" ]
  [[ "$stderr" == *"digm-chunk: error: missing INPUT"* ]]
}

@test "an unknown flag is a usage error with a hint" {
  run --separate-stderr -2 digm-chunk "$AUDIO/track.wav" --bogus
  [ -z "$output" ]
  [[ "$stderr" == *"digm-chunk: error:"*"--bogus"* ]]
  [[ "$stderr" == *"digm-chunk: hint: try 'digm-chunk --help'"* ]]
}

@test "chunk sizes that are not a power of two from 16K to 16M are refused" {
  for cs in 100K 8K 32M abc 0; do
    run --separate-stderr -2 digm-chunk "$AUDIO/track.wav" --chunk-size "$cs"
    [ -z "$output" ]
    [[ "$stderr" == *"--chunk-size '$cs': expected a power of two from 16K to 16M"* ]]
  done
}

@test "--encrypt without a place for the key is refused" {
  run --separate-stderr -2 digm-chunk "$AUDIO/track.wav" --encrypt
  [ -z "$output" ]
  [[ "$stderr" == *"--encrypt needs somewhere to keep the key"* ]]
  [[ "$stderr" == *"hint: add --key-out FILE"* ]]
}

@test "--key and --key-out together are refused" {
  run --separate-stderr -2 digm-chunk "$AUDIO/track.wav" --key a.key --key-out b.key
  [ -z "$output" ]
  [[ "$stderr" == *"give only one"* ]]
}

@test "the key never goes to the manifest's output" {
  run --separate-stderr -2 digm-chunk "$AUDIO/track.wav" --key-out -
  [ -z "$output" ]
  [[ "$stderr" == *"--key-out must name a file of its own"* ]]
  run --separate-stderr -2 digm-chunk "$AUDIO/track.wav" --key-out m.json -o m.json
  [ ! -e m.json ]
}

@test "--preview-seconds needs --encrypt" {
  run --separate-stderr -2 digm-chunk "$AUDIO/track.wav" --preview-seconds 2
  [[ "$stderr" == *"--preview-seconds only applies to an encrypted track"* ]]
  run --separate-stderr -2 digm-chunk "$AUDIO/track.wav" --encrypt --key-out k.key --preview-seconds -1
  [[ "$stderr" == *"--preview-seconds: Value -1 not in range 0.000000 to 86400.000000"* ]]
  [ ! -e k.key ]
}

@test "an output that cannot be made is found before any chunk is stored" {
  run --separate-stderr -3 digm-chunk "$AUDIO/track.wav" --encrypt --key-out nodir/k --store st
  [[ "$stderr" == *"cannot create 'nodir/k'"* ]]
  [ ! -e st ] || [ -z "$(find st -type f)" ]
  run --separate-stderr -3 digm-chunk "$AUDIO/track.wav" --store st -o nodir/m.json
  [ ! -e st ] || [ -z "$(find st -type f)" ]
}

@test "--threads 0 is refused" {
  run --separate-stderr -2 digm-chunk "$AUDIO/track.wav" --threads 0
  [ -z "$output" ]
}

@test "an existing key file is never overwritten" {
  echo keep > k.key
  run --separate-stderr -2 digm-chunk "$AUDIO/track.wav" --encrypt --key-out k.key --store s
  [ -z "$output" ]
  [[ "$stderr" == *"'k.key' already exists"* ]]
  [ "$(cat k.key)" = keep ]
  [ ! -e s ]
}

@test "--help prints usage on stdout and exits 0" {
  run --separate-stderr digm-chunk --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--chunk-size"* ]]
  [ -z "$stderr" ]
}

# --- normal use on real audio ------------------------------------------------

@test "wav, mp3, flac and ogg: media metadata from the file" {
  run digm-chunk "$AUDIO/track.wav"
  [ "$(jq -r .media.format <<<"$output")" = wav ]
  [ "$(jq -r .media.sample_rate <<<"$output")" = 44100 ]
  [ "$(jq -r .media.channels <<<"$output")" = 2 ]
  [ "$(jq -r '.media.duration | floor' <<<"$output")" = 5 ]
  run digm-chunk "$AUDIO/track.mp3"
  [ "$(jq -r .media.mime <<<"$output")" = audio/mpeg ]
  [ "$(jq -r .media.bitrate <<<"$output")" = 192 ]
  run digm-chunk "$AUDIO/track.flac"
  [ "$(jq -r .media.format <<<"$output")" = flac ]
  [ "$(jq -r .media.title <<<"$output")" = "Test Tone" ]
  [ "$(jq -r .media.artist <<<"$output")" = digm ]
  [ "$(jq -r .source.name <<<"$output")" = track.flac ]
  [ "$(jq -r .source.sha256 <<<"$output")" = "$(sha256sum "$AUDIO/track.flac" | cut -c1-64)" ]
  run digm-chunk "$AUDIO/track.ogg"
  [ "$(jq -r .media.format <<<"$output")" = ogg ]
  [ "$(jq -r .media.mime <<<"$output")" = audio/ogg ]
  [ "$(jq -r .media.title <<<"$output")" = "Ogg Tone" ]
  [ "$(jq -r '.media.duration | floor' <<<"$output")" = 5 ]
}

@test "wav: RIFF INFO tags (title, artist, album) are read" {
  ffmpeg -v error -i "$AUDIO/track.wav" -metadata title="Wav Tone" -metadata artist="digm" \
    -metadata album="Fixtures" -c copy tagged.wav
  strings tagged.wav | grep -q INAM   # the tags are in a LIST INFO chunk
  run -0 digm-chunk tagged.wav
  jq -e '.media.format == "wav" and .media.title == "Wav Tone" and .media.artist == "digm"
    and .media.album == "Fixtures"' <<<"$output"
}

@test "every chunk file's sha256sum equals its name" {
  for f in track.wav track.mp3 track.flac; do
    digm-chunk "$AUDIO/$f" --chunk-size 16K --encrypt --key-out "$f.key" --store s > m.json
    n=$(jq '.chunks | length' m.json)
    [ "$n" -gt 1 ]
    for h in $(jq -r '.chunks[].hash' m.json); do
      [ "$(sha256sum "s/${h:0:2}/$h" | cut -c1-64)" = "$h" ]
    done
  done
  [ "$(find s -type f | wc -l)" -ge 3 ]
  (cd s && find . -type f | while read -r p; do echo "$(basename "$p")  $p"; done) > sums
  (cd s && sha256sum --quiet -c ../sums)
}

@test "encrypted and compressed chunks reassemble byte for byte" {
  for f in track.wav track.mp3 track.flac track.ogg; do
    digm-chunk "$AUDIO/$f" --chunk-size 32K --encrypt --key-out "$f.key" --compress --store s \
      | digm-merkle seal > "$f.json"
    [ "$(stat -c %a "$f.key")" = 600 ]
    digm-chunk --join "$f.json" --store s --key "$f.key" -o "$f.out"
    assert_same_bytes "$AUDIO/$f" "$f.out"
  done
  # The tone compresses, so at least one wav chunk is stored compressed.
  [ "$(jq '[.chunks[] | select(.z)] | length' track.wav.json)" -gt 0 ]
}

@test "clear chunks reassemble to stdout" {
  digm-chunk "$AUDIO/track.mp3" --store s > m.json
  [ "$(jq -r .encryption m.json)" = null ]
  digm-chunk --join m.json --store s > out.mp3
  assert_same_bytes "$AUDIO/track.mp3" out.mp3
}

@test "an empty input has no chunks and the empty root" {
  : > empty
  digm-chunk empty --encrypt --key-out e.key | digm-merkle seal > m.json
  [ "$(jq .size m.json)" = 0 ]
  [ "$(jq '.chunks | length' m.json)" = 0 ]
  [ "$(jq -r .root m.json)" = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ]
  digm-chunk --join m.json --store . --key e.key -o back
  [ ! -s back ] && [ -e back ]
}

@test "exactly one chunk, and one byte more" {
  head -c 16384 "$AUDIO/track.wav" > one
  head -c 16385 "$AUDIO/track.wav" > more
  run digm-chunk one --chunk-size 16K
  [ "$(jq '.chunks | length' <<<"$output")" = 1 ]
  [ "$(jq '.chunks[0].plain' <<<"$output")" = 16384 ]
  run digm-chunk more --chunk-size 16K --store s
  [ "$(jq '.chunks | length' <<<"$output")" = 2 ]
  [ "$(jq '.chunks[1].plain' <<<"$output")" = 1 ]
  [ "$(jq -r '.chunks[1].hash' <<<"$output")" = "$(tail -c 1 more | sha256sum | cut -c1-64)" ]
}

@test "stdin input gives the same chunks as the file" {
  digm-chunk "$AUDIO/track.flac" --chunk-size 16K | jq -c .chunks > from-file
  cat "$AUDIO/track.flac" | digm-chunk - --chunk-size 16K > from-pipe.json
  jq -c .chunks from-pipe.json > from-pipe
  cmp from-file from-pipe
  [ "$(jq -r .media.format from-pipe.json)" = flac ]
  [ "$(jq -r .source.name from-pipe.json)" = null ]
  digm-chunk - --name t.flac < "$AUDIO/track.flac" > redirected.json
  [ "$(jq -r .media.title redirected.json)" = "Test Tone" ]
  [ "$(jq -r .source.name redirected.json)" = t.flac ]
}

@test "the manifest does not depend on the thread count" {
  a=$(digm-chunk "$AUDIO/track.wav" --chunk-size 16K --compress --threads 1)
  b=$(digm-chunk "$AUDIO/track.wav" --chunk-size 16K --compress --threads 7)
  [ "$a" = "$b" ]
}

@test "-o writes the manifest atomically and the store deduplicates" {
  digm-chunk "$AUDIO/track.wav" --store s -o m1.json
  before=$(find s -type f | wc -l)
  digm-chunk "$AUDIO/track.wav" --store s -o m2.json
  [ "$(find s -type f | wc -l)" = "$before" ]
  cmp m1.json m2.json
  assert_no_leftovers .
}

@test "-o onto a device or a pipe writes to it and never replaces it" {
  mkfifo pipe
  cat pipe > from-pipe.json &
  digm-chunk "$AUDIO/track.mp3" -o pipe
  wait
  [ "$(jq -r .schema from-pipe.json)" = digm.manifest/1 ]
  [ -p pipe ]
  digm-chunk "$AUDIO/track.mp3" -o /dev/null
  [ -c /dev/null ]
}

@test "a key file is reused with --key, with a fresh nonce prefix" {
  digm-chunk "$AUDIO/track.mp3" --encrypt --key-out k.key > a.json
  digm-chunk "$AUDIO/track.mp3" --key k.key --store s > b.json
  [ "$(jq -r .encryption.key_id a.json)" = "$(jq -r .encryption.key_id b.json)" ]
  [ "$(jq -r .encryption.nonce_prefix a.json)" != "$(jq -r .encryption.nonce_prefix b.json)" ]
  digm-chunk --join b.json --store s --key k.key -o out
  assert_same_bytes "$AUDIO/track.mp3" out
}

@test "preview chunks open with the manifest's preview key alone" {
  digm-chunk "$AUDIO/track.wav" --chunk-size 16K --encrypt --key-out k.key \
    --preview-seconds 1 --store s > m.json
  n=$(jq .encryption.preview.chunks m.json)
  total=$(jq '.chunks | length' m.json)
  # 1 s of 5 s is a fifth of the chunks, rounded up.
  [ "$n" -eq $(( (total + 4) / 5 )) ] || [ "$n" -eq $(( total / 5 + 1 )) ]
  [ "$(jq -r .encryption.preview.key m.json | wc -c)" = 65 ]
  run --separate-stderr -2 digm-chunk --join m.json --store s
  [[ "$stderr" == *"the track is encrypted: give its key with --key FILE"* ]]
  digm-chunk --join m.json --store s --key k.key -o out
  assert_same_bytes "$AUDIO/track.wav" out
}

@test "a file that is not audio is still chunked" {
  head -c 50000 /dev/urandom > data.bin
  run --separate-stderr digm-chunk data.bin --chunk-size 16K
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  [ "$(jq -r .media.mime <<<"$output")" = application/octet-stream ]
  [ "$(jq '.chunks | length' <<<"$output")" = 4 ]
}

@test "pipeline: chunk | seal matches the golden manifest" {
  # A deterministic input: clear chunks and the manifest are reproducible.
  yes "digm golden input" | head -c 100000 > golden.bin
  digm-chunk golden.bin --chunk-size 16K | digm-merkle seal > got.json
  diff "$DIGM_SRC/tests/golden/golden.manifest.json" got.json
}

@test "--progress draws on stderr only; --quiet silences it" {
  run --separate-stderr digm-chunk "$AUDIO/track.wav" --progress
  [[ "$stderr" == *"digm-chunk: ["* ]]
  jq -e .chunks <<<"$output" >/dev/null
  run --separate-stderr digm-chunk "$AUDIO/track.wav" --progress --quiet
  [ -z "$stderr" ]
}

# --- bad input: clear message, documented exit code, no partial output -------

@test "bad: a missing file" {
  run --separate-stderr -3 digm-chunk nope.wav -o m.json
  [ -z "$output" ]
  [[ "$stderr" == "digm-chunk: error: 'nope.wav': no such file" ]]
  [ ! -e m.json ]
}

@test "bad: a directory" {
  mkdir d
  run --separate-stderr -3 digm-chunk d -o m.json
  [[ "$stderr" == *"'d' is a directory, expected a file"* ]]
  [ ! -e m.json ]
}

@test "bad: an unreadable file" {
  d=$(nobody_dir)
  cd "$d"
  cp "$AUDIO/track.wav" open.wav && chmod 644 open.wav
  cp "$AUDIO/track.wav" secret.wav && chmod 000 secret.wav
  as_nobody "$DIGM_BIN/digm-chunk" open.wav > /dev/null   # the same user can read a readable one
  run --separate-stderr -3 as_nobody "$DIGM_BIN/digm-chunk" secret.wav -o m.json
  [[ "$stderr" == *"cannot open 'secret.wav': Permission denied"* ]]
  [ ! -e m.json ]
  cd / && rm -rf "$d"
}

@test "bad: an unwritable store leaves no manifest" {
  d=$(nobody_dir)
  cd "$d"
  cp "$AUDIO/track.wav" t.wav && chmod 644 t.wav
  mkdir ro && chmod 555 ro
  run --separate-stderr -3 as_nobody "$DIGM_BIN/digm-chunk" t.wav --store ro/s -o m.json
  [[ "$stderr" == *"cannot create store 'ro/s': Permission denied"* ]]
  [ ! -e m.json ]
  cd / && rm -rf "$d"
}

@test "bad: --store names a regular file" {
  touch notadir
  run --separate-stderr -3 digm-chunk "$AUDIO/track.wav" --store notadir
  [ -z "$output" ]
  [[ "$stderr" == *"store 'notadir' is not a directory"* ]]
}

@test "bad: -o into a missing folder or onto a folder" {
  run --separate-stderr -3 digm-chunk "$AUDIO/track.wav" -o no/such/m.json
  [[ "$stderr" == *"cannot create 'no/such/m.json'"* ]]
  mkdir out
  run --separate-stderr -3 digm-chunk "$AUDIO/track.wav" -o out
  [[ "$stderr" == *"'out' is a directory"* ]]
  assert_no_leftovers .
}

@test "bad: the key file is missing" {
  run --separate-stderr -3 digm-chunk "$AUDIO/track.wav" --key none.key
  [ -z "$output" ]
  [[ "$stderr" == *"'none.key': no such file"* ]]
}

@test "bad: a key file others can read is refused" {
  digm-chunk "$AUDIO/track.wav" --encrypt --key-out k.key > /dev/null
  chmod 644 k.key
  run --separate-stderr -3 digm-chunk "$AUDIO/track.wav" --key k.key -o m.json
  [[ "$stderr" == *"'k.key' is accessible by others (mode 0644); a secret file must be mode 0600"* ]]
  [ ! -e m.json ]
}

@test "bad: a key file of the wrong schema" {
  echo '{"schema":"digm.wallet/1"}' > k.key && chmod 600 k.key
  run --separate-stderr -3 digm-chunk "$AUDIO/track.wav" --key k.key
  [[ "$stderr" == *"expected a digm.key document, got digm.wallet/1"* ]]
}

@test "bad: a damaged key file (key and key_id disagree)" {
  digm-chunk "$AUDIO/track.wav" --encrypt --key-out k.key > /dev/null
  jq -c '.key = ("00" * 32)' k.key > k2.key && chmod 600 k2.key
  run --separate-stderr -3 digm-chunk "$AUDIO/track.wav" --key k2.key
  [[ "$stderr" == *"is not the id of this key"*"the key file is damaged"* ]]
}

@test "bad: --preview-seconds on a file with no known duration" {
  head -c 40000 /dev/urandom > data.bin
  run --separate-stderr -3 digm-chunk data.bin --encrypt --key-out k.key --preview-seconds 2 -o m.json
  [[ "$stderr" == *"a preview needs the track's duration, which is unknown for 'data.bin'"* ]]
  [ ! -e m.json ] && [ ! -e k.key ]
}

@test "bad: join with the wrong key" {
  digm-chunk "$AUDIO/track.mp3" --encrypt --key-out a.key --store s > m.json
  digm-chunk "$AUDIO/track.mp3" --encrypt --key-out b.key > /dev/null
  run --separate-stderr -4 digm-chunk --join m.json --store s --key b.key -o out
  [[ "$stderr" == *"wrong key: the key's id is"* ]]
  [ ! -e out ]
  assert_no_leftovers .
}

@test "bad: join with a corrupted chunk leaves no output" {
  digm-chunk "$AUDIO/track.flac" --chunk-size 16K --encrypt --key-out k.key --store s > m.json
  h=$(jq -r '.chunks[3].hash' m.json)
  flip_byte "s/${h:0:2}/$h" 100
  run --separate-stderr -4 digm-chunk --join m.json --store s --key k.key -o out
  [[ "$stderr" == *"chunk 3: hash mismatch"* ]]
  [ ! -e out ]
  assert_no_leftovers .
}

@test "bad: join with a chunk missing from the store" {
  digm-chunk "$AUDIO/track.mp3" --chunk-size 16K --store s > m.json
  h=$(jq -r '.chunks[1].hash' m.json)
  rm "s/${h:0:2}/$h"
  run --separate-stderr -3 digm-chunk --join m.json --store s -o out
  [[ "$stderr" == *"chunk $h is not in 's'"* ]]
  [ ! -e out ]
}

@test "bad: join with a truncated (corrupt) manifest" {
  digm-chunk "$AUDIO/track.mp3" --store s | head -c 200 > m.json
  run --separate-stderr -3 digm-chunk --join m.json --store s -o out
  [[ "$stderr" == *"reading 'm.json': invalid JSON: line 1, column"* ]]
  [ ! -e out ]
}

@test "bad: join with a document of the wrong schema" {
  echo '{"schema":"digm.proof/1","root":"00"}' > p.json
  run --separate-stderr -3 digm-chunk --join p.json --store .
  [[ "$stderr" == *"expected a digm.manifest document, got digm.proof/1"* ]]
}

@test "bad: join with bad hex in a chunk hash" {
  digm-chunk "$AUDIO/track.mp3" --store s | jq -c '.chunks[0].hash = "zz"' > m.json
  run --separate-stderr -3 digm-chunk --join m.json --store s
  [ -z "$output" ]
  [[ "$stderr" == *"\"chunks[0].hash\": expected 64 hex characters, got 2"* ]]
}

@test "bad: join with a manifest whose root disagrees with its chunks" {
  digm-chunk "$AUDIO/track.mp3" --store s | digm-merkle seal | jq -c '.root = ("ab" * 32)' > m.json
  run --separate-stderr -4 digm-chunk --join m.json --store s -o out
  [[ "$stderr" == *"does not match its chunks"* ]]
  [ ! -e out ]
}

@test "bad: a manifest from a newer version" {
  digm-chunk "$AUDIO/track.mp3" --store s | jq -c '.schema = "digm.manifest/2"' > m.json
  run --separate-stderr -3 digm-chunk --join m.json --store s
  [[ "$stderr" == *"digm.manifest/2 is newer than this tool reads (digm.manifest/1)"* ]]
}

@test "bad: --join without --store, or with an INPUT" {
  run --separate-stderr -2 digm-chunk --join m.json
  [[ "$stderr" == *"--join needs --store DIR"* ]]
  run --separate-stderr -2 digm-chunk x.wav --join m.json --store s
  [[ "$stderr" == *"--join takes no INPUT"* ]]
}

@test "interrupted: SIGINT exits 130 and leaves no partial output" {
  mkfifo slow
  ( exec 3>slow; head -c 100000 /dev/urandom >&3; sleep 5 ) &
  writer=$!
  digm-chunk slow --store s -o m.json 2>err &
  pid=$!
  sleep 0.5
  kill -INT "$pid"
  set +e; wait "$pid"; rc=$?; set -e
  kill "$writer" 2>/dev/null || true
  wait "$writer" 2>/dev/null || true
  [ "$rc" -eq 130 ]
  [ ! -e m.json ]
  assert_no_leftovers .
  [ -z "$(find s -name '*.tmp-*' 2>/dev/null)" ]
}
