#!/usr/bin/env bash
# digm-chunk against its references, in one run, on a generated input:
#   - openssl speed -evp sha256 and aes-256-gcm: the single-core limit
#     1/(1/sha256 + 1/aes-256-gcm) for hashing and encrypting every byte once;
#   - digm-chunk --encrypt with 1 and 2 threads;
#   - the npm ipfs-unixfs-importer (raw leaves, 256 KiB chunks, no encryption);
#   - peak RSS for the 1 GiB file and for 4 GiB streamed through stdin.
# Usage: bench/chunk.sh [BIN_DIR]   (env: DIGM_BENCH_SIZE_MB=1024, DIGM_BENCH_BIG_MB=4096)
source "$(dirname "$0")/lib.sh" "$@"
size_mb=${DIGM_BENCH_SIZE_MB:-1024}
big_mb=${DIGM_BENCH_BIG_MB:-4096}

if [ ! -d "$here/node_modules/ipfs-unixfs-importer" ]; then
  (cd "$here" && npm install --no-audit --no-fund --silent >/dev/null 2>&1)
fi

echo "generating ${size_mb} MiB of random input..."
{ openssl enc -aes-128-ctr -pass pass:digm-bench -nosalt -pbkdf2 -in /dev/zero 2>/dev/null || true; } \
  | head -c "$((size_mb << 20))" > "$work/input"
cat "$work/input" > /dev/null  # warm the page cache for every contender alike

# MB/s (10^6 bytes) that `openssl speed -evp ALG` reaches on 256 KiB blocks.
openssl_rate() {
  openssl speed -evp "$1" -bytes 262144 -seconds 3 2>/dev/null \
    | awk -v alg="$2" '$1 == alg { v = $NF; sub(/k$/, "", v); print v / 1000 }'
}
sha=$(openssl_rate sha256 sha256)
aes=$(openssl_rate aes-256-gcm AES-256-GCM)
limit=$(awk -v s="$sha" -v a="$aes" 'BEGIN { print 1 / (1 / s + 1 / a) }')
# What one core must really do per byte: SPEC §2 asks for the SHA-256 of the
# whole input (source.sha256) besides each chunk's hash, so two hashes.
limit2=$(awk -v s="$sha" -v a="$aes" 'BEGIN { print 1 / (2 / s + 1 / a) }')

# Best of three: prints "seconds peak_rss_kib"; a run that fails ends the
# bench (called as r=$(measure ...), whose failure set -e sees).
measure() {
  local best="" rss="" line
  for _ in 1 2 3; do
    /usr/bin/time -o "$work/time" -f '%e %M' "$@" > /dev/null ||
      { echo "bench: '$*' failed" >&2; exit 1; }
    line=$(tail -n 1 "$work/time")
    if [ -z "$best" ] || awk -v a="${line% *}" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=${line% *}
    fi
    rss=${line#* }
  done
  echo "$best $rss"
}

bytes=$((size_mb << 20))
rate() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }

# One key for every run (a key file is never overwritten).
"$bin/digm-chunk" /dev/null --encrypt --key-out "$work/key" > /dev/null

echo "running digm-chunk and ipfs-unixfs-importer, best of 3 each..."
r=$(measure "$bin/digm-chunk" "$work/input" --key "$work/key" --threads 1)
read -r t1 rss1 <<< "$r"
r=$(measure "$bin/digm-chunk" "$work/input" --key "$work/key" --threads 2)
read -r t2 rss2 <<< "$r"
r=$(measure "$bin/digm-chunk" "$work/input" --key "$work/key" --threads 2 --store "$work/store")
read -r ts _ <<< "$r"
rm -rf "$work/store"
r=$(measure node "$here/ipfs-import.mjs" "$work/input")
read -r tipfs _ <<< "$r"
# 4 GiB (by default) streamed through stdin: memory must not grow with input.
head -c $((big_mb << 20)) /dev/zero \
  | /usr/bin/time -o "$work/time" -f '%M' "$bin/digm-chunk" - --key "$work/key" > /dev/null
big=$(tail -n 1 "$work/time")

r1=$(rate "$t1"); r2=$(rate "$t2"); rs=$(rate "$ts"); ripfs=$(rate "$tipfs")

printf '\n%-58s %10s\n' "digm-chunk on ${size_mb} MiB, 256 KiB chunks, AES-256-GCM" "MB/s"
printf '%-58s %10.0f\n' "openssl speed -evp sha256" "$sha"
printf '%-58s %10.0f\n' "openssl speed -evp aes-256-gcm" "$aes"
printf '%-58s %10.0f\n' "single-core limit 1/(1/sha256 + 1/aes-256-gcm)" "$limit"
printf '%-58s %10.0f\n' "same, with the whole-input hash: 1/(2/sha256 + 1/aes)" "$limit2"
printf '%-58s %10s\n' "digm-chunk --encrypt --threads 1" "$r1"
printf '%-58s %10s\n' "digm-chunk --encrypt --threads 2" "$r2"
printf '%-58s %10s\n' "digm-chunk --encrypt --threads 2 --store (tmp)" "$rs"
printf '%-58s %10s\n' "ipfs-unixfs-importer, raw leaves, no encryption" "$ripfs"
echo
t_a=$(ratio "$r1" "$limit"); t_a2=$(ratio "$r1" "$limit2"); t_b=$(ratio "$r2" "$r1"); t_c=$(ratio "$r2" "$ripfs")
printf '%-58s %6s  %s\n' "threads 1 / single-core limit        (target >= 0.85)" "$t_a" "$(verdict "$t_a" 0.85)"
printf '%-58s %6s  %s\n' "threads 1 / limit with the whole-input hash (>= 0.85)" "$t_a2" "$(verdict "$t_a2" 0.85)"
printf '%-58s %6s  %s\n' "threads 2 / threads 1                (target >= 1.70)" "$t_b" "$(verdict "$t_b" 1.7)"
printf '%-58s %6s  %s\n' "digm (encrypting) / ipfs importer    (target >= 1.50)" "$t_c" "$(verdict "$t_c" 1.5)"
printf '%-58s %6s  %s\n' "peak RSS MiB, ${size_mb} MiB file, threads 2 (target <= 64)" "$((rss2 / 1024))" "$(verdict "$((rss2 / 1024))" 64 le)"
printf '%-58s %6s  %s\n' "peak RSS MiB, ${big_mb} MiB via stdin      (target <= 64)" "$((big / 1024))" "$(verdict "$((big / 1024))" 64 le)"
