// Fetching a track from many nodes at once (SPEC §6): parallel HTTP requests
// (libcurl multi, keep-alive) across peers, every chunk's SHA-256 checked
// before use, failover with backoff, peers that serve bad bytes dropped for
// the run, stragglers re-requested near the end, and the plaintext written
// in order as it arrives. Memory is bounded by the window of chunks ahead of
// the writer (two, with a swarm). A BitTorrent swarm of the track (SPEC §11)
// can be one more source under the same rules. One FetchTrack call at a time
// per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "digm/channel.h"
#include "digm/chunk_store.h"
#include "digm/manifest.h"
#include "digm/node_client.h"
#include "digm/track_key.h"
#include "digm/wallet.h"

namespace digm {

class Swarm;       // digm/dht.h
class PeerProbes;  // ProbePeers

struct FetchProgress {
  uint64_t bytes = 0, total = 0;  // stored bytes fetched or found in the cache
  size_t peers = 0;               // peers still in use
};

struct FetchOptions {
  std::vector<std::string> peers;     // base URLs
  const TrackKey* key = nullptr;      // null: clear track, or preview only
  bool preview_only = false;          // only the chunks under the preview key
  const ChunkStore* cache = nullptr;  // read before fetching, written after
  int per_peer = 4;                   // requests in flight per peer
  size_t window = 64;                 // chunks fetched ahead of the writer
  long timeout_ms = 10000;            // per request
  // A swarm of the track's torrent (its one file is the stored chunks in
  // order): the HTTP peers take the window, the swarm a few chunks at the
  // far end of the next one (so with it the chunks held are at most two
  // windows), and a chunk it stalls on goes to them too. Each chunk it
  // yields is checked against the manifest like any other.
  Swarm* swarm = nullptr;
  // With no HTTP peer left, how long the swarm may deliver nothing before
  // the fetch fails (digm-fetch: three times --timeout).
  long swarm_stall_ms = 30000;
  // Paying per chunk (SPEC §12): the payer's wallet and its channels, one
  // per payee. A node that charges (its signed pong names a price) is asked
  // only through its channel, each request with a voucher for every byte
  // asked of it so far; a node without one is left out. Nodes at the lowest
  // price are used; a dearer one only for a chunk none of them can take
  // (gone, failed it, backing off, or stalling on it).
  const Wallet* payer = nullptr;
  std::vector<Channel> channels;
  // ProbePeers(peers, payer ? channels : {}), if the caller started it early
  // (digm-fetch does so before it resolves the manifest); null: FetchTrack
  // starts it, and a paid fetch waits for it before its first request.
  std::shared_ptr<PeerProbes> probes;
  std::function<void(const FetchProgress&)> progress;
  // Called once every chunk is written and the track matches its
  // source.sha256, while the nodes are paid the rest of what they sent:
  // digm-fetch commits its output there, so its fsync and the payments
  // overlap. An error ends the fetch with it (the payments are still made).
  std::function<Status()> written;
};

struct Delivery {
  std::string url;               // a node's base URL, or bt://IP:PORT for a BitTorrent peer
  std::string node_id;           // proven by a signed nonce (ProveIdentity); empty: unknown
  std::vector<uint64_t> chunks;  // indices it delivered (verified)
  uint64_t bytes = 0;
  bool dropped = false;
  std::string reason;     // why it was dropped
  std::string paid_text;  // what the last voucher sent it pays in all, a decimal amount
  std::string channel;    // that channel's id; empty: not paid
};

struct FetchResult {
  std::vector<Delivery> deliveries;   // one per peer asked
  uint64_t downloaded = 0;            // bytes over the network, duplicates included
  uint64_t from_cache = 0;            // bytes the cache had
  uint64_t to_cache = 0;              // bytes put in the cache
  int64_t started = 0, finished = 0;  // unix seconds
  std::string cache_error;            // why the cache took no more chunks; empty: it took all
};

// The manifest of `root` from the first peer that has it. Integrity error when
// what a peer sends does not hash to `root`; Network when no peer has it or
// what peers send is not a manifest.
Result<Manifest> ResolveManifest(const std::string& root, const std::vector<std::string>& peers);

// What FetchTrack asks each peer before it pays it or names it in the
// receipt: who it is (ProveNode, a signed nonce) and, when it charges and
// one of `channels` pays it, where that channel stands (GET /channels/ID).
// Asked at once, each peer on a thread of its own; the answers are waited
// for (each at most 3 s) only by a paid fetch, before its first request,
// and at the end, for the peers that delivered.
std::shared_ptr<PeerProbes> ProbePeers(const std::vector<std::string>& peers,
                                       const std::vector<Channel>& channels);

// Fetches, verifies, decrypts and writes the track's plaintext to `fd` in
// order. Network error when some chunk can be had from no peer; Integrity
// when a verified chunk does not open (wrong key) or the whole plaintext does
// not match source.sha256.
Result<FetchResult> FetchTrack(const Manifest& manifest, const FetchOptions& options, int fd);

// The signed digm.receipt/1 of a fetch.
Json MakeReceipt(const Manifest& manifest, const FetchResult& result, const Wallet& listener);

}  // namespace digm
