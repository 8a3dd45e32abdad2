// A node's live streams (SPEC §9): the stream documents it was given, the
// chunks of each stream's log (in the node's chunk store, so /content/HASH
// serves them) and the last head it accepted, kept in the node's index.
// Every append is checked by the stream's StreamLog before anything of it is
// kept: a chunk is stored, then its place in the log and the new head are
// committed in one transaction, so after a crash the log holds a prefix that
// verifies and the publisher's next append continues it. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "digm/clock.h"
#include "digm/node_store.h"
#include "digm/stream.h"

namespace digm {

struct LiveStreamRow {
  std::string id;  // hex
  Json stream;     // the digm.stream/1
  Json head;       // the last head accepted (null before the first)
  int64_t last_heard = 0;
  bool ended = false;
  Json ToJson() const;  // {"id","stream","head","last_heard"} (RFC 3339)
};

class StreamStore {
 public:
  // Opens the streams of the node whose store is `node` (its index.db, whose
  // tables NodeStore::Open makes; its CollectGarbage removes old streams).
  static Result<std::unique_ptr<StreamStore>> Open(NodeStore& node, Clock clock = UnixNow);
  ~StreamStore();

  NodeStore& node() { return node_; }

  // ANNOUNCE: keeps a checked stream document (ReadStreamDocument).
  // Idempotent; a stream heard again is fresh again.
  Status Announce(const Stream& stream);
  std::optional<Stream> Get(const std::string& id);
  // The head of stream `id` in `doc`, read and verified against the stream
  // (BadInput for an unknown stream; ReadTreeHead's errors otherwise).
  Result<TreeHead> ReadHead(const std::string& id, const Json& doc);

  // Appends chunk `index` (its stored bytes) under `head`, the signed head
  // of size index + 1. BadInput for an unknown stream or a chunk out of
  // order ("expected chunk N"); Integrity for a head the log refuses
  // (StreamLog::Extend), with nothing kept.
  Status Append(const std::string& id, uint64_t index, std::span<const uint8_t> stored,
                const Json& head);
  // The same with a head already read and verified (ReadTreeHead against
  // Get(id)), as the node's routes have it: no signature is checked twice.
  Status Append(const std::string& id, uint64_t index, std::span<const uint8_t> stored,
                const TreeHead& head);
  // A relay catching up from a holder: the chunks it fetched go to the
  // chunk store one by one (KeepChunk, their hash), then join the log at
  // once under the one head of size first + hashes.size(); all or nothing
  // (BadInput when a chunk is not in the store).
  Result<Hash256> KeepChunk(std::span<const uint8_t> stored);
  Status Append(const std::string& id, uint64_t first, std::span<const Hash256> hashes,
                const TreeHead& head);
  // HEARTBEAT: a fresh head of the current size. DEREGISTER: the final head
  // (ended) of the current size; the stream leaves the directory.
  Status Heartbeat(const std::string& id, const Json& head);
  Status End(const std::string& id, const Json& head);
  Status Heartbeat(const std::string& id, const TreeHead& head);
  Status End(const std::string& id, const TreeHead& head);

  // The streams heard from since `heard_since` and not ended (or also the
  // ended ones), whose title or artist contains `query` (any case; empty:
  // all), most recently heard first.
  std::vector<LiveStreamRow> ListLive(int64_t heard_since, const std::string& query = "",
                                      bool with_ended = false);
  std::optional<LiveStreamRow> Row(const std::string& id);
  // The chunk hashes of a stream's log, in order (for proofs and relays).
  std::vector<Hash256> ChunkHashes(const std::string& id);
  // Chunk `index`'s hash; none past the log's end.
  std::optional<Hash256> ChunkHash(const std::string& id, uint64_t index);

  // Both heads of the last equivocation a stream's publisher was caught in.
  Json Evidence(const std::string& id);

 private:
  StreamStore(NodeStore& node, std::unique_ptr<SQLite::Database> db, Clock clock);
  // The log of `id`, rebuilt from the index on first use. REQUIRES: mu_ held.
  Result<StreamLog*> LogOf(const std::string& id);
  // LogOf for an append or a head: the stream must still be in the index
  // (gc may have removed it, unheard for a day, while its log was held here;
  // it is then forgotten, unknown until announced anew). REQUIRES: mu_ held.
  Result<StreamLog*> LogToExtend(const std::string& id);
  Status Commit(const std::string& id, uint64_t first, std::span<const Hash256> hashes,
                const TreeHead& head, const std::function<Status()>& keep_chunks);
  Status Accept(const std::string& id, const TreeHead& head, bool ending);

  NodeStore& node_;
  std::mutex mu_;
  std::unique_ptr<SQLite::Database> db_;
  Clock clock_;
  std::map<std::string, StreamLog> logs_;
};

}  // namespace digm
