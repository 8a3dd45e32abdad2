// web/live.js against what the C++ library made: a signed stream document
// and head (tests/vectors/signed, from digm-live publish) and the RFC 9162
// proofs a node gave (tests/vectors/merkle/stream-proofs.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hexToBytes } from "../../web/chunk.js";
import { checkHead, checkStream, signerOf, verifyConsistency, verifyInclusion } from "../../web/live.js";

const vectors = join(dirname(fileURLToPath(import.meta.url)), "..", "vectors");
const signed = JSON.parse(readFileSync(join(vectors, "signed", "stream.json"), "utf8"));
const proofs = JSON.parse(readFileSync(join(vectors, "merkle", "stream-proofs.json"), "utf8"));

test("the signer of a document the C++ library signed is recovered, title escapes and all", async () => {
  assert.equal(await signerOf(signed.stream), signed.signer);
  assert.equal(await signerOf(signed.head), signed.signer);
  const stream = await checkStream(signed.id, signed.stream);
  await checkHead(signed.id, stream, signed.head, null);
});

test("a changed document, a changed signature or another id is refused", async () => {
  await assert.rejects(checkStream(signed.id, { ...signed.stream, title: "Other set" }));
  await assert.rejects(checkStream("00".repeat(32), signed.stream));
  const head = { ...signed.head, size: signed.head.size + 1 };
  await assert.rejects(checkHead(signed.id, signed.stream, head, null));
  const sig = signed.head.signature;
  const bad = { ...signed.head, signature: sig.slice(0, 10) + (sig[10] === "0" ? "1" : "0") + sig.slice(11) };
  await assert.rejects(checkHead(signed.id, signed.stream, bad, null));
  const later = { ...signed.head, size: 0, time: "2026-12-02T00:00:00Z" };
  await assert.rejects(checkHead(signed.id, signed.stream, later, signed.head)); // goes back (and is unsigned)
});

test("every inclusion proof the node gave holds, and none holds for another leaf or index", async () => {
  assert.ok(proofs.inclusion.length >= 8);
  for (const p of proofs.inclusion) {
    const path = p.path.map(hexToBytes);
    const root = hexToBytes(p.root), leaf = hexToBytes(p.leaf);
    assert.ok(await verifyInclusion(leaf, p.index, p.tree_size, path, root), `index ${p.index}`);
    const other = leaf.slice();
    other[0] ^= 1;
    assert.ok(!(await verifyInclusion(other, p.index, p.tree_size, path, root)));
    if (p.tree_size > 1) assert.ok(!(await verifyInclusion(leaf, (p.index + 1) % p.tree_size, p.tree_size, path, root)));
  }
});

test("every consistency proof the node gave holds, and a changed one does not", async () => {
  assert.ok(proofs.consistency.length >= 30);
  for (const c of proofs.consistency) {
    const path = c.path.map(hexToBytes);
    const r1 = hexToBytes(c.root1), r2 = hexToBytes(c.root2);
    assert.ok(await verifyConsistency(c.size1, c.size2, r1, r2, path), `${c.size1} -> ${c.size2}`);
    const bent = path.map((p) => p.slice());
    bent[bent.length - 1][5] ^= 1;
    assert.ok(!(await verifyConsistency(c.size1, c.size2, r1, r2, bent)), `bent ${c.size1} -> ${c.size2}`);
    assert.ok(!(await verifyConsistency(c.size1, c.size2, r2, r1, path)));
  }
});
