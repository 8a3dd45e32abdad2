#!/usr/bin/env bash
# Runs each libFuzzer target in BIN for SECONDS on a working copy of its corpus
# (tests/fuzz/corpus/TARGET seeds it; new inputs stay in build-fuzz/corpus/),
# and prints executions and crashes per target. Exits 1 if any target crashed.
# Usage: scripts/fuzz.sh BIN [SECONDS]
set -euo pipefail
bin=$1 secs=${2:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
work="$bin/../corpus"
crashes="$bin/../crashes"
mkdir -p "$work" "$crashes"
failed=0
printf '%-10s %12s %8s %s\n' target executions crashes "new corpus"
for t in manifest proof http signed keywrap; do
  mkdir -p "$work/$t"
  cp -n "$src/tests/fuzz/corpus/$t/"* "$work/$t/" 2>/dev/null || true
  log="$bin/../fuzz_$t.log"
  set +e
  ASAN_OPTIONS=detect_leaks=0 "$bin/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$crashes/$t-" -max_len=65536 "$work/$t" > "$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  [ -n "$execs" ] || execs=$(grep -oE '#[0-9]+' "$log" | tail -1 | tr -d '#')
  n=$(ls "$crashes" | grep -c "^$t-" || true)
  printf '%-10s %12s %8s %s\n' "$t" "${execs:-0}" "$n" "$(ls "$work/$t" | wc -l) inputs"
  if [ "$rc" -ne 0 ] || [ "$n" -gt 0 ]; then failed=1; tail -30 "$log"; fi
done
exit "$failed"
