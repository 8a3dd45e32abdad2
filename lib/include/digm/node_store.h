// A node's storage (SPEC §5): chunk files under DATA/chunks (temp file, fsync,
// rename) and a SQLite index (WAL) of tracks, chunks, pins and peers in
// DATA/index.db. Chunk bytes are always written before the index names them,
// so after a crash the index never points at a half-written file; fsck finds
// and repairs any other disagreement. Thread-safe: the index is behind a lock.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "digm/chunk_store.h"
#include "digm/clock.h"
#include "digm/document.h"
#include "digm/manifest.h"

namespace SQLite {
class Database;
}

namespace digm {

struct TrackRow {
  std::string root;  // hex
  std::string title, artist, album;
  double duration = 0;
  uint64_t size = 0, chunks = 0;
  std::string created_at;  // RFC 3339
  bool complete = false;   // every chunk is in the store
  bool pinned = false;
  Json ToJson() const;  // what `digm-seed ls` prints per track
};

struct PeerRow {
  std::string node_id, url;
  Json record;                     // the signed digm.peer/1
  std::vector<std::string> roots;  // tracks it said it holds
  int64_t seen = 0;                // unix seconds
  std::string host;                // its URL's host, for the per-host bound
};

struct FsckReport {
  uint64_t checked = 0;
  std::vector<std::string> missing;  // in the index, no file
  std::vector<std::string> corrupt;  // file whose bytes do not hash to its name
  std::vector<std::string> orphans;  // file the index does not know
  uint64_t temp_files = 0;           // left by an interrupted write
  bool repaired = false;
  bool clean() const {
    return missing.empty() && corrupt.empty() && orphans.empty() && temp_files == 0;
  }
  Json ToJson() const;
};

// How long `gc` keeps a live stream no publisher or relay has been heard
// from: a day (SPEC §9 says when a stream is stale, not when it may go).
inline constexpr int64_t kStreamKeepSeconds = 24 * 3600;

class NodeStore {
 public:
  // Opens DATA (creating it, its chunk folder and index when `create`).
  // `clock` says when tracks were added and which pins are live.
  static Result<std::unique_ptr<NodeStore>> Open(const std::string& data_dir, bool create,
                                                 Clock clock = UnixNow);
  ~NodeStore();

  const std::string& data_dir() const { return data_dir_; }
  const ChunkStore& chunks() const { return chunks_; }

  // Records a track (its root checked). Idempotent.
  Status AddTrack(const Manifest& manifest);
  // Copies every chunk of the track from `from`, then records the track.
  Status ImportTrack(const Manifest& manifest, const ChunkStore& from);
  std::optional<std::string> ManifestText(const std::string& root);
  std::optional<Manifest> GetManifest(const std::string& root);
  std::vector<TrackRow> ListTracks();
  // Removes the track, its pin, and chunks no other track or stream uses.
  Status RemoveTrack(const std::string& root);

  // Stores a chunk after checking SHA-256(data) == hash (Integrity otherwise);
  // a new one only where it fits beside kReserveBytes and under the limit
  // (BadInput, NoRoomFor's words, otherwise).
  Status PutChunk(const Hash256& hash, std::span<const uint8_t> data);

  // A node keeps this much of its disk free for its index: SQLite needs
  // room to commit, and gc to delete what frees the rest.
  static constexpr uint64_t kReserveBytes = 16 << 20;
  // What the data folder's file system has free for this node (statvfs's
  // f_bavail); nullopt when it cannot tell.
  std::optional<uint64_t> FreeBytes() const;
  // At most `max` bytes of chunks are held from now on (0: as many as the
  // disk takes); a new chunk that would pass it is refused. Chunks written
  // at once by several requests may pass it by those chunks.
  void LimitBytes(uint64_t max) { max_bytes_ = max; }
  uint64_t max_bytes() const { return max_bytes_; }
  // The bytes of the chunks the index names, as every process that changes
  // it keeps the count.
  uint64_t StoredBytes() const;
  // Why `bytes` more would not fit beside the reserve or under the limit,
  // said for the one who sent them; nullopt when they fit (or the file
  // system cannot tell: the write then says).
  std::optional<std::string> NoRoomFor(uint64_t bytes) const;
  // The bytes of the manifest's distinct chunks not stored here; `which`,
  // when given, gets those chunks, in the manifest's order.
  uint64_t MissingBytes(const Manifest& manifest, std::vector<Hash256>* which = nullptr);
  bool HasChunk(const std::string& hash);
  std::optional<uint64_t> ChunkSize(const std::string& hash);
  // True when a track on this node with a live (unexpired) pin lists the chunk.
  bool ChunkIsPinned(const std::string& hash);
  bool TrackComplete(const std::string& root);

  // Keeps a checked pin (CheckPin). Pins accumulate per owner: another
  // owner's pin for the root stands beside this one, never replaces it.
  // `origin`: the node the publisher sent the pin to (the replica set's
  // anchor), as the pin itself names it; empty when it names none.
  Status PutPin(const std::string& root, const Json& pin, const std::string& origin);
  struct PinRow {
    std::string root, owner;
    Json pin;
    std::string origin;
    int64_t expires = 0;  // unix seconds
  };
  // The pins still live at `now`, by root then owner.
  std::vector<PinRow> ListPins(int64_t now);
  // What CollectGarbage removed: track roots and stream ids.
  struct Garbage {
    std::vector<std::string> tracks, streams;
  };
  // Removes every track whose pins have all expired by `now` (imported,
  // never-pinned tracks stay), every live stream not heard from for
  // kStreamKeepSeconds (ended or not), unless it ended and its sealed track
  // is held here, and the chunks only they used.
  Result<Garbage> CollectGarbage(int64_t now);

  void UpsertPeer(const PeerRow& peer);
  // Peers seen since `seen_since`: all by node id, or with `limit` the most
  // recently seen first.
  std::vector<PeerRow> ListPeers(int64_t seen_since, size_t limit = 0);
  // True when `node_id` is known at `url` (and seen since `seen_since`).
  bool HasPeerAt(const std::string& node_id, const std::string& url, int64_t seen_since);
  struct PeerCounts {
    size_t all = 0, on_host = 0;
  };
  // Peers seen since `seen_since`, in all and at `host`: no row is read.
  PeerCounts CountPeers(const std::string& host, int64_t seen_since);
  void ForgetPeersBefore(int64_t seen_before);
  void SetPeerRoots(const std::string& node_id, const std::vector<std::string>& roots);

  Result<FsckReport> Fsck(bool repair);

 private:
  NodeStore(std::string data_dir, ChunkStore chunks, std::unique_ptr<SQLite::Database> db,
            Clock clock);
  Result<std::vector<std::string>> RemoveStreams(int64_t heard_before);
  std::string data_dir_;
  ChunkStore chunks_;
  mutable std::mutex mu_;
  std::unique_ptr<SQLite::Database> db_;
  Clock clock_;
  std::atomic<uint64_t> max_bytes_{0};
};

}  // namespace digm
