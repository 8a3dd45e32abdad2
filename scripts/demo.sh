#!/usr/bin/env bash
# The digm pipeline on a real track: make audio with sox, chunk and encrypt it,
# seal it with its root, prove and verify a chunk, reassemble, then run three
# storage nodes on 127.0.0.1, publish the track with 3 replicas, find it by its
# root alone on the nodes' private DHT, fetch a long
# track while a node stops, audit three epochs, pay, stream live through a
# relay and fetch the sealed stream, download a track through its torrent
# with aria2c, and summarise.
# Usage: scripts/demo.sh [BIN_DIR]   (run by `make demo`)
set -euo pipefail
source "$(dirname "$0")/common.sh"
bin=$(cd "${1:-build/bin}" && pwd)
export PATH="$bin:$PATH"
out=${DIGM_DEMO_DIR:-demo-out}
rm -rf "$out" && mkdir -p "$out" && cd "$out"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
holds() {  # holds N ROOT: node N's store has the track complete
  digm-seed ls --data "node$1" | jq -se --arg r "$2" 'any(.[]; .root == $r and .complete)' > /dev/null
}
wait_held() {  # wait_held ROOT: until all three nodes hold it (at most 20 s each)
  local i
  for i in 1 2 3; do
    for _ in $(seq 200); do holds "$i" "$1" && break; sleep 0.1; done
  done
}

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

step "6. three storage nodes on 127.0.0.1, gossiping, and a private DHT of their own"
pids=()
trap 'for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
urls=()
for i in 1 2 3; do
  digm-seed init --data "node$i" > "node$i.id"
  peer=() dht=(--dht --dht-listen 127.0.0.1:0 --dht-bootstrap none)
  [ "$i" -gt 1 ] && peer=(--peer "${urls[0]}") dht=(--dht --dht-listen 127.0.0.1:0 --dht-bootstrap "$boot")
  digm-seed serve --data "node$i" --listen 127.0.0.1:0 --gossip-interval 1 "${peer[@]}" "${dht[@]}" \
    2> "node$i.log" &
  pids+=($!)
  url=$(node_url "node$i.log" "$!") || { cat "node$i.log"; exit 1; }
  urls+=("$url")
  ep=$(dht_endpoint "node$i.log" "$!") || { cat "node$i.log"; exit 1; }
  [ "$i" -gt 1 ] || boot=$ep
  echo "node$i: $url  $(jq -r .address "node$i.id")  DHT $ep"
done
for _ in $(seq 100); do
  known=$(for u in "${urls[@]}"; do curl -sf "$u/peers" | jq length; done | sort -u | tr '\n' ' ')
  [ "$known" = "2 " ] && break
  sleep 0.1
done
echo "every node knows the other two: $([ "$known" = "2 " ] && echo yes || echo no)"

step "7. publish the MP3 with 3 replicas, signed by the artist's wallet"
digm-pay wallet new -o artist.wallet > /dev/null
digm-seed publish track.mp3.json --from chunks/ --node "${urls[0]}" --wallet artist.wallet --replicas 3 | jq -c .
root=$(jq -r .root track.mp3.json)
wait_held "$root"
for i in 1 2 3; do
  h=$(jq -r '.chunks[-1].hash' track.mp3.json)
  got=$(curl -sf "${urls[$((i - 1))]}/content/$h" | sha256sum | cut -c1-64)
  printf 'node%s holds %s: %s; its last chunk hashes to its name: %s\n' "$i" "${root:0:16}..." \
    "$(digm-seed ls --data "node$i" | jq -r --arg r "$root" 'select(.root == $r) | "\(.chunks) chunks, complete=\(.complete)"')" \
    "$([ "$got" = "$h" ] && echo yes || echo NO)"
done

step "8. find the MP3 knowing only its root: the nodes announce it on their DHT"
for _ in $(seq 40); do  # each node announces the track within 2 s of holding it
  found=$(digm-fetch "$root" --dht --dht-bootstrap "$boot" --dht-timeout 2 --list-peers 2>&1 > /dev/null |
    sed -n 's/.*dht: \([0-9]*\) node.*/\1/p')
  [ "${found:-0}" -ge 3 ] && break
  sleep 0.5
done
echo "a lookup through node1's $boot finds ${found:-0} nodes announcing ${root:0:16}..."
digm-fetch "$root" --dht --dht-bootstrap "$boot" --key track.mp3.key --no-cache -o dht.mp3
cmp dht.mp3 track.mp3 && echo "dht.mp3 is byte for byte the original"

