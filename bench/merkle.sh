#!/usr/bin/env bash
# digm-merkle root over a manifest of 1,000,000 chunks (target: at most 1 s),
# beside sha256sum reading the same manifest file as a yardstick for I/O.
# Usage: bench/merkle.sh [BIN_DIR]   (env: DIGM_BENCH_CHUNKS=1000000)
source "$(dirname "$0")/lib.sh" "$@"
n=${DIGM_BENCH_CHUNKS:-1000000}

echo "generating a manifest of $n chunks..."
awk -v n="$n" 'BEGIN {
  cs = 16384
  printf "{\"schema\":\"digm.manifest/1\",\"size\":%.0f,\"chunk_size\":%d,", n * cs, cs
  printf "\"source\":{\"sha256\":\"%064d\"},\"media\":{},\"encryption\":null,\"chunks\":[", 0
  for (i = 0; i < n; i++) {
    printf "%s{\"hash\":\"%08x%056x\",\"size\":%d,\"plain\":%d,\"z\":false}", (i ? "," : ""), i, i * 7919, cs, cs
  }
  print "]}"
}' > "$work/m.json"
ls -lh "$work/m.json" | awk '{ print "manifest: " $5 }'

best() {
  local b=""
  for _ in 1 2 3; do
    /usr/bin/time -o "$work/time" -f '%e %M' "$@" > "$work/out" ||
      { echo "bench: '$*' failed" >&2; exit 1; }
    read -r t rss < "$work/time"
    if [ -z "$b" ] || awk -v a="$t" -v b="$b" 'BEGIN { exit !(a < b) }'; then b=$t; fi
  done
  echo "$b $rss"
}
r=$(best "$bin/digm-merkle" root "$work/m.json")
read -r troot rss <<< "$r"
r=$(best sha256sum "$work/m.json")
read -r tsum _ <<< "$r"
printf '\n%-52s %8s\n' "over $n chunks" seconds
printf '%-52s %8s\n' "sha256sum of the manifest file (yardstick)" "$tsum"
printf '%-52s %8s   (peak RSS %d MiB)\n' "digm-merkle root" "$troot" "$((rss / 1024))"
awk -v t="$troot" 'BEGIN { printf "%-52s %8.2f  %s\n", "digm-merkle root / 1 s target (<= 1.00)", t, (t <= 1 ? "ok" : "MISSED") }'
