#!/usr/bin/env bats
# digm-merkle: argument checks, seal/root/prove/verify, consistency, bad input.

load helpers

setup_file() {
  file_fixture
  digm-chunk "$AUDIO/track.flac" --chunk-size 16K --encrypt --key-out "$BATS_FILE_TMPDIR/k.key" \
    --store "$BATS_FILE_TMPDIR/s" | digm-merkle seal > "$BATS_FILE_TMPDIR/track.json"
  export TRACK="$BATS_FILE_TMPDIR/track.json"
}

setup() {
  cd "$BATS_TEST_TMPDIR"
}

# A clear manifest of n chunks whose hashes are the SPEC §3 vector leaves:
# leaf i = SHA-256(u8(i mod 256) ‖ u32be(i)).
vector_manifest() {
  local n=$1 i hashes=()
  for ((i = 0; i < n; i++)); do
    hashes+=("$(printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x\\x%02x' $((i % 256)) $((i >> 24 & 255)) \
      $((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255)))" | sha256sum | cut -c1-64)")
  done
  printf '%s\n' "${hashes[@]}" | jq -R . | jq -sc --argjson n "$n" '{
    schema: "digm.manifest/1", size: ($n * 16384), chunk_size: 16384,
    source: {sha256: ("00" * 32)}, media: {}, encryption: null,
    chunks: [.[] | select(length > 0) | {hash: ., size: 16384, plain: 16384, z: false}]}'
}

# --- argument checks ----------------------------------------------------------

@test "no subcommand is a usage error" {
  run --separate-stderr -2 digm-merkle
  [ -z "$output" ]
  [[ "$stderr" == *"digm-merkle: error:"* ]]
}

@test "an unknown subcommand is a usage error" {
  run --separate-stderr -2 digm-merkle frobnicate x
  [ -z "$output" ]
}

@test "prove needs --index" {
  run --separate-stderr -2 digm-merkle prove "$TRACK"
  [ -z "$output" ]
  [[ "$stderr" == *"--index"* ]]
}

@test "prove --index out of range" {
  n=$(jq '.chunks | length' "$TRACK")
  run --separate-stderr -2 digm-merkle prove "$TRACK" --index "$n"
  [ -z "$output" ]
  [[ "$stderr" == *"--index $n is out of range: the track has $n chunks"* ]]
}

@test "verify --root with bad hex is a usage error" {
  digm-merkle prove "$TRACK" --index 0 > p.json
  run --separate-stderr -2 digm-merkle verify p.json --root xyz
  [[ "$stderr" == *"--root: expected 64 hex characters, got 3"* ]]
}

@test "--help lists the subcommands" {
  run digm-merkle --help
  [ "$status" -eq 0 ]
  for c in seal root prove verify consistency verify-consistency; do [[ "$output" == *"$c"* ]]; done
}

# --- normal use -----------------------------------------------------------------

@test "the SPEC's root vectors, through the tool" {
  declare -A want=(
    [0]=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    [1]=e6114df3ffeea27e9db00b1c49b81d6d60abb7e5c22917cbdad371255f683402
    [2]=36d61d60895fc07eeae96222f2a1a5987cdb80312b0d46d631668ac986417b9f
    [3]=3b487a3f2c586ff30cf1d7e27e5fa8c46fcfce86a0c475729010c963e5068655
    [5]=64a659de247108a0f35e701576e2898309b7f2323e807963f3c60f3350ec129f)
  for n in 0 1 2 3 5; do
    [ "$(vector_manifest "$n" | digm-merkle root)" = "${want[$n]}" ]
  done
  vector_manifest 5 | digm-merkle seal | digm-merkle prove - --index 3 > p.json
  [ "$(jq -c .path p.json)" = '["2c9ba155881449aa8d9abbb06e8e12831dcb3df6b3a565416e7e118c0443020f","36d61d60895fc07eeae96222f2a1a5987cdb80312b0d46d631668ac986417b9f","dbfd74bd41718f921541c93998c72b85a32ce99609804757e4ab7d3168280e93"]' ]
}

@test "seal adds the root that root prints, and is idempotent" {
  digm-chunk "$AUDIO/track.wav" --chunk-size 16K > m.json
  [ "$(jq -r .root m.json)" = null ]
  digm-merkle seal m.json > s1.json
  [ "$(jq -r .root s1.json)" = "$(digm-merkle root m.json)" ]
  [ "$(jq -r 'keys_unsorted[0:2] | join(",")' s1.json)" = schema,root ]
  digm-merkle seal s1.json > s2.json
  cmp s1.json s2.json
  digm-merkle seal -o s3.json < m.json
  cmp s1.json s3.json
}

@test "seal keeps members it does not know" {
  digm-chunk "$AUDIO/track.wav" | jq -c '.x_label = "indie"' | digm-merkle seal > s.json
  [ "$(jq -r .x_label s.json)" = indie ]
}

@test "a proof for every index verifies, alone and against the expected root" {
  root=$(jq -r .root "$TRACK")
  n=$(jq '.chunks | length' "$TRACK")
  [ "$n" -gt 8 ]
  for ((i = 0; i < n; i++)); do
    digm-merkle prove "$TRACK" --index "$i" > p.json
    [ "$(jq .index p.json)" = "$i" ]
    [ "$(jq -r .leaf p.json)" = "$(jq -r ".chunks[$i].hash" "$TRACK")" ]
    digm-merkle verify p.json --root "$root"
  done
  digm-merkle prove "$TRACK" --index 7 | digm-merkle verify
}

