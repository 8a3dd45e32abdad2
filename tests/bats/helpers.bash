# Shared by the bats files: where the binaries are, and real audio made by sox.
bats_require_minimum_version 1.5.0

: "${DIGM_SRC:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${DIGM_BIN:=$DIGM_SRC/build/bin}"
PATH="$DIGM_BIN:$PATH"

# Makes track.{wav,mp3,flac,ogg} (5 s of tone then noise; flac and ogg tagged) in $1.
make_audio() {
  local d=$1
  sox -n -r 44100 -c 2 -b 16 "$d/tone.wav" synth 3 sine 440 vol 0.5
  sox -n -r 44100 -c 2 -b 16 "$d/noise.wav" synth 2 whitenoise vol 0.3
  sox "$d/tone.wav" "$d/noise.wav" "$d/track.wav"
  sox "$d/track.wav" --comment "" -C 192 "$d/track.mp3"
  sox "$d/track.wav" --comment "TITLE=Test Tone" --add-comment "ARTIST=digm" \
      --add-comment "ALBUM=Fixtures" "$d/track.flac"
  sox "$d/track.wav" --comment "TITLE=Ogg Tone" "$d/track.ogg"
  rm -f "$d/tone.wav" "$d/noise.wav"
}

# Runs as an unprivileged user when we are root, so permission checks bite.
as_nobody() {
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
  else
    "$@"
  fi
}

# A folder every user can reach, for tests that run as nobody; the caller
# removes it.
nobody_dir() {
  local d
  d=$(mktemp -d /tmp/digm-nobody.XXXXXX)
  chmod 777 "$d"
  echo "$d"
}

# Asserts that directory $1 holds no file named like a temp or partial output.
assert_no_leftovers() {
  local left
  left=$(find "$1" -maxdepth 1 -name '*.tmp-*' -o -maxdepth 1 -name '*.join-*')
  [ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

# Fails with a message unless the two files have the same bytes.
assert_same_bytes() {
  cmp "$1" "$2" || { echo "$1 and $2 differ"; return 1; }
}
