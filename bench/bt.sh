#!/usr/bin/env bash
# BitTorrent against HTTP, in one run, on 127.0.0.1 only (no DHT, no tracker):
# a 256 MiB clear track on three digm-seed nodes, the first also seeding it
# over BitTorrent (--bittorrent). aria2c downloads it through digm's torrent,
# whose web seeds are the three nodes, against `aria2c -x3 -s3` of the same
# bytes from three nginx servers; digm-fetch takes it from a mixed set (the
# first node's swarm by magnet link, the other two over HTTP) against HTTP
# alone from all three (and from the two HTTP nodes alone, to show what the
# swarm adds); and the seeding node's peak RSS. The CPU seconds of
# digm-fetch and of the three nodes in each of its best runs are shown: on a
# machine where they share the cores, they bound the mixed fetch.
# Usage: bench/bt.sh [BIN_DIR]   (env: DIGM_BENCH_SIZE_MB=256)
source "$(dirname "$0")/lib.sh" "$@"
size_mb=${DIGM_BENCH_SIZE_MB:-256}
export PATH="$bin:$PATH"

echo "preparing a ${size_mb} MiB track on three nodes and three nginx servers..."
head -c $((size_mb << 20)) /dev/urandom > "$work/track.bin"
digm-chunk "$work/track.bin" --store "$work/chunks" -q | digm-merkle seal > "$work/track.json"
root=$(jq -r .root "$work/track.json")
bt_port=$(free_port)
urls=()
node_pids=()
for i in 1 2 3; do
  digm-seed init --data "$work/n$i" > /dev/null
  digm-seed add "$work/track.json" --from "$work/chunks" --data "$work/n$i" > /dev/null
  extra=()
  [ "$i" -eq 1 ] && extra=(--bittorrent --bt-listen "127.0.0.1:$bt_port")
  digm-seed serve --data "$work/n$i" --listen 127.0.0.1:0 --rate-limit 0 --gossip-interval 3600 \
    "${extra[@]}" 2> "$work/n$i.log" &
  pids+=($!)
  [ "$i" -eq 1 ] && seeder=$!
  node_pids+=($!)
  urls+=("$(node_url "$work/n$i.log" "$!")")
done
rm -rf "$work/chunks"
start_nginx_mirrors "$work/track.bin"
echo "waiting for node 1 to hash its torrent and seed it..."
for _ in $(seq 1200); do grep -q "bittorrent: seeding $root" "$work/n1.log" && break; sleep 0.1; done
grep -q "bittorrent: seeding $root" "$work/n1.log" || { cat "$work/n1.log"; exit 1; }
digm-seed torrent "$root" --data "$work/n1" --web-seed "${urls[0]}" --web-seed "${urls[1]}" \
  --web-seed "${urls[2]}" -o "$work/web.torrent" > /dev/null
magnet=$(digm-seed torrent "$root" --data "$work/n1" -o "$work/bare.torrent" | jq -r .magnet)

