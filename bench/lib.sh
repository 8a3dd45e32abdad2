# Sourced first by every benchmark, with the script's arguments:
#   source "$(dirname "$0")/lib.sh" "$@"
# Sets `here` (bench/), `bin` (the binaries: $1, default build/bin) and `work`
# (a fresh folder, removed on exit unless DIGM_BENCH_KEEP is set); stops every
# PID added to `pids` on exit; and defines the report helpers.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$(cd "${1:-$here/../build/bin}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/digm-bench.XXXXXX")
chmod 755 "$work"  # nginx workers run as another user
pids=()
bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${DIGM_BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap bench_cleanup EXIT
source "$here/../scripts/common.sh"

# a / b with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# "ok" when VALUE meets TARGET: ge (at least, the default) or le (at most).
verdict() {
  awk -v v="$1" -v t="$2" -v dir="${3:-ge}" 'BEGIN { ok = dir == "ge" ? v >= t : v <= t; print ok ? "ok" : "MISSED" }'
}

# seconds CMD...: wall time of one run, stdout discarded. A run that fails
# has no time: it ends the bench (the caller's assignment fails, under set -e).
seconds() {
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  "$@" > /dev/null || rc=$?
  t1=$(date +%s.%N)
  [ "$rc" -eq 0 ] || { echo "bench: '$*' failed (exit $rc)" >&2; exit 1; }
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

# start_nginx_mirrors FILE: three nginx servers on 127.0.0.1 serving FILE as
# $work/www/track.bin (a hard link, or a copy); sets nginx_urls, adds the
# PIDs to pids, and returns once each answers.
start_nginx_mirrors() {
  local i port u
  nginx_urls=()
  mkdir -p "$work/www"
  ln -f "$1" "$work/www/track.bin" 2>/dev/null || cp "$1" "$work/www/track.bin"
  for i in 1 2 3; do
    mkdir -p "$work/ng$i/logs"
    port=$(free_port)
    cat > "$work/ng$i/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/ng$i/nginx.pid;
error_log $work/ng$i/logs/error.log warn;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on;
  server { listen 127.0.0.1:$port; root $work/www; } }
CONF
    nginx -p "$work/ng$i" -c "$work/ng$i/nginx.conf" &
    pids+=($!)
    nginx_urls+=("http://127.0.0.1:$port/track.bin")
  done
  for u in "${nginx_urls[@]}"; do
    for _ in $(seq 100); do curl -sfI "$u" > /dev/null && break; sleep 0.05; done
  done
}
