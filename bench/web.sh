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
  ms=$(jq '.p | round' "$work/$name.json" 2> /dev/null) || true
  [[ "$ms" =~ ^[0-9]+$ ]] || { echo "bench: $name did not play in the page: $(cat "$work/$name.json")" >&2; exit 1; }
  echo "   $name: first audio after ${ms} ms (target <= 300: $(verdict "$ms" 300 le)); stages (ms): $(jq -c .t "$work/$name.json")"
}

echo "first audio of a 60 s MP3 in headless Chromium, median of 5 loads"
croot=$(jq -r .root "$work/clear.json")
measure clear "$url/play/$croot"
measure encrypted "$url/play/$(jq -r .root "$work/enc.json")#key=$(jq -r .key "$work/k.key")"
# The reference: the browser's own player on the same bytes, straight from the
# node (/content/ROOT.mp3: no verifying, no decrypting).
measure reference "$url/content/$croot.mp3"
echo "   ratio, the player's clear track to the browser's own: $(ratio "$(jq .p "$work/clear.json")" "$(jq .p "$work/reference.json")")"

# Live: an MP3 paced at its bitrate (128 kbit/s, written 1 KiB at a time, each
# write's time logged) into digm-live publish on a first node; the page plays
# it from a second node, its relay, and logs when each chunk reached the
# player. A byte's latency is that time minus the time it was written; the
# chunk offsets come from the sealed manifest.
echo "a live stream in the page, through a relay, 30 s at 128 kbit/s"
digm-seed init --data "$work/r" > /dev/null
digm-seed serve --data "$work/r" --listen 127.0.0.1:0 --gossip-interval 1 --peer "$url" 2> "$work/r.log" &
pids+=($!)
relay=$(node_url "$work/r.log" "$!")
sox -n -r 44100 -c 2 -b 16 "$work/set.wav" synth 30 sine 330 vol 0.4
ffmpeg -v error -i "$work/set.wav" -c:a libmp3lame -b:a 128k "$work/set.mp3"
digm-pay wallet new -o "$work/dj.wallet" > /dev/null
python3 - "$work/set.mp3" 16000 "$work/writes.log" <<'PY' |
import sys, time
data, rate, log = open(sys.argv[1], "rb").read(), int(sys.argv[2]), open(sys.argv[3], "w")
out, start, at = sys.stdout.buffer, time.monotonic(), 0
while at < len(data):
    due = int((time.monotonic() - start) * rate)
    if due > at:
        n = min(len(data) - at, due - at, 1024)
        out.write(data[at:at + n]); out.flush(); at += n
        log.write("%d %d\n" % (time.time_ns() // 1000000, at)); log.flush()
    time.sleep(0.005)
PY
  digm-live publish - --wallet "$work/dj.wallet" --node "$url" --title "bench live" -q -o "$work/live.json" \
    > "$work/live.out" 2> "$work/live.err" &
live=$!
pids+=($live)
for _ in $(seq 100); do [ -s "$work/live.out" ] && break; sleep 0.1; done
id=$(head -1 "$work/live.out" | jq -r .id)
for _ in $(seq 100); do digm-live ls --peer "$relay" 2> /dev/null | grep -q "$id" && break; sleep 0.1; done
node "$play" "$relay/play/$id" --seconds 25 --timeout 60 > "$work/page.json" || true
wait "$live" || true
python3 - "$work/page.json" "$work/live.json" "$work/writes.log" <<'PY'
import bisect, json, sys
page, manifest = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
writes = [tuple(map(int, l.split())) for l in open(sys.argv[3])]
ends = [w[1] for w in writes]
offsets, at = [], 0
for c in manifest["chunks"]:
    offsets.append(at); at += c["plain"]
lat = []
for index, shown in page["digm"].get("appended", [])[2:]:  # after the join
    first, size = offsets[index], manifest["chunks"][index]["plain"]
    for b in range(first, first + size, 256):  # a byte every 256
        w = writes[bisect.bisect_right(ends, b)][0]  # the write that carried byte b
        lat.append(shown - w)
lat.sort()
if not lat:
    print("   no chunk reached the page:", page.get("status")); sys.exit(0)
p = lambda q: lat[min(len(lat) - 1, int(len(lat) * q))] / 1000
ok = "ok" if p(0.95) <= 1.5 else "MISSED"
print(f"   {len(page['digm']['appended'])} chunks played; latency behind the publisher p50 {p(0.5):.3f} s, "
      f"p95 {p(0.95):.3f} s (target <= 1.5: {ok}), max {lat[-1] / 1000:.3f} s")
PY
