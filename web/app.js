// The web player (SPEC §10). "/" lists the node's tracks and live streams;
// "/play/ROOT" plays a track: the manifest's root is recomputed, every chunk
// is fetched from this node or its peers, checked against its SHA-256 and
// opened with WebCrypto (AES-256-GCM under the §2 nonce and AAD), then fed
// to the <audio> element through Media Source Extensions where the browser
// takes the format, or as one Blob at the end otherwise. The key comes from
// the URL fragment (#key=HEX, never sent to a server) or a pasted
// digm.key/1; without one the preview plays. A node whose bytes do not
// verify is marked bad and the chunk is fetched from another.
// "/play/STREAM_ID" plays a live stream from its live edge; once the stream
// has ended, its sealed track whole (or, on a node without that track, the
// stream's chunks from the first).
//
// window.digm reports what happened, for people and for the browser tests:
// {chunks, verified, bad: [node URLs], error, done, mode: "mse"|"blob", t:
// {stage: ms since navigation}, and for a live stream live: true and
// appended: [[chunk index, unix ms when it reached the player]]; for an
// ended stream played as its sealed track, sealed: the stream id; charging:
// [URLs of nodes that answered 402, which the page cannot pay]}.

import { bytesToHex, ChunkError, hexToBytes, importTrackKey, openChunk } from "./chunk.js";
import { merkleRoot } from "./merkle.js";

const $ = (id) => document.getElementById(id);
const state = (window.digm = { chunks: 0, verified: 0, bad: [], error: null, done: false, mode: "", t: {} });
const mark = (name) => (state.t[name] ??= Math.round(performance.now()));
mark("script");
const WINDOW = 4; // chunks fetched at once

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function fail(message) {
  state.error = message;
  setStatus(message, true);
}

// Starts playback; where the browser wants a gesture first, asks for one,
// unless the page has failed meanwhile (its error stays shown).
function tryPlay(audio) {
  audio.play().catch(() => state.error || setStatus("Press play."));
}

function duration(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds)) return "";
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function text(tag, content, className) {
  const el = document.createElement(tag);
  el.textContent = content;
  if (className) el.className = className;
  return el;
}

