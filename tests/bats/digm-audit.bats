#!/usr/bin/env bats
# digm-audit: real nodes on 127.0.0.1, deleted and altered chunks, lying
# proxies, a stopped node, three strikes, concurrent runs, a node that
# charges for its content, the fresh index.

load helpers

setup_file() {
  file_fixture
  cd "$FIX"
  digm-chunk "$AUDIO/track.mp3" --chunk-size 16K --store chunks | digm-merkle seal > mp3.json
  head -c 16384 "$AUDIO/track.wav" > one.bin
  digm-chunk one.bin --chunk-size 16K --store chunks | digm-merkle seal > one.json
  for n in n1 n2 n3; do
    digm-seed init --data "$n" > /dev/null
    for t in mp3 one; do digm-seed add "$t.json" --from chunks --data "$n" > /dev/null; done
  done
  make_wallet auditor.wallet 00000000000000000000000000000000000000000000000000000000000000a1
}

setup() {
  cd "$BATS_TEST_TMPDIR"
  for n in n1 n2 n3; do cp -r "$FIX/$n" .; done
}

teardown() {
  for p in ${STOPPED:-}; do kill -CONT "$p" 2>/dev/null || true; done
  stop_nodes
  [ -z "${LIAR:-}" ] || kill "$LIAR" 2>/dev/null || true
}

root() { jq -r .root "$FIX/$1.json"; }
chunk_file() { echo "$1/chunks/${2:0:2}/$2"; }  # chunk_file NODE_DIR HASH
one_hash() { jq -r '.chunks[0].hash' "$FIX/one.json"; }
node_id() { curl -fsS "$1/ping" | jq -r .node_id; }
three_nodes() { start_node n1; start_node n2; start_node n3; }
audit() { digm-audit run --db audit.db "$@"; }
ok_of() { jq -rs --arg u "$1" 'map(select(.schema == "digm.audit/1" and .url == $u)) | .[0].ok' <<<"$2"; }
reason_of() { jq -rs --arg u "$1" 'map(select(.schema == "digm.audit/1" and .url == $u)) | .[0].reason' <<<"$2"; }

# --- arguments ---------------------------------------------------------------

@test "usage errors exit 2 with nothing on stdout" {
  run -2 --separate-stderr digm-audit
  [ -z "$output" ]
  run -2 --separate-stderr digm-audit prepare "$FIX/one.json" --db audit.db
  [[ "$stderr" == *"--from is required"* ]]
  run -2 --separate-stderr digm-audit run --db audit.db
  [ -z "$output" ]
  [[ "$stderr" == *"error: no node to audit"* ]]
  run -2 --separate-stderr digm-audit run --db audit.db --peer http://127.0.0.1:1 --mode retrieve
  [[ "$stderr" == *"--mode retrieve needs --manifest"* ]]
  run -2 digm-audit run --db audit.db --peer http://127.0.0.1:1 --sample 1.5
  run -0 digm-audit --help
  [[ "$output" == *prepare* && "$output" == *index* ]]
}

@test "a database that does not exist is bad input (exit 3), and is not created" {
  run -3 --separate-stderr digm-audit run --db missing.db --peer http://127.0.0.1:1
  [[ "$stderr" == *"'missing.db' does not exist (run digm-audit prepare first)"* ]]
  [ ! -e missing.db ]
  run -3 --separate-stderr digm-audit index --db missing.db
  [ ! -e missing.db ]
  # A prepare that fails makes no database either, and numbers out of range are usage errors.
  echo garbage > garbage.json
  run -3 --separate-stderr digm-audit prepare garbage.json --from "$FIX/chunks" --db a.db
  [ ! -e a.db ]
  run -3 --separate-stderr digm-audit prepare "$FIX/one.json" --from nowhere --db a.db
  [ ! -e a.db ]
  run -2 --separate-stderr digm-audit index --db missing.db --epoch -5
  [[ "$stderr" == *"--epoch: Value -5 not in range 0 to"* ]]
  run -2 --separate-stderr digm-audit run --db missing.db --peer http://127.0.0.1:1 --timeout -1
}

# --- prepare -----------------------------------------------------------------

