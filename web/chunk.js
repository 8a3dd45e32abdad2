// A chunk's stored form (SPEC §2) in the browser: its SHA-256, and its
// AES-256-GCM opening under the nonce and AAD bound to its place, through
// WebCrypto (crypto.subtle), so nothing but the platform checks and opens
// it. The same module runs under node's test runner against the vectors in
// tests/vectors/chunk that the C++ library is checked against too.

const subtle = globalThis.crypto.subtle;
const TAG = 16;
const LABEL = new TextEncoder().encode("digm.chunk/1");

export function hexToBytes(hex) {
  if (typeof hex !== "string" || hex.length % 2 || /[^0-9a-f]/i.test(hex)) {
    throw new Error("not hex: " + String(hex).slice(0, 16));
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

// nonce = nonce_prefix (8 bytes) ‖ u32be(index)
export function chunkNonce(prefix, index) {
  if (prefix.length !== 8) throw new Error("a nonce prefix is 8 bytes");
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new Error("bad chunk index");
  const n = new Uint8Array(12);
  n.set(prefix);
  new DataView(n.buffer).setUint32(8, index);
  return n;
}

// AAD = "digm.chunk/1" ‖ u64be(index) ‖ u64be(plaintext length) ‖ u8(flags: 1 = zstd)
export function chunkAad(index, plain, z) {
  const a = new Uint8Array(LABEL.length + 17);
  a.set(LABEL);
  const v = new DataView(a.buffer);
  v.setBigUint64(LABEL.length, BigInt(index));
  v.setBigUint64(LABEL.length + 8, BigInt(plain));
  a[LABEL.length + 16] = z ? 1 : 0;
  return a;
}

export async function sha256Hex(bytes) {
  return bytesToHex(new Uint8Array(await subtle.digest("SHA-256", bytes)));
}

// A CryptoKey for AES-256-GCM decryption from the track key's 32 bytes.
export async function importTrackKey(raw) {
  if (raw.length !== 32) throw new Error("a track key is 32 bytes");
  return subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["decrypt"]);
}

export class ChunkError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind; // "hash" | "tag" | "length"
  }
}

// Opens chunk `index` of a manifest entry {hash, size, plain, z} from its
// stored bytes: checks the hash, then (with `key`, a CryptoKey, and the
// nonce prefix) the GCM tag. Returns the payload: the plaintext, or for a
// z chunk the zstd frame the caller decompresses. `hashChecked`: the caller
// has already compared SHA-256(stored) with ref.hash (it is not computed twice).
export async function openChunk(stored, ref, index, key = null, noncePrefix = null, hashChecked = false) {
  if (stored.length !== ref.size || (!hashChecked && (await sha256Hex(stored)) !== ref.hash)) {
    throw new ChunkError("hash", `chunk ${index}: hash mismatch`);
  }
  let payload = stored;
  if (key) {
    if (stored.length < TAG) throw new ChunkError("length", `chunk ${index}: shorter than a tag`);
    try {
      payload = new Uint8Array(
        await subtle.decrypt(
          {
            name: "AES-GCM",
            iv: chunkNonce(noncePrefix, index),
            additionalData: chunkAad(index, ref.plain, ref.z),
            tagLength: 128,
          },
          key,
          stored,
        ),
      );
    } catch {
      throw new ChunkError("tag", `chunk ${index}: authentication tag mismatch (wrong key, or the chunk was altered)`);
    }
  }
  if (!ref.z && payload.length !== ref.plain) throw new ChunkError("length", `chunk ${index}: wrong length`);
  return payload;
}
