# Shell functions shared by the demo, the benchmarks and the bats helpers.

# Prints the URL that `digm-seed serve --listen HOST:0` logged to LOG, waiting
# up to 10 s; fails early if PID (optional) exits.
node_url() {
  local log=$1 pid=${2:-} url=""
  for _ in $(seq 200); do
    url=$(sed -n 's/.* at \(http:[^ ]*\) as .*/\1/p' "$log" | tail -n 1)
    [ -n "$url" ] && { echo "$url"; return 0; }
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.05
  done
  return 1
}

# Prints the DHT endpoint (IP:PORT) that `digm-seed serve --dht` logged to LOG,
# waiting up to 10 s; fails early if PID (optional) exits.
dht_endpoint() {
  local log=$1 pid=${2:-} ep=""
  for _ in $(seq 200); do
    ep=$(sed -n 's/.*dht listening on \([^ ]*\).*/\1/p' "$log" | tail -n 1)
    [ -n "$ep" ] && { echo "$ep"; return 0; }
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.05
  done
  return 1
}
