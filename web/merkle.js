// The track root (SPEC §3, RFC 9162 §2.1.1) over chunk hashes, with
// WebCrypto's SHA-256: leaf = SHA-256(0x00 ‖ chunk hash), node = SHA-256(0x01
// ‖ left ‖ right), split at the largest power of two below n; no leaves:
// SHA-256(""). Checked against tests/vectors/merkle by tests/js/.

import { bytesToHex, hexToBytes } from "./chunk.js";

const subtle = globalThis.crypto.subtle;

async function hash(prefix, ...parts) {
  const len = parts.reduce((n, p) => n + p.length, prefix === null ? 0 : 1);
  const buf = new Uint8Array(len);
  let at = 0;
  if (prefix !== null) buf[at++] = prefix;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await subtle.digest("SHA-256", buf));
}

// Bottom-up, as the C++ library: an unpaired last node is carried up as is,
// which gives the RFC's split tree.
export async function merkleRoot(chunkHashes) {
  if (chunkHashes.length === 0) return bytesToHex(await hash(null));
  let level = await Promise.all(chunkHashes.map((h) => hash(0, typeof h === "string" ? hexToBytes(h) : h)));
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(hash(1, level[i], level[i + 1]));
    const paired = await Promise.all(next);
    if (level.length % 2) paired.push(level[level.length - 1]);
    level = paired;
  }
  return bytesToHex(level[0]);
}
