# Shared by the bats files: where the binaries are, and real audio made by sox.
bats_require_minimum_version 1.5.0

: "${DIGM_SRC:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${DIGM_BIN:=$DIGM_SRC/build/bin}"
PATH="$DIGM_BIN:$PATH"
source "$DIGM_SRC/scripts/common.sh"

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

# For setup_file: FIX, the file's own folder, and real audio (make_audio) in
# AUDIO.
file_fixture() {
  export AUDIO="$BATS_FILE_TMPDIR/audio" FIX="$BATS_FILE_TMPDIR"
  mkdir -p "$AUDIO"
  make_audio "$AUDIO"
}

# The secret of the artist's wallet the tests publish with.
ARTIST_SECRET=4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318

# True under make test SANITIZE=1: memory is then the sanitizers' (shadow
# memory, quarantine), so memory bounds are measured and shown but not held,
# and everything runs a few times slower.
sanitized() { [ -n "${DIGM_SANITIZED:-}" ]; }

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

# Flips the lowest bit of byte OFFSET of FILE in place (writing a fixed byte
# would change nothing when the file already holds it there).
flip_byte() {  # flip_byte FILE OFFSET
  python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 1]))' "$1" "$2"
}

# Fails with a message unless the two files have the same bytes.
assert_same_bytes() {
  cmp "$1" "$2" || { echo "$1 and $2 differ"; return 1; }
}

# --- nodes -------------------------------------------------------------------

# Starts a node on a free port of 127.0.0.1 (or at $LISTEN) with data in
# $BATS_TEST_TMPDIR/NAME (initialised on first use) and fast gossip (a silent
# peer forgotten after $PEER_TTL seconds, default 4). Sets
# URL_NAME and PID_NAME. Every node started is stopped by stop_nodes (call
# it in teardown).
start_node() {
  local name=$1; shift
  local dir="$BATS_TEST_TMPDIR/$name" url=""
  [ -d "$dir" ] || digm-seed init --data "$dir" > /dev/null
  : > "$dir.log"
  digm-seed serve --data "$dir" --listen "${LISTEN:-127.0.0.1:0}" --gossip-interval 1 --peer-ttl "${PEER_TTL:-4}" "$@" \
    2>> "$dir.log" &
  local pid=$!
  echo "$pid" >> "$BATS_TEST_TMPDIR/pids"
  url=$(node_url "$dir.log" "$pid") || { echo "node $name did not start"; cat "$dir.log"; return 1; }
  printf -v "URL_$name" '%s' "$url"
  printf -v "PID_$name" '%s' "$pid"
}

# A file system of SIZE (tmpfs) at folder DIR, made now, to fill up; the test
# is skipped where mounting is not allowed (not root). unmount_all undoes it.
small_disk() {  # small_disk DIR SIZE
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2" tmpfs "$1" 2> /dev/null || skip "cannot mount a tmpfs here (needs root)"
  echo "$(cd "$1" && pwd)" >> "$BATS_TEST_TMPDIR/mounts"
}

unmount_all() {
  [ -f "$BATS_TEST_TMPDIR/mounts" ] || return 0
  local m
  while read -r m; do umount "$m" || umount -l "$m" || true; done < "$BATS_TEST_TMPDIR/mounts"
  rm -f "$BATS_TEST_TMPDIR/mounts"
}

stop_nodes() {
  [ -f "$BATS_TEST_TMPDIR/pids" ] || return 0
  local pid
  while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done < "$BATS_TEST_TMPDIR/pids"
  while read -r pid; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
  done < "$BATS_TEST_TMPDIR/pids"
  rm -f "$BATS_TEST_TMPDIR/pids"
}

# Starts a lying proxy in front of node UPSTREAM (digm-test-liar: MODE flip,
# truncate, stall, ...; SHARE of answers it spoils; ARGS more of its options;
# a stall or delay lasts $LIAR_STALL seconds, default 3).
# Sets URL_liar and LIAR; stop_nodes stops it too.
start_liar() {  # start_liar UPSTREAM MODE SHARE [ARGS...]
  local up=$1 mode=$2 share=$3; shift 3
  digm-test-liar --upstream "$up" --mode "$mode" --share "$share" --stall "${LIAR_STALL:-3}" "$@" > liar.url &
  LIAR=$!
  echo "$LIAR" >> "$BATS_TEST_TMPDIR/pids"
  for _ in $(seq 100); do [ -s liar.url ] && break; sleep 0.05; done
  URL_liar=$(cat liar.url)
}

# Starts node NAME behind a lying proxy that is its public face: the node's
# --url is the proxy's, so the proxy passes on the node's proof of identity
# and its lies are the node's. start_liar's MODE SHARE [ARGS...] follow NAME;
# node options go in NODE_ARGS. Sets URL_liar, LIAR, URL_NAME, PID_NAME.
start_behind_liar() {  # start_behind_liar NAME MODE SHARE [ARGS...]
  local name=$1; shift
  local port
  port=$(free_port)
  start_liar "http://127.0.0.1:$port" "$@"
  LISTEN=127.0.0.1:$port start_node "$name" --url "$URL_liar" ${NODE_ARGS:-}
}

