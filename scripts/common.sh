# Shell functions shared by the demo, the benchmarks and the bats helpers.

# Prints the last match of sed expression EXPR in LOG, waiting up to 10 s for
# one; fails early if PID (optional) exits.
wait_log() {
  local log=$1 expr=$2 pid=${3:-} found=""
  for _ in $(seq 200); do
    found=$(sed -n "$expr" "$log" | tail -n 1)
    [ -n "$found" ] && { echo "$found"; return 0; }
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.05
  done
  return 1
}

# A port on 127.0.0.1 that is free for TCP and UDP now, chosen by the system
# (for a server that cannot be given port 0 and tell which it got).
free_port() {
  python3 -c 'import socket
for _ in range(50):
    t, u = socket.socket(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t.bind(("127.0.0.1", 0))
    try:
        u.bind(("127.0.0.1", t.getsockname()[1]))
    except OSError:
        continue
    print(t.getsockname()[1])
    break'
}

# The URL that `digm-seed serve --listen HOST:0` logged to LOG (see wait_log).
node_url() { wait_log "$1" 's/.* at \(http:[^ ]*\) as .*/\1/p' "${2:-}"; }

# The DHT endpoint (IP:PORT) that `digm-seed serve --dht` logged to LOG.
dht_endpoint() { wait_log "$1" 's/.*dht listening on \([^ ]*\).*/\1/p' "${2:-}"; }