@test "prepare stores count challenges per chunk and reports the stock" {
  n=$(jq '.chunks | length' "$FIX/mp3.json")
  run -0 digm-audit prepare "$FIX/mp3.json" --from "$FIX/chunks" --db audit.db --count 3
  jq -e --arg r "$(root mp3)" --argjson n "$n" \
    '.schema == "digm.prepared/1" and .root == $r and .chunks == $n and .added == 3*$n and .unused == 3*$n' <<<"$output"
  run -0 digm-audit prepare "$FIX/mp3.json" --from "$FIX/chunks" --db audit.db --count 2
  jq -e --argjson n "$n" '.added == 2*$n and .unused == 5*$n' <<<"$output"
}

@test "prepare refuses chunks that do not match their hashes (exit 4) and adds nothing" {
  cp -r "$FIX/chunks" chunks
  h=$(one_hash)
  f=$(chunk_file . "$h")
  chmod u+w "$f"
  printf 'x' | dd of="$f" bs=1 seek=100 conv=notrunc status=none
  run -4 --separate-stderr digm-audit prepare "$FIX/one.json" --from chunks --db audit.db
  [[ "$stderr" == *"does not match its hash"* ]]
  run -0 digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 1
  jq -e '.unused == 1' <<<"$output"
}

@test "prepare of an unsealed or malformed manifest is bad input (exit 3)" {
  echo '{"schema":"digm.manifest/1"' > bad.json
  run -3 digm-audit prepare bad.json --from "$FIX/chunks" --db audit.db
}

# --- run ---------------------------------------------------------------------

@test "honest nodes pass: one signed answer each, exit 0" {
  digm-audit prepare "$FIX/mp3.json" --from "$FIX/chunks" --db audit.db > /dev/null
  three_nodes
  run -0 --separate-stderr audit --peer "$URL_n1" --peer "$URL_n2" --peer "$URL_n3" --epoch 7
  [ "$(wc -l <<<"$output")" -eq 3 ]
  jq -e --arg r "$(root mp3)" 'select(.schema == "digm.audit/1") | .ok and .reason == null and .epoch == 7
    and .root == $r and .mode == "challenge" and (.latency_ms | type) == "number"' <<<"$output"
  [ "$(jq -r .node_id <<<"$(head -1 <<<"$output")")" = "$(node_id "$URL_n1")" ]
  [ "$(jq -r .url <<<"$(sed -n 3p <<<"$output")")" = "$URL_n3" ]
}

@test "a node whose chunk file was deleted fails as missing; the others pass (exit 1)" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db > /dev/null
  rm -f "$(chunk_file n2 "$(one_hash)")"
  three_nodes
  run -1 --separate-stderr audit --peer "$URL_n1" --peer "$URL_n2" --peer "$URL_n3" --epoch 1
  [ "$(ok_of "$URL_n1" "$output")" = true ]
  [ "$(ok_of "$URL_n2" "$output")" = false ]
  [ "$(reason_of "$URL_n2" "$output")" = missing ]
  [ "$(ok_of "$URL_n3" "$output")" = true ]
}

@test "a node whose chunk was altered answers a wrong digest and fails" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db > /dev/null
  f=$(chunk_file n3 "$(one_hash)")
  chmod u+w "$f"
  head -c 16384 /dev/urandom > "$f"
  three_nodes
  run -1 --separate-stderr audit --peer "$URL_n3" --epoch 1
  [ "$(reason_of "$URL_n3" "$output")" = wrong-digest ]
}

@test "a node answering random digests fails, signed by itself or not signed right" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 8 > /dev/null
  start_behind_liar n1 random 1 --on audit
  run -1 --separate-stderr audit --peer "$URL_liar" --epoch 1
  [ "$(reason_of "$URL_liar" "$output")" = bad-signature ]
  kill "$LIAR"; wait "$LIAR" 2>/dev/null || true
  stop_nodes
  start_behind_liar n1 resign 1 --on audit
  run -1 --separate-stderr audit --peer "$URL_liar" --epoch 2
  [ "$(reason_of "$URL_liar" "$output")" = wrong-signer ]
}

