#!/usr/bin/env bash
# Live streams on 127.0.0.1: glass-to-glass latency and many listeners.
#  1. A feeder writes 32-byte records, each holding the time it was written,
#     at 192 kbit/s into `digm-live publish` (a chunk every 250 ms) to node 1;
#     `digm-fetch ID --live` listens on node 2, which relays the stream from
#     node 1; each record's latency is the time it reached the listener's
#     output minus the time it was written. Targets: p50 <= 0.5 s, p95 <= 1.0 s.
#  2. The same with 1,000 listeners at once on node 2 (long-polling the head
#     and fetching each new chunk; bench/live_load.py, each from a loopback
#     address of its own), while the measured listener of part 1 keeps
#     listening. Targets: no errors, node RSS <= 100 MiB, p95 <= 1.5 s.
# Latencies are measured at whole records: each includes up to 250 ms of
# waiting for its chunk to close, as a player's would.
# Usage: bench/live.sh [BIN_DIR]   (env: DIGM_BENCH_LIVE_S=20, DIGM_BENCH_LISTENERS=1000)
source "$(dirname "$0")/lib.sh" "$@"
seconds=${DIGM_BENCH_LIVE_S:-20}
listeners=${DIGM_BENCH_LISTENERS:-1000}
rate=24000  # bytes per second: 192 kbit/s
export PATH="$bin:$PATH"
load="python3 $here/live_load.py"

start_node() {  # start_node NAME [ARGS...]: starts a node, sets NODE_URL and NODE_PID
  local name=$1; shift
  digm-seed init --data "$work/$name" > /dev/null
  digm-seed serve --data "$work/$name" --listen 127.0.0.1:0 --gossip-interval 1 "$@" \
    2> "$work/$name.log" &
  pids+=($!)
  NODE_PID=$!
  NODE_URL=$(node_url "$work/$name.log" "$!")
}

# quantiles FILE: p50 p95 max of the nanosecond values in FILE, in seconds.
quantiles() {
  sort -n "$1" | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "none none none"; exit }
    i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
    i95 = int(NR * 0.95); if (i95 < 1) i95 = 1
    printf "%.3f %.3f %.3f\n", v[i50] / 1e9, v[i95] / 1e9, v[NR] / 1e9 }'
}

# run_stream TAG SECONDS [LOAD]: one stream published to node 1 and heard on
# node 2 through its relay; with LOAD, $listeners more listeners on node 2.
run_stream() {
  local tag=$1 secs=$2 with_load=${3:-}
  digm-pay wallet new -o "$work/$tag.wallet" > /dev/null
  { $load feed $rate "$secs" |
      digm-live publish - --wallet "$work/$tag.wallet" --node "$url1" --title "bench $tag" -q \
        > "$work/$tag.live" 2> "$work/$tag.publish.log" & } 2> /dev/null
  local publisher=$!
  pids+=($publisher)
  local id=""
  for _ in $(seq 100); do
    [ -s "$work/$tag.live" ] && id=$(head -1 "$work/$tag.live" | jq -r .id) && break
    sleep 0.1
  done
  [ -n "$id" ] || { echo "the publisher did not start"; cat "$work/$tag.publish.log"; exit 1; }
  for _ in $(seq 100); do  # node 2 hears of it by gossip
    digm-live ls --peer "$url2" 2> /dev/null | grep -q "$id" && break
    sleep 0.1
  done
  digm-fetch "$id" --live --peer "$url2" -q -o - 2> "$work/$tag.fetch.log" |
    $load read > "$work/$tag.lat" &
  local reader=$!
  pids+=($reader)
  if [ -n "$with_load" ]; then
    sleep 1
    $load listeners "$url2" "$id" "$listeners" $((secs - 3)) > "$work/$tag.load.lat" \
      2> "$work/$tag.load.log" &
    local crowd=$!
    pids+=($crowd)
    wait "$crowd" || true
  fi
  wait "$publisher" || { echo "the publisher failed"; cat "$work/$tag.publish.log"; exit 1; }
  wait "$reader" || true
  # The first second after joining is the catch-up from the live edge.
  tail -n +$((rate / 32)) "$work/$tag.lat" > "$work/$tag.steady.lat"
  # Latencies of nothing would read as 0 s, and pass.
  [ -s "$work/$tag.steady.lat" ] || { echo "the listener heard nothing"; cat "$work/$tag.fetch.log"; exit 1; }
  if [ -n "$with_load" ] && [ ! -s "$work/$tag.load.lat" ]; then
    echo "the $listeners listeners heard nothing"; cat "$work/$tag.load.log"; exit 1
  fi
}

echo "two nodes on 127.0.0.1; node 2 relays the streams of node 1"
start_node n1
url1=$NODE_URL
start_node n2 --peer "$url1"
url2=$NODE_URL
pid2=$NODE_PID
for _ in $(seq 100); do
  [ "$(curl -sf "$url2/peers" | jq length)" = 1 ] && break
  sleep 0.1
done

echo "1. one listener through the relay, ${seconds} s at 192 kbit/s, a chunk every 250 ms"
run_stream one "$seconds"
read -r p50 p95 max < <(quantiles "$work/one.steady.lat")
echo "   records: $(wc -l < "$work/one.steady.lat")"
echo "   glass-to-glass p50 ${p50} s (target <= 0.5: $(verdict "$p50" 0.5 le)), p95 ${p95} s (target <= 1.0: $(verdict "$p95" 1.0 le)), max ${max} s"

echo "2. ${listeners} more listeners on node 2 at once, $((seconds + 10)) s"
run_stream many $((seconds + 10)) load
read -r p50 p95 max < <(quantiles "$work/many.steady.lat")
read -r l50 l95 lmax < <(quantiles "$work/many.load.lat")
errors=$(sed -n 's/^errors //p' "$work/many.load.log")
rss_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid2/status")
rss=$((rss_kb / 1024))
echo "   the measured listener: p50 ${p50} s, p95 ${p95} s (target <= 1.5: $(verdict "$p95" 1.5 le)), max ${max} s"
echo "   the ${listeners} listeners: $(wc -l < "$work/many.load.lat") sampled records, p50 ${l50} s, p95 ${l95} s (target <= 1.5: $(verdict "$l95" 1.5 le)), max ${lmax} s"
echo "   errors: ${errors:-?} (target 0: $(verdict "${errors:-1}" 0 le))"
echo "   node 2 peak RSS: ${rss} MiB (target <= 100: $(verdict "$rss" 100 le))"
