// A live stream in the page (SPEC §9, §10), checked as digm-fetch --live
// checks it: the stream document's id is its hash and its publisher signed
// it; every head is signed by the publisher (secp256k1 recovery and the
// keccak-256 address, with the vendored noble libraries), its size and
// time do not go back, and a consistency proof ties it to the head before;
// every chunk is in the head's tree by an inclusion proof. Heads are
// followed by the node's long poll; the page joins at the live edge.

import { bytesToHex, hexToBytes } from "./chunk.js";
import { keccak_256 } from "./noble/sha3.js";
import { Point, recoverPublicKeyAsync } from "./noble/secp256k1.js";

const subtle = globalThis.crypto.subtle;
const enc = new TextEncoder();

// The canonical form (sorted members, no spaces, no "signature"): what was
// signed and what a stream id hashes (as the C++ library's CanonicalForm).
export function canonical(doc) {
  const sort = (v) => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object") {
      const out = {};
      for (const k of Object.keys(v).sort()) out[k] = sort(v[k]);
      return out;
    }
    return v;
  };
  const copy = { ...doc };
  delete copy.signature;
  return JSON.stringify(sort(copy));
}

export async function sha256(bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

// The address ("0x" + 40 hex) that signed `doc`, or an Error.
export async function signerOf(doc) {
  if (typeof doc.signature !== "string" || !/^[0-9a-f]{130}$/i.test(doc.signature)) {
    throw new Error("unsigned or malformed signature");
  }
  const sig = hexToBytes(doc.signature.toLowerCase());
  const v = sig[64] >= 27 ? sig[64] - 27 : sig[64];
  const recovered = new Uint8Array(65);
  recovered[0] = v;
  recovered.set(sig.subarray(0, 64), 1);
  const pub = await recoverPublicKeyAsync(recovered, enc.encode(canonical(doc)), { prehash: true });
  const full = Point.fromBytes(pub).toBytes(false);
  return "0x" + bytesToHex(keccak_256(full.subarray(1)).subarray(12));
}

async function node(prefix, a, b) {
  const buf = new Uint8Array(65);
  buf[0] = prefix;
  buf.set(a, 1);
  if (b) buf.set(b, 33);
  return sha256(b ? buf : buf.subarray(0, 33));
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// RFC 9162 §2.1.3.2: `leaf` (a chunk hash) is entry `index` of the tree of
// `size` whose root is `root`.
export async function verifyInclusion(leaf, index, size, path, root) {
  if (index >= size) return false;
  let fn = index, sn = size - 1;
  let r = await node(0, leaf);
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await node(1, p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = await node(1, r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && same(r, root);
}

// RFC 9162 §2.1.4.2: the tree of size2 (root2) extends the tree of size1 (root1).
export async function verifyConsistency(size1, size2, root1, root2, path) {
  if (size1 > size2) return false;
  if (size1 === size2) return path.length === 0 && same(root1, root2);
  if (size1 === 0) return path.length === 0;
  if (path.length === 0) return false;
  let p = path;
  if ((size1 & (size1 - 1)) === 0) p = [root1, ...path];
  let fn = size1 - 1, sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  let fr = p[0], sr = p[0];
  for (const c of p.slice(1)) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      fr = await node(1, c, fr);
      sr = await node(1, c, sr);
      while (!(fn & 1) && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = await node(1, sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return same(fr, root1) && same(sr, root2) && sn === 0;
}

// The stream document of `id` from `doc`, checked: its hash is the id and
// its publisher signed it.
export async function checkStream(id, doc) {
  if (!doc || doc.schema !== "digm.stream/1") throw new Error("not a digm.stream/1");
  if (bytesToHex(await sha256(enc.encode(canonical(doc)))) !== id) {
    throw new Error("the stream document does not hash to its id");
  }
  if ((await signerOf(doc)) !== String(doc.publisher).toLowerCase()) {
    throw new Error("the stream document is not signed by its publisher");
  }
  return doc;
}

// A head of the stream, checked against the one accepted before (`last`, or
// null): signed by the publisher, of this stream, size and time not going back.
export async function checkHead(id, stream, head, last) {
  if (!head || head.schema !== "digm.tree-head/1" || head.stream !== id) throw new Error("not a head of this stream");
  if ((await signerOf(head)) !== String(stream.publisher).toLowerCase()) {
    throw new Error("a head not signed by the stream's publisher");
  }
  if (!Number.isInteger(head.size) || !/^[0-9a-f]{64}$/.test(head.root)) throw new Error("a malformed head");
  if (last && (head.size < last.size || head.time < last.time)) throw new Error("a head that goes back");
  if (last && head.size === last.size && head.root !== last.root) {
    throw new Error("two signed heads of one size with different roots: the publisher forked the stream");
  }
  return head;
}
