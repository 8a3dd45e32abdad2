// web/merkle.js against tests/vectors/merkle (the vectors the C++ library
// is checked against): leaf i = SHA-256(u8(i mod 256) ‖ u32be(i)) (SPEC §3).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { merkleRoot } from "../../web/merkle.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "vectors", "merkle");

function leaves(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(5);
    b[0] = i % 256;
    b.writeUInt32BE(i, 1);
    out.push(new Uint8Array(createHash("sha256").update(b).digest()));
  }
  return out;
}

const roots = readdirSync(dir).filter((f) => f.startsWith("root-")).sort();

test("there are root vectors", () => assert.ok(roots.length >= 5));

for (const f of roots) {
  const v = JSON.parse(readFileSync(join(dir, f), "utf8"));
  test(`root of ${v.n} leaves`, async () => assert.equal(await merkleRoot(leaves(v.n)), v.root));
}

test("sizes 1 to 40: the root differs from every other size's, and from a changed leaf's", async () => {
  const seen = new Set();
  for (let n = 1; n <= 40; n++) {
    const l = leaves(n);
    const r = await merkleRoot(l);
    assert.ok(!seen.has(r));
    seen.add(r);
    l[n - 1] = new Uint8Array(32);
    assert.notEqual(await merkleRoot(l), r);
  }
});
