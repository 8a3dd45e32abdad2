// The web player's chunk crypto (web/chunk.js) against the shared vectors
// of tests/vectors/chunk, which the C++ library is checked against too.
// Run: node --test tests/js/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  chunkAad, chunkNonce, ChunkError, hexToBytes, importTrackKey, openChunk, sha256Hex,
} from "../../web/chunk.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "vectors", "chunk");
const vectors = readdirSync(dir).filter((f) => f.endsWith(".json")).sort()
  .map((f) => ({ name: f, ...JSON.parse(readFileSync(join(dir, f), "utf8")) }));

test("there are vectors for clear, sealed, compressed and refused chunks", () => {
  assert.ok(vectors.length >= 8);
  assert.ok(vectors.some((v) => v.key === null) && vectors.some((v) => v.z));
  assert.ok(vectors.some((v) => v.expect === "tag-mismatch"));
});

for (const v of vectors) {
  test(`vector ${v.name}: ${v.expect}`, async () => {
    const stored = hexToBytes(v.stored);
    assert.equal(await sha256Hex(stored), v.hash);
    const plaintext = hexToBytes(v.plaintext);
    const ref = { hash: v.hash, size: stored.length, plain: plaintext.length, z: v.z };
    const key = v.key ? await importTrackKey(hexToBytes(v.key)) : null;
    const prefix = v.key ? hexToBytes(v.nonce_prefix) : null;
    const opening = openChunk(stored, ref, v.index, key, prefix);
    if (v.expect === "ok") {
      const payload = await opening;
      assert.deepEqual(payload, v.z ? hexToBytes(v.compressed) : plaintext);
    } else {
      await assert.rejects(opening, (e) => e instanceof ChunkError && e.kind === "tag");
    }
  });
}

test("a stored chunk that is not its hash is refused before any decryption", async () => {
  const v = vectors.find((x) => x.name === "sealed-i0.json");
  const stored = hexToBytes(v.stored);
  stored[0] ^= 1;
  const ref = { hash: v.hash, size: stored.length, plain: stored.length - 16, z: false };
  await assert.rejects(openChunk(stored, ref, 0), (e) => e.kind === "hash");
});

test("nonce and AAD: the layout of SPEC §2", () => {
  const prefix = hexToBytes("a1b2c3d4e5f60718");
  assert.equal(Buffer.from(chunkNonce(prefix, 70000)).toString("hex"), "a1b2c3d4e5f6071800011170");
  const aad = chunkAad(3, 4096, true);
  assert.equal(aad.length, 29);
  assert.equal(Buffer.from(aad).toString("hex"),
    Buffer.from("digm.chunk/1").toString("hex") + "0000000000000003" + "0000000000001000" + "01");
  assert.throws(() => chunkNonce(prefix, 2 ** 32));
  assert.throws(() => hexToBytes("zz"));
});