@test "framing: a lying proxy in front of an honest node fails as itself, never as the node" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 20 > /dev/null
  make_wallet auditor.wallet 00000000000000000000000000000000000000000000000000000000000000a1
  start_node n1
  id=$(node_id "$URL_n1")
  start_liar "$URL_n1" random 1 --on audit
  for e in 1 2 3 4; do
    run -1 --separate-stderr audit --peer "$URL_liar" --epoch $e --wallet auditor.wallet
    echo "$output" >> all.ndjson
  done
  # The proxy cannot pass the node's key off as its own: nothing is held against it.
  jq -se --arg id "$id" 'map(select(.node_id == $id)) | length == 0' all.ndjson
  jq -se --arg u "$URL_liar" 'map(select(.schema == "digm.audit/1")) | length == 4
    and all(.[]; .url == $u and .node_id == null and .reason == "bad-identity")' all.ndjson
  # Struck out as a URL: a slash record that names no key burns no stake.
  jq -se --arg u "$URL_liar" 'map(select(.schema == "digm.slash/1")) | length == 1
    and .[0].node_id == null and .[0].url == $u' all.ndjson
  run -0 --separate-stderr audit --peer "$URL_n1" --epoch 5
  run -0 --separate-stderr digm-audit index --db audit.db --epoch 5
  json_holds "$output" --arg id "$id" \
    '.nodes[] | select(.node_id == $id) | .passed == 1 and .failed == 0 and .healthy'
}

@test "outsourcing: a proxy that holds nothing cannot pass by re-signing a holder's answers" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 4 > /dev/null
  start_node n1
  # The proxy proves its own key (its pong is its own) and re-signs n1's answers.
  start_liar "$URL_n1" resign 1 --on audit --own-identity
  run -1 --separate-stderr audit --peer "$URL_liar" --epoch 1
  [ "$(reason_of "$URL_liar" "$output")" = wrong-digest ]
  jq -se --arg u "$URL_liar" --arg n1 "$(node_id "$URL_n1")" \
    'map(select(.url == $u)) | .[0].node_id | startswith("0x") and . != $n1' <<<"$output"
}

@test "a stopped node times out, is asked again, then fails" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 8 > /dev/null
  three_nodes
  run -0 --separate-stderr audit --peer "$URL_n1" --peer "$URL_n3" --epoch 1
  id3=$(node_id "$URL_n3")
  kill -STOP "$PID_n3"
  STOPPED=$PID_n3
  run -1 --separate-stderr audit --peer "$URL_n1" --peer "$URL_n3" --epoch 2 --timeout 0.5 --retries 3
  [ "$(ok_of "$URL_n1" "$output")" = true ]
  [ "$(reason_of "$URL_n3" "$output")" = timeout ]
  # The failure counts against the node it was before.
  jq -se --arg u "$URL_n3" --arg id "$id3" 'map(select(.url == $u)) | .[0].node_id == $id' <<<"$output"
  run -0 --separate-stderr digm-audit index --db audit.db --epoch 2
  json_holds "$output" --arg u "$URL_n3" \
    '.nodes[] | select(.url == $u) | .passed == 1 and .failed == 1 and .consecutive_failures == 1'
}

@test "a node answering late is asked again with a new challenge; no challenge is sent twice" {
  digm-audit prepare "$FIX/mp3.json" --from "$FIX/chunks" --db audit.db --count 4 > /dev/null
  start_behind_liar n1 stall 1 --on audit --log sent.log
  run -1 --separate-stderr audit --peer "$URL_liar" --epoch 1 --timeout 0.5 --retries 3 --challenges 2
  [ "$(jq -s 'length' <<<"$output")" -eq 2 ]
  jq -e 'select(.schema == "digm.audit/1") | .reason == "timeout"' <<<"$output"
  kill "$LIAR"; wait "$LIAR" 2>/dev/null || true
  stop_nodes
  start_behind_liar n1 flip 0 --log sent.log
  for e in 2 3 4; do run -0 --separate-stderr audit --peer "$URL_liar" --epoch $e --challenges 5; done
  # 2 challenges asked 4 times each, then 15 more: 23 sent, all different.
  [ "$(wc -l < sent.log)" -eq 23 ]
  [ "$(jq -r .nonce sent.log | sort -u | wc -l)" -eq 23 ]
}

@test "an exhausted stock is reported, and the node is not audited again with old challenges" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 2 > /dev/null
  three_nodes
  run -0 --separate-stderr audit --peer "$URL_n1" --peer "$URL_n2" --epoch 1
  [[ "$stderr" == *"warning: track $(root one | cut -c1-16)…: 0 of 2 challenges left, 1 of 1 chunks exhausted"* ]]
  [[ "$stderr" == *"hint: run digm-audit prepare again"* ]]
  run -1 --separate-stderr audit --peer "$URL_n3" --epoch 1
  [ -z "$output" ]
  [[ "$stderr" == *"$URL_n3: not audited: no challenge left for the tracks it holds"* ]]
  [[ "$stderr" == *"error: no node was audited"* ]]
}

