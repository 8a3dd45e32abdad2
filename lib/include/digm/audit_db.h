// The auditor's database (SPEC §7): secret storage challenges prepared from a
// track's chunks, which challenge went to which node in which epoch, every
// node's results per epoch, the slash records of struck-out nodes, and the
// fresh index computed from that history. One SQLite file (WAL). An AuditDb
// is used by one thread at a time; Lock() keeps other processes out.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "digm/chunk_store.h"
#include "digm/clock.h"
#include "digm/crypto.h"
#include "digm/document.h"
#include "digm/manifest.h"
#include "digm/wallet.h"

namespace SQLite {
class Database;
}

namespace digm {

inline constexpr uint64_t kMaxChallengeLength = 4096;
inline constexpr int kStrikeEpochs = 3;  // consecutive failed epochs that strike a node out

// One secret challenge: SHA-256(nonce ‖ chunk[offset, offset+length)) = expected.
struct Challenge {
  int64_t id = 0;
  std::string root;
  uint64_t chunk = 0;
  std::array<uint8_t, 16> nonce{};
  uint64_t offset = 0, length = 0;
  Hash256 expected{};
  Json ToJson() const;  // the digm.challenge/1 a node answers (no `expected`)
};

// One audit of one node: a digm.audit/1 record plus what a slash needs to show.
// Results are held against the key that proved itself at a URL (SPEC §7);
// where none did, against the URL alone, under this key, so an answer no key
// signed can never strike out a node. Documents show such a node_id as null.
inline std::string UrlKey(const std::string& url) { return "url:" + url; }
// The node_id member for a key: its address, or null for a URL key.
Json NodeIdJson(const std::string& key);

struct AuditResult {
  int64_t epoch = 0;
  std::string node_id;  // an address, a UrlKey, or empty
  std::string url, root, mode = "challenge";
  uint64_t chunk = 0;
  bool ok = false;
  std::string reason;  // empty when ok
  double latency_ms = 0;
  Json evidence;  // the challenge, the expected digest and the node's signed answer
  Json ToJson() const;
};

struct PrepareReport {
  std::string root;
  uint64_t chunks = 0, added = 0, unused = 0;
  Json ToJson() const;  // digm.prepared/1
};

// A track whose challenges are running low.
struct ChallengeStock {
  std::string root;
  uint64_t chunks = 0, prepared = 0, unused = 0, exhausted_chunks = 0;
};

class AuditDb {
 public:
  // `clock` dates results, slash records and the index; `random` draws the
  // challenges and which of them are taken.
  static Result<std::unique_ptr<AuditDb>> Open(const std::string& path, bool create,
                                               Clock clock = UnixNow,
                                               RandomSource random = RandomBytes);
  ~AuditDb();

  // Takes an exclusive lock on the database file for this object's lifetime,
  // waiting up to `wait_s` seconds for another process to let go.
  Status Lock(double wait_s);

  // Adds `count` challenges for every chunk, reading the chunks from `from`
  // and checking their hashes (Integrity error on a mismatch; nothing added).
  Result<PrepareReport> Prepare(const Manifest& manifest, const ChunkStore& from, uint32_t count);

  // Every track challenges were ever prepared for.
  Result<std::vector<std::string>> PreparedRoots();

  // Marks up to `n` unused challenges as sent to `node_id` in `epoch` and
  // returns them: a random track among `roots`, then a random chunk. Fewer
  // (or none) when the stock runs out. A challenge is never returned twice.
  Result<std::vector<Challenge>> Take(const std::vector<std::string>& roots, size_t n,
                                      int64_t epoch, const std::string& node_id);

  // Tracks with a chunk out of challenges or under a quarter of their stock left.
  Result<std::vector<ChallengeStock>> LowStock();

  // The node last seen at `url`, or empty.
  std::string NodeAt(const std::string& url);

  // The results recorded for (node, epoch), in order; empty if not audited yet.
  Result<std::vector<AuditResult>> EpochResults(const std::string& node_id, int64_t epoch);
  // The slash record issued for (node, epoch), if any.
  Result<std::optional<Json>> SlashRecord(const std::string& node_id, int64_t epoch);

  // Records one node's results for an epoch in one transaction; the epoch fails
  // when any result failed. Recording an epoch twice keeps the first. Returns
  // the digm.slash/1 record when this epoch is the node's kStrikeEpochs-th
  // consecutive failure (signed by `auditor` when given).
  Result<std::optional<Json>> RecordEpoch(const std::string& node_id, const std::string& url,
                                          int64_t epoch, const std::vector<AuditResult>& results,
                                          const Wallet* auditor);

  // The digm.fresh-index/1 as of `epoch`, with scores decaying by `decay` per
  // audited epoch.
  Result<Json> FreshIndex(int64_t epoch, double decay);

  // Settings remembered between runs (e.g. "epoch_seconds").
  std::optional<std::string> Setting(const std::string& key);
  Status SetSetting(const std::string& key, const std::string& value);

 private:
  AuditDb(std::string path, std::unique_ptr<SQLite::Database> db, Clock clock, RandomSource random);
  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
  int lock_fd_ = -1;
  Clock clock_;
  RandomSource random_;
};

// The reputation of SPEC §7, fed a node's audited epochs in order: each epoch
// α ← λα + s, β ← λβ + (1 − s) with s = 1 for a pass; score α/(α+β), 0 with
// no history.
struct Reputation {
  double alpha = 0, beta = 0;
  void Add(bool passed, double decay);
  double score() const;
};
double DecayingScore(const std::vector<bool>& epochs, double decay);

}  // namespace digm
