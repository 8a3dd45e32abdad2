#!/usr/bin/env bash
# The web player in headless Chromium (tests/web/play.mjs), on 127.0.0.1:
# time from the page's navigation to its first audio (the <audio> element's
# `playing` event) for a 60 s MP3 (192 kbit/s, 256 KiB chunks), clear and
# encrypted, after the node's library page (a warm browser, no cache).
# Target: <= 300 ms. Prints the median of 5 loads and where the time went.
# Usage: bench/web.sh [BIN_DIR]   (make bench installs chromium; puppeteer-core comes from tests/web's lock file)
source "$(dirname "$0")/lib.sh" "$@"
export PATH="$bin:$PATH"
play="$here/../tests/web/play.mjs"
if [ ! -d "$here/../tests/web/node_modules/puppeteer-core" ]; then
  (cd "$here/../tests/web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

sox -n -r 44100 -c 2 -b 16 "$work/long.wav" synth 60 pinknoise vol 0.3
ffmpeg -v error -i "$work/long.wav" -c:a libmp3lame -b:a 192k -metadata title="Bench" "$work/long.mp3"
digm-chunk "$work/long.mp3" --store "$work/chunks" -q | digm-merkle seal > "$work/clear.json"
digm-chunk "$work/long.mp3" --store "$work/chunks" -q --encrypt --key-out "$work/k.key" | digm-merkle seal > "$work/enc.json"
digm-seed init --data "$work/n" > /dev/null
for t in clear enc; do digm-seed add "$work/$t.json" --from "$work/chunks" --data "$work/n" > /dev/null; done
digm-seed serve --data "$work/n" --listen 127.0.0.1:0 2> "$work/n.log" &
pids+=($!)
url=$(node_url "$work/n.log" "$!")

measure() {  # measure NAME URL: median playing_ms of 5 warm loads, and the stages of the median one
  local name=$1 target=$2
  for _ in 1 2 3 4 5; do
    node "$play" "$target" --warm --seconds 0.2 --timeout 30 | jq -c '{p: .playing_ms, t: .digm.t}'
  done | jq -s 'sort_by(.p) | .[2]' > "$work/$name.json"
  local ms
  ms=$(jq '.p | round' "$work/$name.json")
  echo "   $name: first audio after ${ms} ms (target <= 300: $(verdict "$ms" 300 le)); stages (ms): $(jq -c .t "$work/$name.json")"
}

echo "first audio of a 60 s MP3 in headless Chromium, median of 5 loads"
measure clear "$url/play/$(jq -r .root "$work/clear.json")"
measure encrypted "$url/play/$(jq -r .root "$work/enc.json")#key=$(jq -r .key "$work/k.key")"
