#!/usr/bin/env bats
# The README's pipeline, as written: its shell blocks, extracted and run in
# order in a folder holding a track.flac, on 127.0.0.1 (the ports it names),
# with every process it starts stopped afterwards.

load helpers

setup() {
  cd "$BATS_TEST_TMPDIR"
  sox -n -r 44100 -c 2 -b 16 track.flac synth 20 pinknoise vol 0.3   # ~3 MB: a dozen chunks
  ln -s "$DIGM_SRC/tests" tests   # the chain blocks run from the source folder
  ln -s "$DIGM_SRC/contracts" contracts
  # No sound card here: the player decodes what it is given and ends with it.
  mkdir shim
  printf '#!/bin/sh\nexec ffmpeg -v error -i - -f null -\n' > shim/ffplay
  chmod +x shim/ffplay
}

# The pipeline runs in a process group of its own: its nodes and chain with it.
teardown() {
  [ -f group.pid ] || return 0
  kill -TERM -- "-$(cat group.pid)" 2>/dev/null || true
  sleep 0.5
  kill -KILL -- "-$(cat group.pid)" 2>/dev/null || true
}

# The ```sh blocks of the README's "The pipeline" section, in order.
pipeline_blocks() {
  awk '/^## The pipeline/ { on = 1; next } /^## / { on = 0 }
       on && /^```sh$/ { code = 1; next } code && /^```$/ { code = 0; print ""; next }
       code { print }' "$DIGM_SRC/README.md"
}

@test "the README's pipeline runs top to bottom as written" {
  pipeline_blocks > pipeline.sh
  [ "$(grep -c 'digm-' pipeline.sh)" -gt 30 ]
  PATH="$PWD/shim:$PATH" setsid bash -c 'set -euo pipefail; source ./pipeline.sh' > out.log 2> err.log &
  echo $! > group.pid
  rc=0
  for _ in $(seq 3000); do kill -0 "$(cat group.pid)" 2>/dev/null || break; sleep 0.1; done  # 300 s at most
  ! kill -0 "$(cat group.pid)" 2>/dev/null || { echo "still running after 300 s"; tail -n 20 err.log; false; }
  wait "$(cat group.pid)" || rc=$?
  [ "$rc" -eq 0 ] || { tail -n 40 out.log; tail -n 40 err.log; false; }
  cmp copy.flac track.flac
  cmp copy2.flac track.flac
  cmp dht.flac track.flac
  cmp bought.flac track.flac
  cmp paid.flac track.flac
  cmp paid2.flac track.flac
  cmp set.mp3 sent.mp3
  jq -e '.stream and .root' set.json
  jq -e '.schema == "digm.receipt/1" and (.deliveries | length) >= 1' r.json
  [ "$(sqlite3 ledger.db 'SELECT count(*) FROM journal GROUP BY transfer HAVING sum(amount) != 0' | wc -l)" -eq 0 ]
}