@test "three failed epochs in a row strike a node out: exactly one slash record, with evidence" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 20 > /dev/null
  three_nodes
  digm-audit run --db audit.db --peer "$URL_n2" --epoch 1 > /dev/null
  saved=$(chunk_file n2 "$(one_hash)")
  mv "$saved" saved.chunk
  for e in 2 3 4 5; do
    run -1 --separate-stderr audit --peer "$URL_n1" --peer "$URL_n2" --epoch $e --wallet "$FIX/auditor.wallet"
    echo "$output" >> all.ndjson
  done
  [ "$(jq -s 'map(select(.schema == "digm.slash/1")) | length' all.ndjson)" -eq 1 ]
  slash=$(jq -c 'select(.schema == "digm.slash/1")' all.ndjson)
  id=$(node_id "$URL_n2")
  jq -e --arg id "$id" --arg u "$URL_n2" '.node_id == $id and .address == $id and .url == $u and .epoch == 4
    and (.evidence | length) == 3 and ([.evidence[].epoch] == [2,3,4])
    and all(.evidence[]; .reason == "missing" and (.evidence.challenge.nonce | length) == 32)
    and (.signer | startswith("0x")) and (.signature | length) == 130' <<<"$slash"
  # The slash record comes after that epoch's results.
  [ "$(jq -s 'map(.schema) | .[-1]' <<<"$(sed -n '5,7p' all.ndjson)")" = '"digm.slash/1"' ]
  # The node recovers: its count of consecutive failures starts again.
  mv saved.chunk "$saved"
  run -0 --separate-stderr audit --peer "$URL_n2" --epoch 6
  run -0 --separate-stderr digm-audit index --db audit.db --epoch 6
  json_holds "$output" --arg id "$id" \
    '.nodes[] | select(.node_id == $id) | .consecutive_failures == 0 and .passed == 2 and .failed == 4 and (.struck_out | not)'
  mv "$saved" saved.chunk
  run -1 --separate-stderr audit --peer "$URL_n2" --epoch 7
  [ "$(jq -s 'map(select(.schema == "digm.slash/1")) | length' <<<"$output")" -eq 0 ]
}

@test "a node that stays offline is struck out after three epochs, with a slash record" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 20 > /dev/null
  three_nodes
  digm-audit run --db audit.db --peer "$URL_n1" --peer "$URL_n2" --epoch 1 > /dev/null
  id=$(node_id "$URL_n2")
  kill -TERM "$PID_n2"; wait "$PID_n2" 2>/dev/null || true
  for e in 2 3 4 5; do
    run -1 --separate-stderr audit --peer "$URL_n1" --peer "$URL_n2" --epoch $e --wallet "$FIX/auditor.wallet"
    [[ "$stderr" != *"not recorded"* ]] || { echo "$stderr"; false; }
    echo "$output" >> all.ndjson
  done
  # Each epoch: a failure with root and chunk null, counted against the node it was.
  [ "$(jq -s --arg u "$URL_n2" 'map(select(.schema == "digm.audit/1" and .url == $u and (.ok | not)
      and .root == null and .chunk == null and .reason == "unreachable")) | length' all.ndjson)" -eq 4 ]
  [ "$(jq -s 'map(select(.schema == "digm.slash/1")) | length' all.ndjson)" -eq 1 ]
  jq -se --arg id "$id" 'map(select(.schema == "digm.slash/1")) | .[0] | .node_id == $id and .epoch == 4
    and ([.evidence[].epoch] == [2,3,4])' all.ndjson
  run -0 --separate-stderr digm-audit index --db audit.db --epoch 5
  json_holds "$output" --arg id "$id" \
    '.nodes[] | select(.node_id == $id) | .consecutive_failures == 4 and .struck_out and (.healthy | not)'
}