step "9. fetch a 60-second track from all three nodes, stopping node2 halfway"
sox -n -r 44100 -c 2 -b 16 long.wav synth 60 pinknoise vol 0.3
digm-chunk long.wav --chunk-size 64K --encrypt --key-out long.key --store chunks/ -q | digm-merkle seal > long.json
digm-seed publish long.json --from chunks/ --node "${urls[0]}" --wallet artist.wallet --replicas 3 > /dev/null
lroot=$(jq -r .root long.json)
wait_held "$lroot"
digm-pay wallet new -o listener.wallet > /dev/null
total=$(stat -c %s long.wav)
: > fetched.wav
digm-fetch "$lroot" --peer "${urls[0]}" --peer "${urls[1]}" --peer "${urls[2]}" --key long.key \
  --no-cache --timeout 2 -o - --receipt receipt.json --wallet listener.wallet > fetched.wav &
fetch=$!
while kill -0 "$fetch" 2>/dev/null && [ "$(stat -c %s fetched.wav)" -lt $((total / 2)) ]; do sleep 0.002; done
kill -TERM "${pids[1]}"
echo "node2 stopped when $(stat -c %s fetched.wav) of $total bytes had been written"
wait "$fetch"
cmp fetched.wav long.wav && echo "fetched.wav is byte for byte the original"
jq -r '.deliveries[] | "  \(.url) delivered \(.chunks | length) chunks, \(.bytes) bytes"' receipt.json
echo "receipt signed by $(jq -r .signer receipt.json)"

step "10. audit: three epochs of storage proofs; node3 loses a chunk and is struck out"
wait "${pids[1]}" 2>/dev/null || true  # node2 drains and lets go of its data folder first
digm-seed serve --data node2 --listen 127.0.0.1:0 --gossip-interval 1 --peer "${urls[0]}" 2> node2.log &
pids+=($!)
node_pid=([1]="${pids[0]}" [2]=$! [3]="${pids[2]}")
urls[1]=$(node_url node2.log "$!") || { cat node2.log; exit 1; }
echo "node2 is back at ${urls[1]}"
sox -n -r 44100 -c 2 -b 16 jingle.wav synth 1 sine 660 vol 0.5
sox jingle.wav -C 128 jingle.mp3
digm-chunk jingle.mp3 --store chunks/ -q | digm-merkle seal > jingle.json
digm-seed publish jingle.json --from chunks/ --node "${urls[0]}" --wallet artist.wallet --replicas 3 > /dev/null
jroot=$(jq -r .root jingle.json)
wait_held "$jroot"
digm-audit prepare jingle.json --from chunks/ --db audit.db --count 16 | jq -c .
h=$(jq -r '.chunks[0].hash' jingle.json)
rm "node3/chunks/${h:0:2}/$h"
echo "deleted chunk ${h:0:16}... of the jingle from node3's store"
digm-pay wallet new -o auditor.wallet > /dev/null
now=$(( $(date +%s) / 3600 ))
for e in $((now - 2)) $((now - 1)) $now; do
  digm-audit run --db audit.db --peer "${urls[0]}" --peer "${urls[1]}" --peer "${urls[2]}" --epoch "$e" \
    --wallet auditor.wallet --quiet > "epoch-$e.ndjson" && rc=0 || rc=$?
  cat "epoch-$e.ndjson" >> audit.ndjson
  echo "epoch $e (exit $rc): $(jq -r 'select(.schema == "digm.audit/1")
    | "\(.url | sub("http://127.0.0.1:"; ":")) \(if .ok then "ok" else .reason end) \(.latency_ms) ms"' "epoch-$e.ndjson" | paste -sd ' ' | sed 's/ :/, :/g')"
done
echo "the slash record (signed by the auditor, with the node's own answers as evidence):"
jq -c 'select(.schema == "digm.slash/1") | {node_id, epoch, consecutive_failures, signer,
  evidence: [.evidence[] | {epoch, chunk, reason, nonce: .evidence.challenge.nonce[0:8]}]}' audit.ndjson
digm-audit index --db audit.db -o fresh_index.json
echo "the fresh index:"
jq -r '.nodes[] | "  \(.url)  healthy=\(.healthy)  score=\(.score)  passed=\(.passed) failed=\(.failed)"' fresh_index.json

