#!/usr/bin/env bash
# The digm pipeline on a real track: make audio with sox, chunk and encrypt it,
# seal it with its root, prove and verify a chunk, reassemble, and summarise.
# Usage: scripts/demo.sh [BIN_DIR]   (run by `make demo`)
set -euo pipefail
bin=$(cd "${1:-build/bin}" && pwd)
export PATH="$bin:$PATH"
out=${DIGM_DEMO_DIR:-demo-out}
rm -rf "$out" && mkdir -p "$out" && cd "$out"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

step "1. a test track: 3 s of tone, 2 s of noise (sox), as WAV and MP3"
sox -n -r 44100 -c 2 -b 16 tone.wav synth 3 sine 440 vol 0.5
sox -n -r 44100 -c 2 -b 16 noise.wav synth 2 pinknoise vol 0.3
sox tone.wav noise.wav track.wav
sox track.wav -C 192 track.mp3
ls -l track.wav track.mp3

step "2. chunk, compress and encrypt into chunks/, with a 1-second preview"
for f in track.wav track.mp3; do
  digm-chunk "$f" --chunk-size 64K --encrypt --key-out "$f.key" --compress \
    --preview-seconds 1 --store chunks/ | digm-merkle seal > "$f.json"
  jq -c '{file: .source.name, root, size, chunks: (.chunks | length),
          compressed: ([.chunks[] | select(.z)] | length), media: .media | {format, duration},
          preview_chunks: .encryption.preview.chunks}' "$f.json"
done
echo "key file mode: $(stat -c %a track.mp3.key); chunk files: $(find chunks -type f | wc -l)"

step "3. every chunk file is named by its SHA-256"
bad=0
for h in $(jq -r '.chunks[].hash' track.wav.json track.mp3.json); do
  [ "$(sha256sum "chunks/${h:0:2}/$h" | cut -c1-64)" = "$h" ] || bad=$((bad + 1))
done
echo "mismatches: $bad"

step "4. prove that chunk 7 of the WAV is in its root, and verify"
root=$(digm-merkle root track.wav.json)
digm-merkle prove track.wav.json --index 7 | tee proof.json | jq -c '{index, tree_size, path: (.path | length)}'
digm-merkle verify proof.json --root "$root" && echo "proof verifies against $root"
jq -c '.index = 8' proof.json | digm-merkle verify 2>/dev/null || echo "the same proof for index 8 is refused (exit $?)"

step "5. reassemble both tracks from chunks/ with their keys"
for f in track.wav track.mp3; do
  digm-chunk --join "$f.json" --store chunks/ --key "$f.key" -o "back.$f"
  cmp "$f" "back.$f" && echo "$f: byte for byte identical"
done

step "summary"
printf '%-10s %s\n' track "$(jq -r '.source.name' track.mp3.json)" \
  root "$(jq -r .root track.mp3.json)" \
  chunks "$(jq '.chunks | length' track.mp3.json) of $(jq .chunk_size track.mp3.json) bytes" \
  duration "$(jq .media.duration track.mp3.json) s" \
  preview "$(jq .encryption.preview.chunks track.mp3.json) chunks under the public preview key" \
  output "$(pwd)"