@test "re-running an epoch prints the same results and counts nothing twice" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 10 > /dev/null
  three_nodes
  first=$(audit --peer "$URL_n1" --peer "$URL_n2" --epoch 3)
  again=$(audit --peer "$URL_n1" --peer "$URL_n2" --epoch 3)
  [ "$first" = "$again" ]
  run -0 --separate-stderr digm-audit index --db audit.db --epoch 3
  json_holds "$output" '(.nodes | length) == 2 and all(.nodes[]; .passed == 1)'
  # Eight challenges are left: only two were used.
  run -0 digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 1
  jq -e '.unused == 9' <<<"$output"
}

@test "two runs on one database take turns: the second waits, or gives up with a clear message" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 10 > /dev/null
  three_nodes
  digm-audit run --db audit.db --peer "$URL_n3" --epoch 1 > /dev/null
  kill -STOP "$PID_n3"
  STOPPED=$PID_n3
  digm-audit run --db audit.db --peer "$URL_n1" --peer "$URL_n2" --peer "$URL_n3" --epoch 2 \
    --timeout 0.5 --retries 3 > first.ndjson 2> first.err &
  first=$!
  sleep 0.5
  run -3 --separate-stderr digm-audit run --db audit.db --peer "$URL_n1" --epoch 2 --lock-timeout 0.2
  [ -z "$output" ]
  [[ "$stderr" == *"error: 'audit.db' is busy: another digm-audit is using it"* ]]
  run -1 --separate-stderr digm-audit run --db audit.db --peer "$URL_n1" --peer "$URL_n2" \
    --peer "$URL_n3" --epoch 2 --lock-timeout 30 --timeout 0.5
  wait "$first" || true
  [ "$output" = "$(cat first.ndjson)" ]
  run -0 --separate-stderr digm-audit index --db audit.db --epoch 2
  json_holds "$output" '(.nodes | length) == 3
    and ([.nodes[] | .passed + .failed] | sort) == [1, 1, 2]'
}

@test "retrieve mode needs only the manifest and catches a node serving altered bytes" {
  start_behind_liar n1 flip 1
  start_node n2
  run -1 digm-audit run --db fresh.db --mode retrieve --manifest "$FIX/mp3.json" \
    --peer "$URL_liar" --peer "$URL_n2" --epoch 1 --challenges 3
  [ "$(jq -s 'length' <<<"$output")" -eq 6 ]
  jq -se --arg u "$URL_liar" 'map(select(.url == $u)) | length == 3
    and all(.[]; .mode == "retrieve" and (.ok | not) and .reason == "wrong-hash")' <<<"$output"
  jq -se --arg u "$URL_n2" 'map(select(.url == $u)) | length == 3 and all(.[]; .ok)' <<<"$output"
}

@test "retrieve mode leaves a node that charges for its content, never striking it; challenges audit it" {
  start_node n1
  start_node n2 --price-per-mb 0.001 --ledger ledger.db
  for e in 1 2 3; do
    run -0 --separate-stderr audit --mode retrieve --manifest "$FIX/mp3.json" --peer "$URL_n1" \
      --peer "$URL_n2" --epoch "$e"
    [ "$(ok_of "$URL_n1" "$output")" = true ]
    [ "$(jq -s 'length' <<<"$output")" -eq 1 ]  # n1's result alone: no result, no slash for n2
    [[ "$stderr" == *"$URL_n2: not audited: charges 0.001 XFG per MB for its content"* ]]
  done
  # Challenges are answered free: it passes them.
  digm-audit prepare "$FIX/mp3.json" --from "$FIX/chunks" --db audit.db > /dev/null
  run -0 --separate-stderr audit --peer "$URL_n2" --epoch 4
  [ "$(ok_of "$URL_n2" "$output")" = true ]
  digm-audit index --db audit.db | jq -e --arg id "$(node_id "$URL_n2")" \
    '.nodes[] | select(.node_id == $id) | .passed == 1 and .failed == 0 and .consecutive_failures == 0'
}

# --- the fresh index ---------------------------------------------------------

