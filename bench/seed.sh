#!/usr/bin/env bash
# digm-seed against nginx serving the same chunk files from the same disk,
# both measured by wrk in one run, on 127.0.0.1 only:
#   1. 256 KiB chunk GETs over 64 keep-alive connections (throughput);
#   2. 4 KiB range GETs (requests/s);
#   3. 1000 open connections on the node: its peak RSS, and no errors.
# Usage: bench/seed.sh [BIN_DIR]   (env: DIGM_BENCH_SECONDS=10)
source "$(dirname "$0")/lib.sh" "$@"
secs=${DIGM_BENCH_SECONDS:-10}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "preparing 200 chunks of 256 KiB in a node's store..."
head -c $((200 * 262144)) /dev/urandom > "$work/track.bin"
"$bin/digm-chunk" "$work/track.bin" --store "$work/chunks" -q > "$work/track.json"
"$bin/digm-seed" init --data "$work/node" > /dev/null
"$bin/digm-seed" add "$work/track.json" --from "$work/chunks" --data "$work/node" > /dev/null
jq -r '.chunks[].hash | "/content/" + .' "$work/track.json" > "$work/paths.txt"

node_port=$(free_port)
"$bin/digm-seed" serve --data "$work/node" --listen "127.0.0.1:$node_port" --rate-limit 0 \
  --max-connections 4096 --max-connections-per-ip 4096 --gossip-interval 3600 -q &
node_pid=$!
pids+=("$node_pid")

nginx_port=$(free_port)
mkdir -p "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$nginx_port;
    location ~ "^/content/([0-9a-f]{2})([0-9a-f]{62})\$" {
      alias $work/node/chunks/\$1/\$1\$2;
      add_header Cache-Control "public, max-age=31536000, immutable";
    }
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)

for port in "$node_port" "$nginx_port"; do
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port$(head -n 1 "$work/paths.txt")" && break; sleep 0.05; done
done
# Both must serve the same bytes.
cmp <(curl -sf "http://127.0.0.1:$node_port$(sed -n 7p "$work/paths.txt")") \
    <(curl -sf "http://127.0.0.1:$nginx_port$(sed -n 7p "$work/paths.txt")")

cat > "$work/chunks.lua" <<'LUA'
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
LUA
cat > "$work/ranges.lua" <<'LUA'
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
request = function()
  local first = math.random(0, 262144 - 4096)
  return wrk.format("GET", paths[math.random(#paths)], { Range = "bytes=" .. first .. "-" .. (first + 4095) })
end
LUA
export PATHS="$work/paths.txt"

# Prints "requests_per_s transfer_MBps errors" for one wrk run.
run_wrk() {
  local out
  out=$(wrk -t2 -c"$1" -d"${secs}s" -s "$2" --latency "$3" 2>&1)
  local rps mbps errors
  rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
  mbps=$(awk '/^Transfer\/sec/ { v = $2; if (v ~ /GB$/) m = 1024; else if (v ~ /MB$/) m = 1; else if (v ~ /KB$/) m = 1 / 1024; else m = 1 / 1048576; sub(/[KMG]?B$/, "", v); print v * m }' <<<"$out")
  errors=$(awk '/Socket errors|Non-2xx/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { gsub(",", "", $i); s += $i } } END { print s + 0 }' <<<"$out")
  echo "$rps $mbps $errors"
}

# The better of two runs, alternating servers, so a noisy moment hurts neither.
best_wrk() {
  local a b
  a=$(run_wrk "$@")
  b=$(run_wrk "$@")
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); if (y[1] > x[1]) print b; else print a }'
}

echo "wrk, ${secs} s per run, the better of two..."
read -r n1_rps n1_mb n1_err < <(best_wrk 64 "$work/chunks.lua" "http://127.0.0.1:$node_port")
read -r g1_rps g1_mb g1_err < <(best_wrk 64 "$work/chunks.lua" "http://127.0.0.1:$nginx_port")
read -r n2_rps _ n2_err < <(best_wrk 64 "$work/ranges.lua" "http://127.0.0.1:$node_port")
read -r g2_rps _ g2_err < <(best_wrk 64 "$work/ranges.lua" "http://127.0.0.1:$nginx_port")
read -r n3_rps _ n3_err < <(run_wrk 1000 "$work/ranges.lua" "http://127.0.0.1:$node_port")
rss=$(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$node_pid/status")

printf '\n%-44s %12s %12s %8s\n' "" digm-seed nginx ratio
printf '%-44s %12s %12s %8s  %s\n' "256 KiB GETs, 64 conns: MB/s" "$n1_mb" "$g1_mb" "$(ratio "$n1_mb" "$g1_mb")" "(target >= 0.90) $(verdict "$(ratio "$n1_mb" "$g1_mb")" 0.9)"
printf '%-44s %12s %12s %8s  %s\n' "4 KiB range GETs, 64 conns: requests/s" "$n2_rps" "$g2_rps" "$(ratio "$n2_rps" "$g2_rps")" "(target >= 0.70) $(verdict "$(ratio "$n2_rps" "$g2_rps")" 0.7)"
printf '%-44s %12s %12s\n' "errors in those runs" "$((n1_err + n2_err))" "$((g1_err + g2_err))"
printf '%-44s %12s\n' "1000 connections: requests/s" "$n3_rps"
printf '%-44s %12s  %s\n' "1000 connections: errors" "$n3_err" "(target 0) $(verdict "$n3_err" 0 le)"
printf '%-44s %12s  %s\n' "node peak RSS, MiB" "$rss" "(target <= 100) $(verdict "$rss" 100 le)"
