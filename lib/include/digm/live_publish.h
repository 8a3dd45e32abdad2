// The publisher's side of a live stream (SPEC §9): encoded audio read as it
// arrives is cut into a chunk every part_ms (or at max_chunk bytes), each
// chunk sealed as SPEC §2 has it when the stream is encrypted (never
// compressed: encoded audio does not shrink), and sent with its signed head
// to every node; a heartbeat goes out when no chunk has for a while, and the
// end of input sends the final head. Memory holds one chunk.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "digm/chunk_store.h"
#include "digm/clock.h"
#include "digm/manifest.h"
#include "digm/stream.h"
#include "digm/track_key.h"
#include "digm/wallet.h"

namespace digm {

struct LivePublishOptions {
  StreamInfo info;                 // title, artist, mime, bitrate, part_ms (publisher: the wallet)
  std::vector<std::string> nodes;  // base URLs; each gets every chunk and head
  std::optional<TrackKey> key;     // encrypt under this key
  const ChunkStore* store = nullptr;  // also keep every chunk here (the artist's copy)
  uint64_t max_chunk = 256 << 10;     // bytes at most in one chunk
  int heartbeat_s = 30;               // a head at least this often, chunks or not
  size_t resend_buffer = 16 << 20;    // the newest chunks kept for a node catching up
  uint64_t replicas = 3;              // the sealed track's pin: copies to keep,
  uint64_t pin_days = 365;            // and for how long
  Clock clock = UnixNow;
  // Once the nodes took the announcement: the stream document and its id.
  std::function<void(const Json& stream, const Hash256& id)> on_announce;
  std::function<void(const TreeHead&)> on_head;           // after each head is sent
  std::function<void(const std::string&)> on_node_error;  // a node refused or was unreachable
};

struct LivePublishResult {
  Json stream;  // the digm.stream/1
  Hash256 id{};
  std::vector<ChunkRef> chunks;  // in order, as stored
  uint64_t size = 0;             // plaintext bytes read
  Hash256 source_sha256{};       // of the plaintext
  Hash256 root{};                // the final head's root
  // The stream sealed as a track (SPEC §9), absent when no chunk was sent:
  // an ordinary manifest whose root is the final head's root, naming the
  // stream; and the nodes that stored it, pinned by the publisher.
  std::optional<Manifest> sealed;
  std::vector<std::string> stored_on;
};

// Publishes what `fd` yields until end of input or until `stop` is set,
// then seals it: every node that holds the whole stream is sent the sealed
// manifest with a digm.pin/1 (it has the chunks already), so the stream
// stays on as a stored track.
// Network error when no node takes the announcement, or every node has
// been dropped. A node that refuses the stream is named through
// on_node_error and dropped; one that cannot be reached is named, tried
// again with pauses, and caught up from the resend buffer when it answers.
Result<LivePublishResult> PublishLive(int fd, const Wallet& publisher,
                                      const LivePublishOptions& options,
                                      const std::atomic<bool>* stop = nullptr);

}  // namespace digm