# json_holds JSON JQ-ARGS...: true when JSON is not empty and `jq -e JQ-ARGS` holds
# for it. `... | jq -e FILTER` alone is not that: jq -e exits 0 on empty
# input, so a request or tool that printed nothing would pass.
json_holds() {
  local json=$1
  shift
  [ -n "$json" ] && jq -e "$@" <<< "$json" > /dev/null
}

# json_at URL FILTER [JQ ARGS...]: true when URL answers 2xx with JSON for
# which FILTER holds.
json_at() {
  local body
  body=$(curl -sf "$1") || return 1
  json_holds "$body" "$2" "${@:3}"
}

# Retries a command every 0.2 s for up to $1 seconds.
eventually() {
  local seconds=$1; shift
  local end=$((SECONDS + seconds))
  until "$@"; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.2
  done
}

# A publisher wallet from a fixed secret (digm.wallet/1, mode 0600).
make_wallet() {
  printf '{"schema":"digm.wallet/1","secret":"%s"}\n' "$2" > "$1"
  chmod 600 "$1"
}

# True when node data folder $1 holds track $2 complete.
holds() {
  digm-seed ls --data "$1" | jq -se --arg r "$2" 'any(.[]; .root == $r and .complete)' > /dev/null
}

# --- a real receipt ------------------------------------------------------------

# In $FIX (from setup_file): the MP3 chunked and encrypted (mp3.json, mp3.key,
# chunks/), held by two nodes and fetched from both by listener.wallet, whose
# signed digm.receipt/1 is receipt.json. The nodes are stopped afterwards.
make_receipt_fixture() {
  file_fixture
  cd "$FIX"
  digm-chunk "$AUDIO/track.mp3" --chunk-size 16K --encrypt --key-out mp3.key --store chunks | digm-merkle seal > mp3.json
  make_wallet listener.wallet 0000000000000000000000000000000000000000000000000000000000000011
  BATS_TEST_TMPDIR=$FIX
  for n in n1 n2; do
    digm-seed init --data "$n" > /dev/null
    digm-seed add mp3.json --from chunks --data "$n" > /dev/null
    start_node "$n"
  done
  digm-fetch "$(jq -r .root mp3.json)" --peer "$URL_n1" --peer "$URL_n2" --key mp3.key --no-cache \
    -o got.mp3 --wallet listener.wallet --receipt receipt.json
  stop_nodes
  cmp got.mp3 "$AUDIO/track.mp3"
}

# --- a local EVM chain ----------------------------------------------------------

# Starts npm's ganache (installed by scripts/deps.sh test) on a free port of
# 127.0.0.1: chain id 98765, deterministic accounts, a block per transaction.
# Sets RPC and CHAIN_PID; stop_nodes stops it. Account 0's secret is BANK_SECRET.
# Arguments go to ganache.
BANK_SECRET=4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d
start_chain() {
  local ganache="$DIGM_SRC/tests/chain/node_modules/.bin/ganache" port
  [ -x "$ganache" ] || { echo "ganache is missing: run scripts/deps.sh test"; return 1; }
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 30000))
    "$ganache" --server.host 127.0.0.1 --server.port "$port" --chain.chainId 98765 \
      --wallet.deterministic --logging.quiet "$@" > "$BATS_TEST_TMPDIR/chain.log" 2>&1 &
    CHAIN_PID=$!
    echo "$CHAIN_PID" >> "$BATS_TEST_TMPDIR/pids"
    RPC=http://127.0.0.1:$port
    for _ in $(seq 150); do
      kill -0 "$CHAIN_PID" 2>/dev/null || break
      [ "$(rpc eth_chainId 2>/dev/null)" = 0x181cd ] && return 0
      sleep 0.2
    done
    kill -KILL "$CHAIN_PID" 2>/dev/null || true
  done
  echo "ganache did not start"; cat "$BATS_TEST_TMPDIR/chain.log"
  return 1
}

# rpc METHOD [JSON_PARAM...]: the JSON-RPC call's result (as JSON, strings bare).
rpc() {
  local method=$1; shift
  local params
  params=$(printf '%s\n' "$@" | jq -sc .)
  [ $# -gt 0 ] || params='[]'
  curl -sf --max-time 10 -H 'content-type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$method\",\"params\":$params}" "$RPC" |
    jq -r '.result'
}

# The balance of address $1 on the chain, in wei (decimal).
wei_of() {
  local hex
  hex=$(rpc eth_getBalance "\"$1\"" '"latest"')
  node -e "console.log(BigInt(process.argv[1]).toString())" "$hex"
}

# --- live streams --------------------------------------------------------------

# Publishes $FIX/set.mp3 at real time (ffmpeg -re) to the node at $1 in the
# background: its stdout in live.out, stderr in live.err, its pid in live.pid.
# Further arguments go to digm-live publish.
publish_live() {
  { ffmpeg -v error -re -i "$FIX/set.mp3" -c copy -f mp3 - \
      | digm-live publish - --wallet "$FIX/dj.wallet" --node "$1" --title "Friday set" \
          --artist "DJ Test" "${@:2}" > live.out 2> live.err & } 2>/dev/null
  echo $! > live.pid
}

# Waits (at most 10 s) until the stream's id is known; prints it.
stream_id() {
  for _ in $(seq 200); do
    [ -s live.out ] && { head -1 live.out | jq -r .id; return 0; }
    sleep 0.05
  done
  return 1
}
