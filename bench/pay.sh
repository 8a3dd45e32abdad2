#!/usr/bin/env bash
# digm-pay settling 10,000 signed receipts (3 deliveries each, so 30,000
# transfers and 60,000 journal rows) into a fresh SQLite ledger in one run,
# then settling them again (all already settled: nothing to do).
# No outside tool settles receipts, so the time is held to the issue's target
# (<= 10 s) rather than to a ratio.
# Usage: bench/pay.sh [BIN_DIR]
source "$(dirname "$0")/lib.sh" "$@"
cd "$work"


echo "signing 10,000 receipts..."
printf '{"schema":"digm.wallet/1","secret":"%064x"}\n' 7 > listener.wallet
chmod 600 listener.wallet
jq -n '{schema: "digm.receipt/1", root: "00", listener: "0x", started: "2026-01-01T10:00:00Z",
        finished: "2026-01-01T10:03:00Z", dropped: [],
        deliveries: [range(3) | {node_id: ("0x" + ("00" * 19) + "a\(.)"), url: "http://127.0.0.1:\(7071 + .)",
                                 chunks: [.], bytes: (5123457 * (. + 1))}]}' > template.json
mkdir receipts
"$bin/digm-test-receipts" template.json listener.wallet 10000 receipts
listener=$(jq -r .listener receipts/r-000000.json)
"$bin/digm-pay" deposit --to "$listener" --amount 1000000 --ledger ledger.db > /dev/null

first=$(seconds "$bin/digm-pay" settle receipts/r-*.json --price-per-mb 0.001 --ledger ledger.db)
again=$(seconds "$bin/digm-pay" settle receipts/r-*.json --price-per-mb 0.001 --ledger ledger.db)
"$bin/digm-pay" check --ledger ledger.db
paid=$(sqlite3 ledger.db "SELECT count(*) FROM transfers t JOIN postings p ON p.id = t.posting WHERE p.kind = 'settle'")
echo "settle 10,000 receipts ($paid transfers): ${first} s   target <= 10 s: $(verdict "$first" 10 le)"
echo "settle them again (nothing to do):     ${again} s"