async function getJson(url, timeoutMs = 5000) {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

// --- the library --------------------------------------------------------------

// A line of the library: a link to /play/ID with the title, artist and a note.
function entry(id, title, artist, note, className = "") {
  const a = document.createElement("a");
  a.href = "/play/" + id;
  const name = text("span", "", className);
  name.append(text("strong", title || id.slice(0, 16) + "…"));
  if (artist) name.append(text("span", " — " + artist, "muted"));
  a.append(name, text("span", note, "muted"));
  const li = document.createElement("li");
  li.append(a);
  return li;
}

async function library() {
  $("library").hidden = false;
  document.title = "digm — " + location.host;
  $("node").textContent = location.host;
  const [tracks, streams] = await Promise.all([
    getJson("/tracks").catch(() => []),
    getJson("/streams").catch(() => []),
  ]);
  const list = $("tracks");
  list.replaceChildren();
  if (!tracks.length) list.append(text("li", "This node holds no track yet.", "muted"));
  for (const t of tracks) list.append(entry(t.root, t.title, t.artist, duration(t.duration)));
  const live = $("streams");
  live.replaceChildren();
  if (!streams.length) live.append(text("li", "No live stream.", "muted"));
  for (const s of streams) {
    live.append(entry(s.id, s.stream?.title, s.stream?.artist, `${s.head?.size ?? 0} chunks`, "live"));
  }
  state.listed = true;
}

// --- keys -----------------------------------------------------------------------

// key_id = the first 16 bytes of SHA-256("digm.key-id/1" ‖ key) (as the C++ library).
async function keyId(raw) {
  const label = new TextEncoder().encode("digm.key-id/1");
  const buf = new Uint8Array(label.length + raw.length);
  buf.set(label);
  buf.set(raw, label.length);
  return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", buf)).slice(0, 16));
}

function keyFromFragment() {
  const m = /(?:^#|&)key=([0-9a-fA-F]{64})(?:&|$)/.exec(location.hash);
  return m ? hexToBytes(m[1].toLowerCase()) : null;
}

function keyFromPaste(textValue) {
  const doc = JSON.parse(textValue);
  if (doc.schema !== "digm.key/1" || typeof doc.key !== "string" || doc.key.length !== 64) {
    throw new Error("not a digm.key/1");
  }
  return hexToBytes(doc.key);
}

// --- nodes ------------------------------------------------------------------------

class Nodes {
  constructor(urls) {
    this.urls = [...new Set(urls)];
    this.badSet = new Set();
    this.charging = new Map(); // url -> its price, as its invoice gave it
    this.drawn = new Map();
    for (const u of this.urls) this.draw(u);
  }
  draw(url, note = "") {
    let li = this.drawn.get(url);
    if (!li) {
      li = document.createElement("li");
      this.drawn.set(url, li);
      $("nodes").append(li);
    }
    li.textContent = url + (note ? " — " + note : "");
    li.className = this.badSet.has(url) ? "node-bad" : this.charging.has(url) ? "node-charges" : "";
  }
  markBad(url, why) {
    if (!this.badSet.has(url)) {
      this.badSet.add(url);
      state.bad.push(url);
    }
    this.draw(url, why);
  }
  // A node that charges per byte (SPEC §12) answers 402 with an invoice:
  // the page cannot pay, so it is left, not blamed.
  markCharging(url, invoice) {
    const p = invoice?.price || {};
    const price = typeof p.per_mb === "string" && typeof p.asset === "string"
      ? `${p.per_mb} ${p.asset} per MB` : "per byte";
    if (!this.charging.has(url)) (state.charging ??= []).push(url);
    this.charging.set(url, price);
    this.draw(url, "charges " + price);
  }
  add(urls) {
    for (const u of urls) {
      if (this.urls.includes(u)) continue;
      this.urls.push(u);
      this.draw(u);
    }
  }
  // The good nodes, starting at a different one for each chunk.
  order(i) {
    const good = this.urls.filter((u) => !this.badSet.has(u) && !this.charging.has(u));
    return good.slice(i % good.length).concat(good.slice(0, i % good.length));
  }
}

async function peerUrls() {
  try {
    const peers = await getJson("/peers", 2000);
    return peers.map((p) => p.url).filter((u) => typeof u === "string" && /^https?:\/\//.test(u));
  } catch {
    return [];
  }
}

// --- a track ----------------------------------------------------------------------

class WrongKey extends Error {}
let peersPromise = Promise.resolve([]);

// Chunk i's plaintext from the first node whose bytes verify.
async function fetchChunk(i, ref, nodes, key, prefix) {
  const tried = new Set();
  for (let round = 0; round < 2; round++) {
    if (round === 1) await peersPromise; // none of the nodes known so far served it: the peers too
    for (const url of nodes.order(i)) {
      if (tried.has(url)) continue;
      tried.add(url);
      let stored;
      try {
        const r = await fetch(`${url}/content/${ref.hash}`, { signal: AbortSignal.timeout(10000) });
        if (r.status === 402) nodes.markCharging(url, await r.json().catch(() => null));
        if (!r.ok) continue;
        stored = new Uint8Array(await r.arrayBuffer());
      } catch {
        continue; // unreachable: the next node
      }
      try {
        const payload = await openChunk(stored, ref, i, key, prefix);
        if (!ref.z) return payload;
        const { decompress } = await import("./fzstd.js"); // only tracks with compressed chunks need it
        return decompress(payload);
      } catch (e) {
        if (!(e instanceof ChunkError)) throw e;
        if (e.kind === "tag") throw new WrongKey(e.message); // the bytes are the manifest's: the key is wrong
        nodes.markBad(url, `served chunk ${i} with a wrong hash`);
      }
    }
  }
  if (nodes.charging.size) {
    const [url, price] = nodes.charging.entries().next().value;
    throw new Error(`${url} charges ${price}, which this page cannot pay, and no free node served chunk ${i}: ` +
      "fetch the track with digm-fetch --pay CHANNEL --wallet FILE");
  }
  throw new Error(`no node served chunk ${i} with its hash`);
}

function drawChunks(n, locked) {
  const box = $("chunks");
  box.replaceChildren();
  const cells = [];
  for (let i = 0; i < n + locked; i++) {
    const c = document.createElement("span");
    if (i >= n) c.className = "locked";
    box.append(c);
    cells.push(c);
  }
  return cells;
}

// Feeds plaintext parts in order to the <audio> element.
function makeSink(audio, mime) {
  if (window.MediaSource && mime && MediaSource.isTypeSupported(mime)) {
    state.mode = "mse";
    const ms = new MediaSource();
    audio.src = URL.createObjectURL(ms);
    const open = new Promise((resolve) => ms.addEventListener("sourceopen", resolve, { once: true }));
    let sb = null;
    const appended = async (part) => {
      await open;
      if (!sb) {
        sb = ms.addSourceBuffer(mime);
        sb.mode = "sequence";
      }
      sb.appendBuffer(part);
      await new Promise((resolve) => sb.addEventListener("updateend", resolve, { once: true }));
    };
    return {
      push: appended,
      end: async () => {
        await open;
        if (sb && sb.updating) await new Promise((r) => sb.addEventListener("updateend", r, { once: true }));
        ms.endOfStream();
      },
    };
  }
  state.mode = "blob";
  const parts = [];
  return {
    push: async (part) => parts.push(part),
    end: async () => {
      audio.src = URL.createObjectURL(new Blob(parts, { type: mime || "application/octet-stream" }));
    },
  };
}

async function playTrack(root, manifest, pastedKey = null) {
  const m = manifest.media || {};
  const name = m.title || manifest.source?.name || root.slice(0, 16) + "…";
  document.title = name + " — digm";
  $("title").textContent = name;
  $("artist").textContent = [m.artist, m.album].filter(Boolean).join(" — ");
  $("meta").textContent = [m.format, duration(m.duration), m.bitrate && m.bitrate + " kbit/s"]
    .filter(Boolean).join(" · ");
  mark("manifest");
  const hashes = manifest.chunks.map((c) => c.hash);
  const computed = await merkleRoot(hashes);
  if (computed !== root || (manifest.root && manifest.root !== root)) {
    return fail(`the manifest's chunks make root ${computed}, not ${root}: nothing is played`);
  }
  const enc = manifest.encryption;
  let n = manifest.chunks.length;
  let key = null, previewKey = null, previewChunks = 0, prefix = null;
  if (enc) {
    prefix = hexToBytes(enc.nonce_prefix);
    previewChunks = enc.preview?.chunks || 0;
    if (previewChunks) previewKey = await importTrackKey(hexToBytes(enc.preview.key));
    const raw = pastedKey || keyFromFragment();
    if (raw) {
      if ((await keyId(raw)) !== enc.key_id) {
        return fail("this key is not the track's key (its id differs): nothing is played");
      }
      key = await importTrackKey(raw);
    } else {
      n = Math.min(previewChunks, n);
      $("keybox").hidden = false;
      $("lock").textContent = previewChunks
        ? `Preview: the first ${previewChunks} of ${manifest.chunks.length} chunks. The rest is encrypted; ` +
          "open this page with #key=HEX, or paste the track's key below."
        : "This track is encrypted and has no preview: open this page with #key=HEX, or paste its key below.";
    }
  }
  state.chunks = n;
  const cells = drawChunks(n, manifest.chunks.length - n);
  if (n === 0) return setStatus("Nothing to play without the key.");
  mark("root_checked");
  // The first chunks go to this node at once; its peers join as they are learned.
  const nodes = new Nodes([location.origin]);
  peersPromise.then((urls) => {
    nodes.add(urls);
    mark("peers");
  });
  const audio = $("audio");
  const sink = makeSink(audio, m.mime);
  // With MSE the element plays as soon as the first chunk is in.
  if (state.mode === "mse") tryPlay(audio);
  const total = m.duration || 0;
  const drawBuffered = () => {
    const b = audio.buffered, span = total || audio.duration;
    if (!isFinite(span) || span <= 0) return;
    const bar = $("buffered");
    bar.replaceChildren();
    for (let r = 0; r < b.length; r++) {
      const s = document.createElement("span");
      s.style.left = `${(100 * b.start(r)) / span}%`;
      s.style.width = `${(100 * (b.end(r) - b.start(r))) / span}%`;
      bar.append(s);
    }
    state.buffered = b.length ? b.end(b.length - 1) : 0;
  };
  for (const ev of ["progress", "durationchange", "loadedmetadata"]) audio.addEventListener(ev, drawBuffered);
  setStatus(`Fetching ${n} chunks from ${nodes.urls.length} node${nodes.urls.length > 1 ? "s" : ""}…`);
  const pending = new Map();
  const start = (i) => {
    const ref = manifest.chunks[i];
    const k = enc ? (i < previewChunks ? previewKey : key) : null;
    pending.set(i, fetchChunk(i, ref, nodes, k, prefix));
  };
  try {
    for (let i = 0; i < Math.min(WINDOW, n); i++) start(i);
    for (let i = 0; i < n; i++) {
      const part = await pending.get(i);
      mark("first_chunk");
      pending.delete(i);
      if (i + WINDOW < n) start(i + WINDOW);
      cells[i].className = enc && i < previewChunks ? "preview" : "ok";
      state.verified = i + 1;
      await sink.push(part);
      mark("first_append");
      drawBuffered();

      setStatus(`${i + 1} of ${n} chunks verified${nodes.badSet.size ? `; ${nodes.badSet.size} bad node(s) left out` : ""}`);
    }
    await sink.end();
    if (state.mode === "blob") tryPlay(audio);
    state.done = true;
    setStatus(`All ${n} chunks verified against root ${root.slice(0, 16)}…` +
      (nodes.badSet.size ? `; bad node(s): ${[...nodes.badSet].join(", ")}` : ""));
  } catch (e) {
    fail(e instanceof WrongKey ? "the key does not open this track: " + e.message : String(e.message || e));
    audio.removeAttribute("src");
    audio.load();
  }
}

// --- a live stream ------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// GET that a relaying node may answer 404 until it has caught up: tried again.
async function getLive(url, as = "json", timeoutMs = 30000) {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (r.ok) return as === "json" ? r.json() : new Uint8Array(await r.arrayBuffer());
    if (r.status !== 404 || attempt >= 20) throw new Error(`${url}: HTTP ${r.status}`);
    await sleep(250);
  }
}

async function playLive(id, entry) {
  // Loaded for live streams only: tracks start without waiting for it.
  const { checkHead, checkStream, sha256, verifyConsistency, verifyInclusion } = await import("./live.js");
  const base = `/streams/${id}`;
  const stream = await checkStream(id, entry.stream);
  state.live = true;
  document.title = (stream.title || "Live") + " — digm";
  $("title").textContent = stream.title || id.slice(0, 16) + "…";
  $("title").classList.add("live");
  $("artist").textContent = stream.artist || "";
  $("meta").textContent = ["live", stream.mime, stream.bitrate && Math.round(stream.bitrate / 1000) + " kbit/s"]
    .filter(Boolean).join(" · ");
  let key = null, prefix = null;
  if (stream.encryption) {
    const raw = keyFromFragment();
    if (!raw) return fail("This stream is encrypted: open this page with #key=HEX.");
    if ((await keyId(raw)) !== stream.encryption.key_id) return fail("this key is not the stream's key: nothing is played");
    key = await importTrackKey(raw);
    prefix = hexToBytes(stream.encryption.nonce_prefix);
  }
  if (!window.MediaSource || !MediaSource.isTypeSupported(stream.mime)) {
    return fail(`This browser cannot play ${stream.mime} as it arrives.`);
  }
  const audio = $("audio");
  const sink = makeSink(audio, stream.mime);
  tryPlay(audio);
  new Nodes([location.origin]);
  let head = entry.head ? await checkHead(id, stream, entry.head, null) : null;
  while (!head) {
    const h = await getLive(`${base}/head?wait=20`).catch(() => null);
    if (h) head = await checkHead(id, stream, h, null);
  }
  // The live edge, the newest chunk; a stream already ended has none, and
  // plays from its start.
  let next = head.ended ? 0 : Math.max(0, head.size - 1);
  const first = next;
  const box = $("chunks");
  box.replaceChildren();
  for (;;) {
    const root = hexToBytes(head.root);
    for (; next < head.size; next++) {
      const stored = await getLive(`${base}/${next}`, "bytes");
      const leaf = await sha256(stored);
      const proof = await getLive(`${base}/proof?index=${next}&size=${head.size}`);
      if (proof.leaf !== bytesToHex(leaf) ||
          !(await verifyInclusion(leaf, next, head.size, proof.path.map(hexToBytes), root))) {
        throw new Error(`chunk ${next} is not in the publisher's signed log: playback stopped`);
      }
      const ref = { hash: bytesToHex(leaf), size: stored.length, plain: key ? stored.length - 16 : stored.length, z: false };
      const part = await openChunk(stored, ref, next, key, prefix, true).catch((e) => {
        throw e instanceof ChunkError && e.kind === "tag" ? new WrongKey(e.message) : e;
      });
      mark("first_chunk");
      await sink.push(part);
      mark("first_append");
      (state.appended ??= []).push([next, Math.round(performance.timeOrigin + performance.now())]);
      box.append(text("span", "", "ok"));
      state.verified++;
      state.chunks = head.size - first;
      setStatus(`Live: ${state.verified} chunks verified (joined at chunk ${first}, the log holds ${head.size})`);
    }
    if (head.ended) break;
    const h = await getLive(`${base}/head?after=${head.size}&wait=20`).catch(() => null);
    if (!h) continue;
    const newer = await checkHead(id, stream, h, head);
    if (newer.size > head.size) {
      const c = await getLive(`${base}/consistency?from=${head.size}&to=${newer.size}`);
      if (c.root1 !== head.root || c.root2 !== newer.root ||
          !(await verifyConsistency(head.size, newer.size, root, hexToBytes(newer.root), c.path.map(hexToBytes)))) {
        throw new Error("a head that does not extend the log before it: the stream forked; playback stopped");
      }
    }
    head = newer;
  }
  await sink.end();
  state.done = true;
  setStatus(`The stream has ended: ${state.verified} chunks verified from chunk ${first}.`);
}

async function play(id) {
  $("player").hidden = false;
  $("node").textContent = location.host;
  let manifest, root = id;
  peersPromise = peerUrls();
  try {
    manifest = await getJson("/tracks/" + id);
  } catch {
    let entry;
    try {
      entry = await getJson(`/streams/${id}`);
    } catch {
      return fail("This node knows no track or stream " + id + ".");
    }
    // An ended stream is its sealed track (the root of the final head its
    // publisher signed): played whole, and seekable, when this node has it.
    root = entry.head?.ended ? await sealedRoot(id, entry) : null;
    manifest = root && (await getJson("/tracks/" + root).catch(() => null));
    if (!manifest) {
      return playLive(id, entry).catch((e) =>
        fail(e instanceof WrongKey ? "the key does not open this stream: " + e.message : String(e.message || e)));
    }
    state.sealed = id;
  }
  $("usekey").addEventListener("click", () => {
    try {
      const raw = keyFromPaste($("keytext").value);
      $("keybox").hidden = true;
      $("nodes").replaceChildren();
      Object.assign(state, { chunks: 0, verified: 0, bad: [], error: null, done: false });
      playTrack(root, manifest, raw);
    } catch (e) {
      fail("That is not a digm.key/1: " + e.message);
    }
  });
  await playTrack(root, manifest);
}

// The root of an ended stream's final head, once the stream document and
// the head check out as in playLive.
async function sealedRoot(id, entry) {
  const { checkHead, checkStream } = await import("./live.js");
  const stream = await checkStream(id, entry.stream);
  return (await checkHead(id, stream, entry.head, null)).root;
}

const m = /^\/play\/([0-9a-f]{64})$/.exec(location.pathname);
(m ? play(m[1]) : library()).catch((e) => fail(String(e.message || e)));
