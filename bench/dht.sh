#!/usr/bin/env bash
# Discovery on a private DHT of five digm-seed nodes on 127.0.0.1, a track held
# by two: the time from `digm-fetch ROOT --dht` starting to the first node found
# and to the complete file, against the same fetch given the two nodes with
# --peer (what the DHT costs on top). Medians of DIGM_BENCH_RUNS runs.
# Usage: bench/dht.sh [BIN_DIR]   (env: DIGM_BENCH_RUNS=15, DIGM_BENCH_DHT_MB=16)
source "$(dirname "$0")/lib.sh" "$@"
runs=${DIGM_BENCH_RUNS:-15}
size_mb=${DIGM_BENCH_DHT_MB:-16}
export PATH="$bin:$PATH"

start_node() {  # start_node NAME ARGS...: sets NODE_URL and NODE_DHT
  local d="$work/$1"; shift
  digm-seed serve --data "$d" --listen 127.0.0.1:0 --gossip-interval 3600 \
    --dht --dht-listen 127.0.0.1:0 --dht-announce-interval 60 "$@" 2> "$d.log" &
  pids+=($!)
  NODE_URL=$(node_url "$d.log" "$!")
  NODE_DHT=$(dht_endpoint "$d.log" "$!")
}

median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "preparing a ${size_mb} MiB track on two of five nodes in a private DHT..."
head -c $((size_mb << 20)) /dev/urandom > "$work/track.bin"
digm-chunk "$work/track.bin" --store "$work/chunks" -q | digm-merkle seal > "$work/t.json"
root=$(jq -r .root "$work/t.json")
for n in n0 n1 n2 n3 n4; do digm-seed init --data "$work/$n" > /dev/null; done
for n in n2 n4; do digm-seed add "$work/t.json" --from "$work/chunks" --data "$work/$n" > /dev/null; done
start_node n0 --dht-bootstrap none
boot=$NODE_DHT
holders=()
for n in n1 n2 n3 n4; do
  start_node "$n" --dht-bootstrap "$boot"
  case $n in n2|n4) holders+=(--peer "$NODE_URL") ;; esac
done
# Wait until both holders are announced.
for _ in $(seq 60); do
  [ "$(digm-fetch "$root" --dht --dht-bootstrap "$boot" --dht-timeout 2 --list-peers 2> /dev/null | wc -l)" -ge 2 ] && break
  sleep 0.5
done

: > "$work/first"; : > "$work/dht"; : > "$work/peer"; found2=0
for _ in $(seq "$runs"); do
  rm -f "$work/out"
  t=$(seconds digm-fetch "$root" --dht --dht-bootstrap "$boot" --no-cache -o "$work/out" 2> "$work/err") ||
    { echo "dht fetch failed"; cat "$work/err"; exit 1; }
  cmp -s "$work/out" "$work/track.bin" || { echo "dht fetch differs"; cat "$work/err"; exit 1; }
  echo "$t" >> "$work/dht"
  sed -n 's/.*(the first after \([0-9.]*\) s).*/\1/p' "$work/err" >> "$work/first"
  grep -q "dht: 2 nodes" "$work/err" && found2=$((found2 + 1))
  rm -f "$work/out"
  seconds digm-fetch "$root" "${holders[@]}" --no-cache -o "$work/out" >> "$work/peer"
  echo >> "$work/peer"
  cmp -s "$work/out" "$work/track.bin" || { echo "peer fetch differs"; exit 1; }
done
first=$(median < "$work/first")
dht=$(median < "$work/dht")
peer=$(sed '/^$/d' "$work/peer" | median)
printf '%-58s %8s s\n' "--dht: start to the first node found (median of $runs)" "$first"
printf '%-58s %8s s\n' "--dht: start to the complete ${size_mb} MiB file" "$dht"
printf '%-58s %8s s\n' "--peer (both holders given): the complete file" "$peer"
printf '%-58s %8s s\n' "what the DHT lookup adds" "$(awk -v a="$dht" -v b="$peer" 'BEGIN { printf "%.3f", a - b }')"
printf '%-58s %8s\n' "runs in which the lookup found both holders" "$found2/$runs"