step "11. pay: settle the receipt per byte, sell the MP3, reward listening, slash the struck-out node"
export DIGM_LEDGER=ledger.db
listener=$(jq -r .listener receipt.json)
digm-pay deposit --to "$listener" --amount 1 > /dev/null
digm-pay settle receipt.json --price-per-mb 0.001 | jq -r '"  \(.to) +\(.amount) XFG (\(.memo))"'
echo "settling the same receipt again prints $(digm-pay settle receipt.json --price-per-mb 0.001 | wc -l) transfers"
struck=$(jq -r 'select(.schema == "digm.slash/1") | .node_id' audit.ndjson)
digm-pay deposit --to "$struck" --amount 10 > /dev/null
digm-pay stake --node "$struck" --amount 10 > /dev/null
auditor=$(digm-pay wallet show auditor.wallet | awk '/^address/ { print $2 }')
digm-pay slash --auditor "$auditor" < audit.ndjson | jq -r '"  burnt \(.amount) XFG of \(.from) (slash signed by the auditor)"'
artist=$(digm-pay wallet show artist.wallet | awk '/^address/ { print $2 }')
digm-pay wallet new -o buyer.wallet > /dev/null
digm-pay wallet identity buyer.wallet -o buyer.id
digm-pay deposit --to "$(jq -r .address buyer.id)" --amount 5 > /dev/null
digm-pay purchase "$root" --buyer buyer.wallet --artist "$artist" --price 2.5 |
  jq -r '"  the buyer paid the artist \(.amount) XFG for \(.memo[0:16])..."'
digm-pay grant "$root" --key track.mp3.key --to buyer.id -o buyer.wk
digm-fetch "$root" --peer "${urls[0]}" --peer "${urls[1]}" --wrapped buyer.wk --wallet buyer.wallet \
  --no-cache -q -o bought.mp3
cmp bought.mp3 track.mp3 && echo "  the key wrapped for the buyer opens the MP3: bought.mp3 is byte for byte the original"
digm-pay deposit --to pool:rewards --amount 100 --asset PARA > /dev/null
# The fetch above took under a second; the listener then played the whole 60 s.
digm-pay reward --seconds "$(jq '.media.duration | floor' long.json)" --listener "$listener" \
  --artist "$artist" --ref "demo-listen" |
  jq -r '"  reward \(.amount) PARA to \(.to) for \(.memo)"'
echo "balances:"
digm-pay balance | jq -r '"  \(.account) \(.amount) \(.asset)"'
digm-pay check && echo "the ledger checks: every transfer sums to zero, balances equal the journal"

step "12. live: 8 s of MP3 piped at real time to node1, heard from node3 through its relay"
sox -n -r 44100 -c 2 -b 16 set.wav synth 8 sine 330 sine 495 vol 0.4
sox set.wav -C 192 set.mp3
listed() { digm-live ls --peer "$1" 2> /dev/null | jq -r --arg a "$2" 'select(.id == $a) | .id'; }
echo "streams listed before: $(for u in "${urls[@]}"; do digm-live ls --peer "$u" | wc -l; done | paste -sd ' ')"
ffmpeg -v error -re -i set.mp3 -c copy -f mp3 - | tee sent.mp3 |
  digm-live publish - --wallet artist.wallet --node "${urls[0]}" --title "Friday set" \
    --artist "the artist" -o set.json > live.ndjson 2> live.log &
live=$!
pids+=("$live")
for _ in $(seq 100); do [ -s live.ndjson ] && break; sleep 0.1; done
id=$(head -1 live.ndjson | jq -r .id)
for _ in $(seq 50); do  # within a gossip round (1 s here)
  [ "$(for u in "${urls[@]}"; do listed "$u" "$id"; done | wc -l)" -eq 3 ] && break
  sleep 0.1
done
echo "stream ${id:0:16}... is listed by:"
for u in "${urls[@]}"; do
  digm-live ls --peer "$u" | jq -r --arg u "$u" --arg a "$id" 'select(.id == $a) |
    "  \($u): \(.stream.title) by \(.stream.artist), \(.head.size) chunks so far, held by \(.holders | length)"'
done
digm-fetch "$id" --live --from-start --peer "${urls[2]}" -o heard.mp3 2> heard.log
wait "$live"
jq -c '{schema, chunks, size, stored_on: (.stored_on | length)}' <(tail -1 live.ndjson)
cmp heard.mp3 sent.mp3 && echo "the listener on node3 wrote the publisher's input byte for byte ($(stat -c %s heard.mp3) bytes)"
echo "streams listed after the end: $(for u in "${urls[@]}"; do listed "$u" "$id" | wc -l; done | paste -sd ' ')"
sroot=$(jq -r .root set.json)
wait_held "$sroot"
digm-fetch "$sroot" --peer "${urls[2]}" --no-cache -q -o sealed.mp3
cmp sealed.mp3 sent.mp3 && echo "sealed as track ${sroot:0:16}... ($(jq '.chunks | length' set.json) chunks), fetched from node3: byte for byte the same"