@test "a tampered proof, or one for another root, exits 1" {
  digm-merkle prove "$TRACK" --index 2 > p.json
  jq -c '.path[0] |= (if .[0:1] == "0" then "1" else "0" end + .[1:])' p.json > bad.json
  run --separate-stderr -1 digm-merkle verify bad.json
  [ -z "$output" ]
  [[ "$stderr" == *"digm-merkle: error: the proof does not verify"* ]]
  jq -c '.index = 3' p.json > moved.json
  run -1 digm-merkle verify moved.json
  run --separate-stderr -1 digm-merkle verify p.json --root "$(printf 'ab%.0s' {1..32})"
  [[ "$stderr" == *"the proof verifies, but for root"* ]]
}

@test "consistency: a grown track extends the old one" {
  head -c $((16384 * 3)) "$AUDIO/track.wav" > old.wav
  digm-chunk old.wav --chunk-size 16K | digm-merkle seal > old.json
  digm-chunk "$AUDIO/track.wav" --chunk-size 16K | digm-merkle seal > new.json
  digm-merkle consistency old.json new.json > c.json
  [ "$(jq .size1 c.json)" = 3 ]
  [ "$(jq -r .root1 c.json)" = "$(jq -r .root old.json)" ]
  [ "$(jq -r .root2 c.json)" = "$(jq -r .root new.json)" ]
  digm-merkle verify-consistency c.json --root "$(jq -r .root new.json)"
  digm-merkle verify-consistency < c.json
  jq -c '.root1 = .root2' c.json > bad.json
  run -1 digm-merkle verify-consistency bad.json
}

@test "consistency: a track that does not extend the other exits 1" {
  head -c $((16384 * 3)) /dev/urandom > other.bin
  digm-chunk other.bin --chunk-size 16K > other.json
  digm-chunk "$AUDIO/track.wav" --chunk-size 16K > new.json
  run --separate-stderr -1 digm-merkle consistency other.json new.json
  [ -z "$output" ]
  [[ "$stderr" == *"does not extend the old one: chunk 0 differs"* ]]
  run -1 digm-merkle consistency new.json other.json
}

# --- bad input --------------------------------------------------------------------

@test "bad: seal refuses a root that disagrees with the chunks (exit 4)" {
  jq -c '.root = ("ab" * 32)' "$TRACK" > wrong.json
  run --separate-stderr -4 digm-merkle seal wrong.json -o out.json
  [ -z "$output" ]
  [[ "$stderr" == *"'wrong.json': root abab"*"does not match its chunks (computed "* ]]
  [ ! -e out.json ]
  run -4 digm-merkle root wrong.json
  run -4 digm-merkle prove wrong.json --index 0
}

@test "bad: a chunk hash changed under a sealed root (exit 4)" {
  jq -c '.chunks[1].hash = ("cd" * 32)' "$TRACK" > wrong.json
  run -4 digm-merkle root wrong.json
}

@test "bad: corrupt JSON" {
  head -c 100 "$TRACK" > cut.json
  run --separate-stderr -3 digm-merkle seal cut.json -o out.json
  [[ "$stderr" == *"reading 'cut.json': invalid JSON: line 1, column 101"* ]]
  [ ! -e out.json ]
  run --separate-stderr -3 digm-merkle root < /dev/null
  [[ "$stderr" == *"reading stdin: invalid JSON: empty input"* ]]
}

@test "bad: wrong schema on each subcommand" {
  run --separate-stderr -3 digm-merkle verify "$TRACK"
  [[ "$stderr" == *"expected a digm.proof document, got digm.manifest/1"* ]]
  digm-merkle prove "$TRACK" --index 0 > p.json
  run --separate-stderr -3 digm-merkle seal p.json
  [[ "$stderr" == *"expected a digm.manifest document, got digm.proof/1"* ]]
  run -3 digm-merkle verify-consistency p.json
}

@test "bad: a missing file" {
  run --separate-stderr -3 digm-merkle root none.json
  [[ "$stderr" == "digm-merkle: error: 'none.json': no such file" ]]
}

@test "bad: bad hex in a proof" {
  digm-merkle prove "$TRACK" --index 1 | jq -c '.path[0] = "nothex"' > p.json
  run --separate-stderr -3 digm-merkle verify p.json
  [[ "$stderr" == *"\"path[0]\": expected 64 hex characters, got 6"* ]]
  digm-merkle prove "$TRACK" --index 1 | jq -c '.root = 5' > p2.json
  run --separate-stderr -3 digm-merkle verify p2.json
  [[ "$stderr" == *"\"root\" must be a string, got number"* ]]
}

@test "bad: a manifest whose sizes do not add up" {
  jq -c 'del(.root) | .size = 1' "$TRACK" > m.json
  run --separate-stderr -3 digm-merkle seal m.json
  [[ "$stderr" == *"\"chunks\" has "*" entries, but size 1 in chunks of 16384 needs 1"* ]]
}
