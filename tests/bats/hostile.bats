#!/usr/bin/env bats
# Hostile peers on 127.0.0.1: poisoned requests and replies (deep JSON,
# numbers out of range, wrong types, endless bodies), connection floods and
# held bodies. No process may die of them, and memory stays bounded.

load helpers

setup_file() {
  file_fixture
  make_wallet "$FIX/artist.wallet" "$ARTIST_SECRET"
  digm-chunk "$AUDIO/track.mp3" --chunk-size 16K --store "$FIX/chunks" | digm-merkle seal > "$FIX/mp3.json"
}

setup() {
  cd "$BATS_TEST_TMPDIR"
}

teardown() {
  stop_nodes
}

# Starts tests/tools/hostile.py MODE; sets URL_hostile.
start_hostile() {
  python3 "$DIGM_SRC/tests/tools/hostile.py" "$1" --lifetime 120 > hostile.url &
  echo $! >> "$BATS_TEST_TMPDIR/pids"
  for _ in $(seq 100); do [ -s hostile.url ] && break; sleep 0.05; done
  URL_hostile=$(cat hostile.url)
}

# The peak resident memory of process $1 so far, in MiB.
peak_mib() {
  awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$1/status"
}

@test "request bodies nested 200,000 deep or holding 1e400 get 400, and the node lives" {
  start_node a
  root=$(jq -r .root "$FIX/mp3.json")
  python3 -c 'print("{\"peer\":" + "[" * 200000 + "]" * 200000 + "}")' > deep.json
  python3 -c 'print("{\"manifest\":" + "{\"a\":" * 200000 + "1" + "}" * 200000 + ",\"pin\":{}}")' > deep-track.json
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @deep.json "$URL_a/discover")" = 400 ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @deep-track.json "$URL_a/tracks/$root")" = 400 ]
  for body in '{"peer":{"schema":"digm.peer/1","seen":1e400}}' '{"peer":1e400}'; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d "$body" "$URL_a/discover")" = 400 ]
  done
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"schema":"digm.challenge/1","root":"x","offset":1e400}' "$URL_a/audit")" = 400 ]
  kill -0 "$PID_a"
  curl -sf "$URL_a/ping" > /dev/null
}

@test "a node gossiping with a peer whose replies are poison goes on serving" {
  for mode in deep huge-number endless; do
    start_hostile "$mode"
    start_node "a_${mode//-/_}" --peer "$URL_hostile"
    pid_var="PID_a_${mode//-/_}"; url_var="URL_a_${mode//-/_}"
    sleep 3   # three gossip rounds
    kill -0 "${!pid_var}"
    curl -sf "${!url_var}/ping" > /dev/null
    sanitized || [ "$(peak_mib "${!pid_var}")" -lt 200 ]
  done
}

@test "digm-fetch and digm-audit read poisoned replies as a failed peer, never crash" {
  root=$(jq -r .root "$FIX/mp3.json")
  for mode in deep huge-number; do
    start_hostile "$mode"
    run --separate-stderr digm-fetch "$root" --peer "$URL_hostile" --no-cache -o out.mp3
    [ "$status" -eq 5 ] || { echo "$mode: $status $stderr"; false; }
    [ ! -e out.mp3 ]
    run --separate-stderr digm-fetch "$FIX/mp3.json" --peer "$URL_hostile" --no-cache -o out.mp3
    [ "$status" -eq 5 ] || { echo "$mode: $status $stderr"; false; }
    run --separate-stderr digm-audit run --db audit.db --mode retrieve --manifest "$FIX/mp3.json" --peer "$URL_hostile"
    [ "$status" -eq 1 ] || { echo "$mode: $status $stderr"; false; }
    jq -se 'map(select(.schema == "digm.audit/1")) | length == 1 and (.[0].ok | not)' <<<"$output"
  done
}

@test "an endless reply cannot grow digm-fetch: bodies are bounded by what is expected" {
  start_hostile endless
  # 300 MB and more of /peers and chunk bodies, as fast as loopback goes.
  # (Address space is capped too, but not under ASan, whose shadow needs terabytes of it.)
  ( sanitized || ulimit -v 1500000; exec digm-fetch "$FIX/mp3.json" --peer "$URL_hostile" --no-cache --timeout 3 -o out.mp3 ) 2> err &
  pid=$!
  peak=0
  while kill -0 "$pid" 2>/dev/null; do
    p=$(peak_mib "$pid" 2>/dev/null || echo 0); [ "${p:-0}" -gt "$peak" ] && peak=$p
    sleep 0.1
  done
  set +e; wait "$pid"; rc=$?; set -e
  echo "peak ${peak} MiB, exit $rc: $(cat err)"
  [ "$rc" -eq 5 ]
  sanitized || [ "$peak" -lt 100 ]
  [ ! -e out.mp3 ]
}

@test "publish to a node that answers {\"missing\":[1]} fails clearly (exit 5)" {
  printf '{"root":"x","missing":[1]}' > missing.json
  start_behind_liar a flip 0 --reply "PUT /tracks 201 missing.json"
  run --separate-stderr digm-seed publish "$FIX/mp3.json" --from "$FIX/chunks" --node "$URL_liar" \
    --wallet "$FIX/artist.wallet" --replicas 1
  [ "$status" -eq 5 ]
  [[ "$stderr" == *"unexpected reply"* ]]
  # A node that cannot prove who it is gets no pin at all.
  start_hostile missing-int
  run --separate-stderr digm-seed publish "$FIX/mp3.json" --from "$FIX/chunks" --node "$URL_hostile" \
    --wallet "$FIX/artist.wallet" --replicas 1
  [ "$status" -eq 4 ]
  [[ "$stderr" == *"does not prove who it is"* ]]
}