step "13. BitTorrent: aria2c downloads a clear FLAC from the three nodes through its torrent"
sox -n -r 44100 -c 2 -b 16 single.wav synth 10 sine 392 sine 588 vol 0.4
sox single.wav single.flac
digm-chunk single.flac --chunk-size 64K --store chunks/ -q | digm-merkle seal > single.json
digm-seed publish single.json --from chunks/ --node "${urls[0]}" --wallet artist.wallet --replicas 3 > /dev/null
froot=$(jq -r .root single.json)
wait_held "$froot"
digm-seed torrent "$froot" --data node1 --web-seed "${urls[0]}" --web-seed "${urls[1]}" \
  --web-seed "${urls[2]}" -o single.torrent | jq -c '{btih, btmh: (.btmh[0:20] + "...")}'
timeout 120 aria2c -q --enable-dht=false --bt-enable-lpd=false --enable-peer-exchange=false \
  --seed-time=0 --dir aria2 single.torrent
cmp aria2/single.flac single.flac && echo "aria2c's single.flac is byte for byte the original ($(stat -c %s single.flac) bytes, from the nodes' web seeds)"
digm-fetch single.torrent --no-cache -q -o torrent.flac
cmp torrent.flac single.flac && echo "digm-fetch single.torrent (root and nodes from its web seeds): byte for byte the same"

step "14. pay per chunk: the nodes now charge; the listener pays each as it delivers"
for i in 1 2 3; do kill -TERM "${node_pid[$i]}"; wait "${node_pid[$i]}" 2>/dev/null || true; done
digm-pay deposit --to "$listener" --amount 2 > /dev/null
price=([1]=0.02 [2]=0.02 [3]=0.05)
for i in 1 2 3; do
  peer=()
  [ "$i" -gt 1 ] && peer=(--peer "${urls[0]}")
  digm-seed serve --data "node$i" --listen 127.0.0.1:0 --gossip-interval 1 "${peer[@]}" \
    --price-per-mb "${price[$i]}" --credit 128K 2> "node$i.log" &
  pids+=($!)
  urls[$((i - 1))]=$(node_url "node$i.log" "$!") || { cat "node$i.log"; exit 1; }
  digm-pay channel open --payer listener.wallet --to "$(jq -r .address "node$i.id")" --amount 0.5 > "node$i.channel"
  echo "node$i charges ${price[$i]} XFG per MB; channel $(jq -r '.id[0:16]' "node$i.channel")... holds 0.5 XFG for it"
done
if digm-fetch "$froot" --peer "${urls[0]}" --no-cache -q -o unpaid.flac 2> unpaid.log; then
  echo "a fetch without --pay should have been refused"; exit 1
fi
echo "without --pay: $(grep -m1 'hint' unpaid.log)"
digm-fetch "$froot" --peer "${urls[0]}" --peer "${urls[1]}" --peer "${urls[2]}" --no-cache -q \
  --pay node1.channel --pay node2.channel --pay node3.channel --wallet listener.wallet \
  --receipt paid.json -o paid.flac
cmp paid.flac single.flac && echo "paid.flac is byte for byte the original (node3, the dearest, is asked only if the others cannot serve)"
jq -r '.deliveries[] | "  \(.url) delivered \(.bytes) bytes, paid \(.paid) XFG through \(.channel[0:16])..."' paid.json
for i in 1 2 3; do
  digm-seed vouchers --data "node$i" | digm-pay channel redeem |
    jq -r --arg n "node$i" '"  \($n) redeemed \(.amount) XFG"'
  digm-seed vouchers --data "node$i" | digm-pay channel redeem | wc -l | sed 's/^/  redeemed again: transfers /'
done
for i in 1 2 3; do digm-pay channel show "node$i.channel" | jq -r '"  channel \(.id[0:16])...: redeemed \(.redeemed), left \(.left) (back to the listener after \(.expires))"'; done
digm-pay check && echo "the ledger checks"

step "summary"
printf '%-10s %s\n' track "$(jq -r '.source.name' track.mp3.json)" \
  root "$(jq -r .root track.mp3.json)" \
  chunks "$(jq '.chunks | length' track.mp3.json) of $(jq .chunk_size track.mp3.json) bytes" \
  duration "$(jq .media.duration track.mp3.json) s" \
  preview "$(jq .encryption.preview.chunks track.mp3.json) chunks under the public preview key" \
  nodes "${#urls[@]} on 127.0.0.1, each holding the track" \
  dht "${found:-0} nodes announcing it, found by its root alone" \
  live "${id:0:16}... heard through node3's relay, sealed as ${sroot:0:16}..." \
  torrent "single.flac through single.torrent: aria2c and digm-fetch, from 3 web seeds" \
  paid "single.flac from the two cheaper nodes, paid per chunk through their channels" \
  output "$(pwd)"
