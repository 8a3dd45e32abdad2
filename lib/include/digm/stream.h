// A live stream's documents (SPEC §9): digm.stream/1, which names the stream
// (its id is the SHA-256 of its canonical form), and digm.tree-head/1, the
// publisher's signed statement of how far the stream's log has grown. A
// StreamLog is what a node or a listener keeps of one stream: the last head
// it accepted and the right edge of the Merkle tree, O(log n) hashes, so the
// root of every new head is recomputed from the chunks it adds. Pure values;
// thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "digm/document.h"
#include "digm/manifest.h"
#include "digm/merkle.h"
#include "digm/wallet.h"

namespace digm {

inline constexpr uint64_t kDefaultPartMs = 250;
// The most a stream chunk's stored bytes may weigh: 256 KiB and its tag,
// with room to spare; relays and listeners read no more.
inline constexpr size_t kMaxStreamChunk = (256 << 10) + 1024;

struct StreamInfo {
  Address publisher{};
  std::string title, artist, mime = "audio/mpeg";
  uint64_t bitrate = 0;  // bits per second, as the publisher declares it; 0: unknown
  uint64_t part_ms = kDefaultPartMs;
  int64_t created_ms = 0;                // unix milliseconds: two streams of one
                                         // title begun within a second differ
  std::optional<Encryption> encryption;  // key_id and nonce_prefix (no preview)
};

// The signed digm.stream/1 of `info`; its publisher is `wallet`'s address.
Json MakeStreamDocument(StreamInfo info, const Wallet& wallet);

// SHA-256 of the document's canonical form without "signature".
Hash256 StreamId(const Json& stream);

// The DHT key under which every node holding a live stream also announces
// itself (its first 20 bytes, as for any key), so that `digm-live ls --dht`
// finds a stream directory knowing no node: SHA-256("digm.stream-directory/1").
Hash256 StreamDirectoryKey();

struct Stream {
  Hash256 id{};
  StreamInfo info;
  Json doc;  // as signed
};

// Checks a digm.stream/1: its schema, its members, and that the publisher
// signed it. Integrity error for a bad signature or another signer;
// BadInput for a malformed document. Never throws.
Result<Stream> ReadStreamDocument(const Json& doc);

struct TreeHead {
  Hash256 stream{};
  uint64_t size = 0;  // chunks in the log
  Hash256 root{};     // MerkleRoot of their hashes
  int64_t time = 0;   // unix seconds
  bool ended = false;
  Json doc;  // as signed
};

Json MakeTreeHead(const Hash256& stream, uint64_t size, const Hash256& root, int64_t time,
                  bool ended, const Wallet& publisher);

// Checks a digm.tree-head/1 of `stream`: schema, members, and the
// publisher's signature. Integrity error for another signer or stream.
Result<TreeHead> ReadTreeHead(const Json& doc, const Stream& stream);

class StreamLog {
 public:
  explicit StreamLog(Stream stream) : stream_(std::move(stream)) {}

  // Accepts `head` once the chunk hashes `added` (the log's next ones) take
  // the tree to it: its size is size() + added.size(), its time does not go
  // back, its root is the recomputed one, and nothing follows an ended head.
  // Integrity error otherwise, naming what is wrong; the log is unchanged.
  // A head of the current size with another root is equivocation: the error
  // says so and Evidence() holds both heads.
  Status Extend(std::span<const Hash256> added, const TreeHead& head);

  // A head of the current size says nothing new: ok when it is the same
  // tree (a heartbeat), equivocation otherwise.
  Status Heartbeat(const TreeHead& head);

  // Starts an empty log at `head` without its earlier chunks: `last_leaf`
  // is chunk size - 1's hash and `path` its audit path in the head's tree.
  // Integrity error unless the path verifies against the head's root.
  Status Join(const TreeHead& head, const Hash256& last_leaf, std::span<const Hash256> path);

  uint64_t size() const { return frontier_.size(); }
  Hash256 root() const { return frontier_.Root(); }
  const std::optional<TreeHead>& head() const { return head_; }
  const Stream& stream() const { return stream_; }
  // Both heads after an equivocation: [accepted, offered].
  const Json& Evidence() const { return evidence_; }

 private:
  Status Equivocation(const TreeHead& offered);

  Stream stream_;
  MerkleFrontier frontier_;
  std::optional<TreeHead> head_;
  Json evidence_;
};

}  // namespace digm
