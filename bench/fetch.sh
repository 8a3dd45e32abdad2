#!/usr/bin/env bash
# digm-fetch against aria2c, in one run, on 127.0.0.1 only: a 256 MiB track
# held by three digm-seed nodes, and the same bytes as one file on three nginx
# servers fetched with `aria2c -x3 -s3`; then time to the first byte on stdout,
# and peak RSS for 256 MiB and 2 GiB tracks.
# Usage: bench/fetch.sh [BIN_DIR]   (env: DIGM_BENCH_SIZE_MB=256, DIGM_BENCH_BIG_MB=2048)
source "$(dirname "$0")/lib.sh" "$@"
size_mb=${DIGM_BENCH_SIZE_MB:-256}
big_mb=${DIGM_BENCH_BIG_MB:-2048}
export PATH="$bin:$PATH"

start_node() {  # start_node DIR: starts a node, sets NODE_URL
  digm-seed serve --data "$1" --listen 127.0.0.1:0 --rate-limit 0 --gossip-interval 3600 2> "$1.log" &
  pids+=($!)
  NODE_URL=$(node_url "$1.log" "$!")
}

echo "preparing a ${size_mb} MiB track on three nodes and three nginx servers..."
head -c $((size_mb << 20)) /dev/urandom > "$work/track.bin"
digm-chunk "$work/track.bin" --store "$work/chunks" -q | digm-merkle seal > "$work/clear.json"
digm-chunk "$work/track.bin" --store "$work/chunks" -q --encrypt --key-out "$work/k.key" | digm-merkle seal > "$work/enc.json"
urls=()
for i in 1 2 3; do
  digm-seed init --data "$work/n$i" > /dev/null
  digm-seed add "$work/clear.json" --from "$work/chunks" --data "$work/n$i" > /dev/null
  digm-seed add "$work/enc.json" --from "$work/chunks" --data "$work/n$i" > /dev/null
  start_node "$work/n$i"
  urls+=("$NODE_URL")
done
start_nginx_mirrors "$work/track.bin"
peers=(--peer "${urls[0]}" --peer "${urls[1]}" --peer "${urls[2]}")
clear_root=$(jq -r .root "$work/clear.json")
enc_root=$(jq -r .root "$work/enc.json")

best_time() {  # best wall seconds of 3 runs of a command
  local best=""
  for _ in 1 2 3; do
    rm -f "$work/out"
    sync  # the last run's output must not be written back during this one
    /usr/bin/time -o "$work/time" -f '%e %M' "$@" > /dev/null 2>&1
    read -r t _ < "$work/time"
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
  done
  echo "$best"
}

echo "fetching, best of 3..."
t_aria=$(best_time aria2c -q -x3 -s3 -k1M --allow-overwrite=true --file-allocation=none -d "$work" -o out "${nginx_urls[@]}")
cmp "$work/out" "$work/track.bin"
t_clear=$(best_time digm-fetch "$clear_root" "${peers[@]}" --no-cache -q -o "$work/out")
cmp "$work/out" "$work/track.bin"
t_enc=$(best_time digm-fetch "$enc_root" "${peers[@]}" --key "$work/k.key" --no-cache -q -o "$work/out")
cmp "$work/out" "$work/track.bin"

# Time to the first byte on stdout.
first_byte() {
  local start end
  start=$(date +%s%N)
  digm-fetch "$clear_root" "${peers[@]}" --no-cache -q -o - 2>/dev/null | head -c 1 > /dev/null
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}
fb=$(for _ in 1 2 3; do first_byte; done | sort -n | head -n 1)

/usr/bin/time -o "$work/time" -f '%M' digm-fetch "$clear_root" "${peers[@]}" --no-cache -q -o "$work/out"
rss=$(( $(cat "$work/time") / 1024 ))
rm -f "$work/out" "$work/www/track.bin"

echo "a ${big_mb} MiB track on one node, for memory..."
head -c $((big_mb << 20)) /dev/urandom | digm-chunk - --store "$work/bigchunks" -q | digm-merkle seal > "$work/big.json"
digm-seed init --data "$work/nb" > /dev/null
digm-seed add "$work/big.json" --from "$work/bigchunks" --data "$work/nb" > /dev/null
rm -rf "$work/bigchunks"
start_node "$work/nb"
big_url=$NODE_URL
/usr/bin/time -o "$work/time" -f '%M' digm-fetch "$(jq -r .root "$work/big.json")" --peer "$big_url" --no-cache -q -o - > /dev/null
rss_big=$(( $(cat "$work/time") / 1024 ))

printf '\n%-52s %10s\n' "${size_mb} MiB, three sources" seconds
printf '%-52s %10s\n' "aria2c -x3 -s3 from three nginx" "$t_aria"
printf '%-52s %10s\n' "digm-fetch, clear, verified" "$t_clear"
printf '%-52s %10s\n' "digm-fetch, encrypted, verified and decrypted" "$t_enc"
echo
printf '%-52s %6s  %s\n' "clear / aria2c                     (target <= 1.00)" "$(ratio "$t_clear" "$t_aria")" "$(verdict "$(ratio "$t_clear" "$t_aria")" 1.0 le)"
printf '%-52s %6s  %s\n' "encrypted / aria2c                 (target <= 1.15)" "$(ratio "$t_enc" "$t_aria")" "$(verdict "$(ratio "$t_enc" "$t_aria")" 1.15 le)"
printf '%-52s %6s  %s\n' "first byte on stdout, ms           (target <= 50)" "$fb" "$(verdict "$fb" 50 le)"
printf '%-52s %6s  %s\n' "peak RSS MiB, ${size_mb} MiB track   (target <= 64)" "$rss" "$(verdict "$rss" 64 le)"
printf '%-52s %6s  %s\n' "peak RSS MiB, ${big_mb} MiB track  (target <= 64)" "$rss_big" "$(verdict "$rss_big" 64 le)"