@test "the fresh index: scores follow the decaying formula, health needs a recent pass" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 10 > /dev/null
  three_nodes
  audit --peer "$URL_n1" --peer "$URL_n2" --epoch 1 > /dev/null
  audit --peer "$URL_n1" --peer "$URL_n2" --epoch 2 > /dev/null
  rm "$(chunk_file n2 "$(one_hash)")"
  audit --peer "$URL_n1" --peer "$URL_n2" --epoch 3 > /dev/null || true
  run -0 digm-audit index --db audit.db --epoch 3
  jq -e '.schema == "digm.fresh-index/1" and .epoch == 3 and (.generated | test("^[0-9-]+T[0-9:]+Z$"))' <<<"$output"
  # pass, pass, fail with λ = 0.9: α = 1.71, β = 1, score = 1.71 / 2.71.
  jq -e --arg u "$URL_n2" '.nodes[] | select(.url == $u) | .score == 0.630996 and (.healthy | not)
    and .passed == 2 and .failed == 1 and .consecutive_failures == 1' <<<"$output"
  jq -e --arg u "$URL_n1" '.nodes[] | select(.url == $u) | .score == 1 and .healthy and (.last_ok | type) == "string"' <<<"$output"
  [ "$(jq -r '.nodes[0].url' <<<"$output")" = "$URL_n1" ]
  # Two epochs later without an audit, nobody is healthy any more.
  run -0 --separate-stderr digm-audit index --db audit.db --epoch 5
  json_holds "$output" 'all(.nodes[]; .healthy | not)'
  run -0 --separate-stderr digm-audit index --db audit.db --epoch 3 --decay 0.5
  json_holds "$output" --arg u "$URL_n2" \
    '.nodes[] | select(.url == $u) | .score == 0.428571'
}

@test "digm-fetch --index fetches from the healthy nodes of the fresh index" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 10 > /dev/null
  three_nodes
  rm "$(chunk_file n2 "$(one_hash)")"
  audit --peer "$URL_n1" --peer "$URL_n2" --epoch 1 > /dev/null || true
  digm-audit index --db audit.db --epoch 1 -o index.json
  make_wallet listener.wallet 0000000000000000000000000000000000000000000000000000000000000002
  digm-fetch "$(root mp3)" --index index.json --no-cache -o got.mp3 --wallet listener.wallet --receipt r.json
  assert_same_bytes got.mp3 "$AUDIO/track.mp3"
  jq -e --arg u "$URL_n1" '[.deliveries[] | select(.bytes > 0) | .url] == [$u]' r.json
}

@test "digm-fetch never uses a node the fresh index struck out, however it learns of it" {
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db audit.db --count 10 > /dev/null
  three_nodes
  audit --peer "$URL_n1" --peer "$URL_n2" --epoch 1 > /dev/null
  mv "$(chunk_file n2 "$(one_hash)")" saved.chunk
  for e in 2 3 4; do audit --peer "$URL_n1" --peer "$URL_n2" --epoch $e > /dev/null || true; done
  mv saved.chunk "$(chunk_file n2 "$(one_hash)")"   # it serves again, but is struck out
  digm-audit index --db audit.db --epoch 4 -o index.json
  jq -e --arg u "$URL_n2" '.nodes[] | select(.url == $u) | .struck_out' index.json
  make_wallet listener.wallet 0000000000000000000000000000000000000000000000000000000000000002
  # n2 is also named by --peer and would be found through n1's /peers.
  digm-fetch "$(root mp3)" --index index.json --peer "$URL_n2" --no-cache -o got.mp3 \
    --wallet listener.wallet --receipt r.json
  assert_same_bytes got.mp3 "$AUDIO/track.mp3"
  jq -e --arg u "$URL_n2" '[.deliveries[].url, .dropped[].url] | index($u) | not' r.json
}

@test "contrib/digm-audit.cron: its bootstrap and its hourly line work as written" {
  mkdir -p lib log
  digm-audit prepare "$FIX/one.json" --from "$FIX/chunks" --db lib/audit.db --count 10 > /dev/null
  three_nodes
  digm-audit run --db lib/audit.db --peer "$URL_n1" --peer "$URL_n2" --peer "$URL_n3" > /dev/null
  digm-audit index --db lib/audit.db -o lib/nodes.json
  line=$(grep -E '^[0-9*]' "$DIGM_SRC/contrib/digm-audit.cron" | cut -d' ' -f7- \
    | sed -e "s|/var/lib/digm|$PWD/lib|g" -e "s|/var/log/digm|$PWD/log|g")
  [ -n "$line" ]
  sh -c "$line"
  [ "$(wc -l < log/audit.ndjson)" -eq 3 ]
  jq -e '(.nodes | length) == 3 and all(.nodes[]; .healthy)' lib/nodes.json
}