# CPU seconds the three nodes have used so far (user + system).
nodes_cpu() {
  local p ticks=0
  for p in "${node_pids[@]}"; do ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
# best_time VAR OUT CMD...: sets VAR to the best wall seconds of 3 runs of
# CMD, each checked against the track, then the CPU seconds of that run:
# CMD's and the nodes'. A run that does not write the track ends the bench.
best_time() {
  local -n result=$1
  local best="" cpu="" out=$2 t c0 c1 used
  shift 2
  for _ in 1 2 3; do
    rm -rf "$work/out" "$work/aria"
    sync
    c0=$(nodes_cpu)
    /usr/bin/time -o "$work/time" -f '%e %U %S' "$@" > /dev/null 2> "$work/err" || true
    c1=$(nodes_cpu)
    cmp -s "$out" "$work/track.bin" || { echo "bench: '$*' did not write the track:"; cat "$work/err"; exit 1; } >&2
    read -r t used <<< "$(awk '{ printf "%s %.2f", $1, $2 + $3 }' "$work/time")"
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$t
      cpu="$used $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')"
    fi
  done
  result="$best $cpu"
}

# aria2c in BitTorrent mode lingers about 2 s after the download completes
# before it exits (seed-time=0 is checked on its timer), so its torrent runs
# are timed to --on-bt-download-complete, which runs once every piece is
# verified and written; both times are printed.
cat > "$work/done.sh" <<'HOOK'
#!/bin/sh
date +%s.%N > "$DIGM_BT_DONE"
HOOK
chmod +x "$work/done.sh"
export DIGM_BT_DONE="$work/done.at"
# torrent_time VAR TORRENT: sets VAR to the best seconds to completion of 3
# aria2c runs of TORRENT, then the best to aria2c's exit.
torrent_time() {
  local -n result=$1
  local best="" exit_best="" t0 t e
  shift
  for _ in 1 2 3; do
    rm -rf "$work/aria" "$DIGM_BT_DONE"
    sync
    t0=$(date +%s.%N)
    "${aria[@]}" --enable-dht=false --bt-enable-lpd=false --enable-peer-exchange=false --seed-time=0 \
      --on-bt-download-complete="$work/done.sh" -d "$work/aria" "$1" > /dev/null 2>&1 || true
    e=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    cmp -s "$work/aria/track.bin" "$work/track.bin" || { echo "bench: aria2c $1 did not write the track"; exit 1; } >&2
    t=$(awk -v a="$t0" -v b="$(cat "$DIGM_BT_DONE")" 'BEGIN { printf "%.2f", b - a }')
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
    if [ -z "$exit_best" ] || awk -v a="$e" -v b="$exit_best" 'BEGIN { exit !(a < b) }'; then exit_best=$e; fi
  done
  result="$best $exit_best"
}

aria=(aria2c -q -x3 -s3 -k1M --allow-overwrite=true --file-allocation=none)
echo "downloading, best of 3 each..."
best_time r "$work/aria/track.bin" "${aria[@]}" -d "$work/aria" -o track.bin "${nginx_urls[@]}"
read -r t_nginx _ <<< "$r"
torrent_time r "$work/web.torrent"
read -r t_torrent t_torrent_exit <<< "$r"
best_time r "$work/out" digm-fetch "$root" --peer "${urls[0]}" --peer "${urls[1]}" --peer "${urls[2]}" \
  --no-cache -q -o "$work/out"
read -r t_http cpu_http nodes_http <<< "$r"
best_time r "$work/out" digm-fetch "$root" --peer "${urls[1]}" --peer "${urls[2]}" --no-cache -q \
  -o "$work/out"
read -r t_http2 cpu_http2 nodes_http2 <<< "$r"
# The same magnet link with a peer that refuses connections (port 1): the
# cost of the BitTorrent session itself, with the HTTP nodes doing all the work.
best_time r "$work/out" digm-fetch "$magnet&x.pe=127.0.0.1:1" --manifest "$work/track.json" \
  --peer "${urls[1]}" --peer "${urls[2]}" --no-cache -q -o "$work/out"
read -r t_idle cpu_idle nodes_idle <<< "$r"
best_time r "$work/out" digm-fetch "$magnet&x.pe=127.0.0.1:$bt_port" --manifest "$work/track.json" \
  --peer "${urls[1]}" --peer "${urls[2]}" --no-cache -q -o "$work/out"
read -r t_mixed cpu_mixed nodes_mixed <<< "$r"
best_time r "$work/out" digm-fetch "$magnet&x.pe=127.0.0.1:$bt_port" --manifest "$work/track.json" \
  --no-cache -q -o "$work/out"
read -r t_swarm cpu_swarm nodes_swarm <<< "$r"
# What the swarm delivered in a mixed fetch.
digm-pay wallet new -o "$work/l.wallet" > /dev/null
digm-fetch "$magnet&x.pe=127.0.0.1:$bt_port" --manifest "$work/track.json" --peer "${urls[1]}" \
  --peer "${urls[2]}" --no-cache -q -o "$work/out" --wallet "$work/l.wallet" --receipt "$work/r.json"
bt_share=$(jq '([.deliveries[] | select(.url | startswith("bt://")) | .bytes] | add // 0) * 100
  / ([.deliveries[].bytes] | add) | floor' "$work/r.json")
# With no byte from the swarm it was not a mixed fetch, and its figure says nothing.
[ "$bt_share" -gt 0 ] || { echo "bench: node 1's swarm delivered nothing in a mixed fetch:"; cat "$work/n1.log"; exit 1; } >&2
rss=$(( $(awk '/VmHWM/ { print $2 }' "/proc/$seeder/status") / 1024 ))
mbps() { awk -v s="$1" -v m="$size_mb" 'BEGIN { printf "%.0f", m / s }'; }

printf '\n%-58s %8s %8s %10s %10s\n' "${size_mb} MiB" seconds "MiB/s" "CPU fetch" "CPU nodes"
printf '%-58s %8s %8s\n' "aria2c -x3 -s3 from three nginx" "$t_nginx" "$(mbps "$t_nginx")"
printf '%-58s %8s %8s\n' "aria2c through digm's torrent (three nodes' web seeds)" "$t_torrent" "$(mbps "$t_torrent")"
printf '%-58s %8s\n' "  the same, to aria2c's exit" "$t_torrent_exit"
printf '%-58s %8s %8s %10s %10s\n' "digm-fetch, HTTP from three nodes" "$t_http" "$(mbps "$t_http")" \
  "$cpu_http" "$nodes_http"
printf '%-58s %8s %8s %10s %10s\n' "digm-fetch, HTTP from nodes 2 and 3 only" "$t_http2" "$(mbps "$t_http2")" \
  "$cpu_http2" "$nodes_http2"
printf '%-58s %8s %8s %10s %10s\n' "digm-fetch, a swarm that never answers + the same two" "$t_idle" \
  "$(mbps "$t_idle")" "$cpu_idle" "$nodes_idle"
printf '%-58s %8s %8s %10s %10s\n' "digm-fetch, node 1's swarm + two nodes over HTTP" "$t_mixed" \
  "$(mbps "$t_mixed")" "$cpu_mixed" "$nodes_mixed"
printf '%-58s %8s %8s %10s %10s\n' "digm-fetch, node 1's swarm alone" "$t_swarm" "$(mbps "$t_swarm")" \
  "$cpu_swarm" "$nodes_swarm"
echo "in a mixed fetch the swarm delivered ${bt_share}% of the bytes"
echo "mixed time / time from nodes 2 and 3 alone: $(ratio "$t_mixed" "$t_http2") (above 1: on these"
echo "  cores, the swarm's bytes cost more CPU than they add bandwidth)"
echo
r_torrent=$(ratio "$t_torrent" "$t_nginx")
r_mixed=$(ratio "$t_http" "$t_mixed")
printf '%-58s %6s  %s\n' "aria2c torrent time / aria2c nginx time (target <= 1.10)" "$r_torrent" "$(verdict "$r_torrent" 1.10 le)"
printf '%-58s %6s  %s\n' "mixed throughput / HTTP throughput     (target >= 0.90)" "$r_mixed" "$(verdict "$r_mixed" 0.90 ge)"
printf '%-58s %6s  %s\n' "peak RSS MiB of the seeding node       (target <= 100)" "$rss" "$(verdict "$rss" 100 le)"