@test "a peer's words in an error are shown, not obeyed: control characters are escaped" {
  # Clear the screen, retitle the terminal, and return to overwrite the line.
  printf '{"error":"\\u001b[2J\\u001b]0;owned\\u0007\\rall is well"}' > esc.json
  start_behind_liar a flip 0 --reply "PUT /tracks 500 esc.json"
  run -5 --separate-stderr digm-seed publish "$FIX/mp3.json" --from "$FIX/chunks" --node "$URL_liar" \
    --wallet "$FIX/artist.wallet" --replicas 1
  [[ "$stderr" == *'refused the track (500): \x1b[2J\x1b]0;owned\x07\x0dall is well'* ]]
  run -1 grep -q $'[\x1b\x07\r]' <<<"$stderr"
}

@test "replication to a peer that answers {\"missing\":[1]} is logged, and the node goes on" {
  printf '{"root":"x","missing":[1]}' > missing.json
  start_node a
  # Node b is reached through the liar: its signed record names the liar's URL.
  NODE_ARGS="--peer $URL_a" start_behind_liar b flip 0 --reply "PUT /tracks 201 missing.json"
  knows_b() { [ "$(curl -sf "$URL_a/peers" | jq length)" = 1 ]; }
  eventually 20 knows_b
  digm-seed publish "$FIX/mp3.json" --from "$FIX/chunks" --node "$URL_a" --wallet "$FIX/artist.wallet" --replicas 2 > /dev/null
  eventually 20 grep -q 'replication of .*unexpected reply' a.log
  sleep 2
  kill -0 "$PID_a"
  curl -sf "$URL_a/ping" > /dev/null
}

@test "slowloris: 2,100 trickling connections from one address leave others served" {
  start_node a --header-timeout 30 --idle-timeout 60
  port=${URL_a##*:}
  # The attacker comes from 127.0.0.2, the listener from 127.0.0.1.
  python3 - "$port" > flood.log 2>&1 <<'PY' &
import resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
socks = []
for _ in range(2100):
    try:
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", int(sys.argv[1])))
        s.send(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    except OSError:
        pass
print("open", len(socks), flush=True)
time.sleep(20)
PY
  flood=$!
  echo "$flood" >> "$BATS_TEST_TMPDIR/pids"
  eventually 20 grep -q '^open' flood.log
  served=0
  for _ in $(seq 10); do curl -sf --max-time 3 "$URL_a/ping" > /dev/null && served=$((served + 1)); done
  echo "served $served of 10; $(cat flood.log)"
  [ "$served" = 10 ]
}

@test "unauthenticated uploads are refused on their headers: held bodies cost no memory" {
  start_node a
  before=$(awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$PID_a/status")
  port=${URL_a##*:}
  # 40 uploads of 31 MiB that no pin covers: headers and 1 MiB of body, then held.
  python3 - "$port" > held.log <<'PY'
import socket, sys
codes = []
socks = []
for i in range(40):
    s = socket.socket()
    s.connect(("127.0.0.1", int(sys.argv[1])))
    h = "%064x" % (i + 1)
    s.sendall(b"PUT /content/" + h.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 32505856\r\n\r\n")
    try:
        s.sendall(b"\0" * (1 << 20))
    except OSError:
        pass
    s.settimeout(5)
    codes.append(s.recv(64).split(b" ")[1].decode())
    socks.append(s)
print(" ".join(codes))
PY
  after=$(awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$PID_a/status")
  echo "codes: $(cat held.log); RSS $before -> $after MiB"
  [ "$(tr ' ' '\n' < held.log | sort -u)" = 403 ]
  sanitized || [ $((after - before)) -lt 50 ]
}

@test "a flood of self-signed peers that all prove their keys fills a bounded table" {
  PEER_TTL=300 start_node a --rate-limit 0
  # 2,300 keys on 20 hosts of their own, each key answering for itself.
  digm-test-flood "$URL_a" 2300 20 30 > flood.out &
  echo $! >> "$BATS_TEST_TMPDIR/pids"
  eventually $(sanitized && echo 300 || echo 60) grep -q sent flood.out
  settled() { [ "$(digm-seed peers --data a | jq length)" -ge 1000 ]; }
  eventually 40 settled || true
  n=$(digm-seed peers --data a | jq length)
  per_host=$(digm-seed peers --data a | jq '[.[].url | capture("//(?<h>[^:/]+)").h] | group_by(.) | map(length) | max')
  reply=$(curl -s -X POST -d '{"peer":{}}' "$URL_a/discover" | wc -c)
  echo "$(cat flood.out): table $n peers, at most $per_host per host; a /discover reply is $reply bytes"
  [ "$n" -le 1024 ] && [ "$per_host" -le 64 ]
  [ "$reply" -lt 200000 ]
  # The record dated 2100 was refused: no peer is seen in the future.
  run -0 --separate-stderr digm-seed peers --data a
  json_holds "$output" --arg now "$(date -u -d '+10 min' +%Y-%m-%dT%H:%M:%SZ)" 'all(.[]; .seen <= $now)'
  curl -sf "$URL_a/ping" > /dev/null
}
