#include "digm/audit_db.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <thread>

#include "digm/clock.h"
#include "digm/crypto.h"
#include "store/sql.h"

namespace digm {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracks(
  root TEXT PRIMARY KEY, chunks INTEGER NOT NULL, prepared INTEGER NOT NULL,
  unused INTEGER NOT NULL, exhausted INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS challenges(
  id INTEGER PRIMARY KEY, root TEXT NOT NULL, chunk INTEGER NOT NULL, nonce BLOB NOT NULL,
  offset INTEGER NOT NULL, length INTEGER NOT NULL, expected BLOB NOT NULL,
  draw INTEGER NOT NULL, used_epoch INTEGER, used_node TEXT);
CREATE INDEX IF NOT EXISTS challenges_unused ON challenges(root, draw) WHERE used_epoch IS NULL;
CREATE INDEX IF NOT EXISTS challenges_unused_by_chunk ON challenges(root, chunk)
  WHERE used_epoch IS NULL;
CREATE TABLE IF NOT EXISTS nodes(node_id TEXT PRIMARY KEY, url TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS nodes_by_url ON nodes(url);
CREATE TABLE IF NOT EXISTS epochs(
  node_id TEXT NOT NULL, epoch INTEGER NOT NULL, ok INTEGER NOT NULL, latency_ms REAL,
  at INTEGER NOT NULL, PRIMARY KEY(node_id, epoch));
CREATE TABLE IF NOT EXISTS results(
  node_id TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL,
  evidence TEXT NOT NULL, PRIMARY KEY(node_id, epoch, seq));
CREATE TABLE IF NOT EXISTS slashes(
  node_id TEXT NOT NULL, epoch INTEGER NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY(node_id, epoch));
)sql";

constexpr std::string_view kDb = "audit database";  // how errors name this file

template <size_t N>
std::array<uint8_t, N> BlobArray(const SQLite::Column& c) {
  std::array<uint8_t, N> out{};
  if (c.getBytes() == static_cast<int>(N)) std::memcpy(out.data(), c.getBlob(), N);
  return out;
}

}  // namespace

Json NodeIdJson(const std::string& key) {
  return key.empty() || key.rfind("url:", 0) == 0 ? Json(nullptr) : Json(key);
}

namespace {

Challenge ChallengeFrom(SQLite::Statement& q) {
  Challenge c;
  c.id = q.getColumn(0).getInt64();
  c.root = q.getColumn(1).getString();
  c.chunk = static_cast<uint64_t>(q.getColumn(2).getInt64());
  c.nonce = BlobArray<16>(q.getColumn(3));
  c.offset = static_cast<uint64_t>(q.getColumn(4).getInt64());
  c.length = static_cast<uint64_t>(q.getColumn(5).getInt64());
  c.expected = BlobArray<32>(q.getColumn(6));
  return c;
}

AuditResult ResultFrom(const Json& record, const Json& evidence) {
  AuditResult r;
  // An unreachable node's result has "root", "chunk" and maybe "node_id" null.
  r.epoch = static_cast<int64_t>(NumberOr(record, "epoch", 0));
  r.node_id = StringOr(record, "node_id");
  r.url = StringOr(record, "url");
  r.root = StringOr(record, "root");
  r.mode = StringOr(record, "mode", "challenge");
  r.chunk = static_cast<uint64_t>(NumberOr(record, "chunk", 0));
  r.ok = BoolOr(record, "ok", false);
  r.reason = StringOr(record, "reason");
  r.latency_ms = NumberOr(record, "latency_ms", 0.0);
  r.evidence = evidence;
  return r;
}

double Round2(double v) { return std::round(v * 100) / 100; }

}  // namespace

Json Challenge::ToJson() const {
  return Json{{"schema", "digm.challenge/1"}, {"root", root},     {"chunk", chunk},
              {"nonce", HexEncode(nonce)},    {"offset", offset}, {"length", length}};
}

Json AuditResult::ToJson() const {
  Json j{{"schema", "digm.audit/1"},
         {"epoch", epoch},
         {"node_id", NodeIdJson(node_id)},
         {"url", url},
         {"mode", mode},
         {"root", root.empty() ? Json(nullptr) : Json(root)},
         {"chunk", root.empty() ? Json(nullptr) : Json(chunk)},
         {"ok", ok},
         {"reason", ok ? Json(nullptr) : Json(reason)},
         {"latency_ms", Round2(latency_ms)}};
  return j;
}

Json PrepareReport::ToJson() const {
  return Json{{"schema", "digm.prepared/1"},
              {"root", root},
              {"chunks", chunks},
              {"added", added},
              {"unused", unused}};
}

void Reputation::Add(bool passed, double decay) {
  alpha = decay * alpha + (passed ? 1 : 0);
  beta = decay * beta + (passed ? 0 : 1);
}

double Reputation::score() const { return alpha + beta > 0 ? alpha / (alpha + beta) : 0; }

double DecayingScore(const std::vector<bool>& epochs, double decay) {
  Reputation r;
  for (bool ok : epochs) r.Add(ok, decay);
  return r.score();
}

AuditDb::AuditDb(std::string path, std::unique_ptr<SQLite::Database> db, Clock clock,
                 RandomSource random)
    : path_(std::move(path)),
      db_(std::move(db)),
      clock_(std::move(clock)),
      random_(std::move(random)) {}

AuditDb::~AuditDb() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

Result<std::unique_ptr<AuditDb>> AuditDb::Open(const std::string& path, bool create, Clock clock,
                                               RandomSource random) {
  if (!create && access(path.c_str(), F_OK) != 0) {
    return Status::BadInput("'" + path + "' does not exist (run digm-audit prepare first)");
  }
  try {
    return std::unique_ptr<AuditDb>(new AuditDb(path, sql::Open(path, create, 10000, kSchema),
                                                std::move(clock), std::move(random)));
  } catch (const std::exception& e) {
    return sql::Error("'" + path + "'", e);
  }
}

Status AuditDb::Lock(double wait_s) {
  if (lock_fd_ < 0) lock_fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (lock_fd_ < 0) return Status::BadInput("cannot open '" + path_ + "' to lock it");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_s);
  while (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return Status::BadInput("cannot lock '" + path_ + "': " + std::strerror(errno));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      char waited[32];
      std::snprintf(waited, sizeof waited, "%g", wait_s);
      return Status::BadInput("'" + path_ + "' is busy: another digm-audit is using it (waited " +
                              waited + " s)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Ok();
}

Result<PrepareReport> AuditDb::Prepare(const Manifest& manifest, const ChunkStore& from,
                                       uint32_t count) {
  PrepareReport report;
  report.root = HexEncode(manifest.root ? *manifest.root : manifest.ComputeRoot());
  report.chunks = manifest.chunks.size();
  try {
    SQLite::Transaction tx(*db_);
    SQLite::Statement ins(*db_,
                          "INSERT INTO challenges(root, chunk, nonce, offset, length, expected, "
                          "draw) VALUES(?,?,?,?,?,?,?)");
    for (size_t i = 0; i < manifest.chunks.size(); ++i) {
      const ChunkRef& ref = manifest.chunks[i];
      DIGM_ASSIGN_OR_RETURN(Bytes bytes, from.Get(ref.hash));
      if (Sha256(bytes) != ref.hash) {
        return Status::Integrity("chunk " + std::to_string(i) + " (" + HexEncode(ref.hash) +
                                 ") in '" + from.dir() + "' does not match its hash");
      }
      for (uint32_t k = 0; k < count && !bytes.empty(); ++k) {
        Challenge c;
        std::array<uint8_t, 16> random{};
        random_(random);
        random_(c.nonce);
        uint64_t r = 0, draw = 0;
        std::memcpy(&r, random.data(), 8);
        std::memcpy(&draw, random.data() + 8, 8);
        c.length = std::min<uint64_t>(kMaxChallengeLength, bytes.size());
        c.offset = r % (bytes.size() - c.length + 1);
        Sha256Hasher h;
        c.expected = h.Digest(c.nonce, std::span(bytes.data() + c.offset, c.length));
        ins.bind(1, report.root);
        ins.bind(2, static_cast<int64_t>(i));
        ins.bind(3, c.nonce.data(), static_cast<int>(c.nonce.size()));
        ins.bind(4, static_cast<int64_t>(c.offset));
        ins.bind(5, static_cast<int64_t>(c.length));
        ins.bind(6, c.expected.data(), static_cast<int>(c.expected.size()));
        ins.bind(7, static_cast<int64_t>(draw >> 1));
        ins.exec();
        ins.reset();
        ++report.added;
      }
    }
    sql::Run(*db_,
             "INSERT INTO tracks VALUES(?1, ?2, ?3, ?3, 0) ON CONFLICT(root) DO UPDATE "
             "SET prepared = prepared + ?3, unused = unused + ?3, exhausted = 0",
             report.root, static_cast<int64_t>(report.chunks), static_cast<int64_t>(report.added));
    SQLite::Statement q = sql::Query(*db_, "SELECT unused FROM tracks WHERE root = ?", report.root);
    if (q.executeStep()) report.unused = static_cast<uint64_t>(q.getColumn(0).getInt64());
    tx.commit();
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return report;
}

Result<std::vector<std::string>> AuditDb::PreparedRoots() {
  std::vector<std::string> roots;
  try {
    SQLite::Statement q(*db_, "SELECT root FROM tracks ORDER BY root");
    while (q.executeStep()) roots.push_back(q.getColumn(0).getString());
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return roots;
}

Result<std::vector<Challenge>> AuditDb::Take(const std::vector<std::string>& roots, size_t n,
                                             int64_t epoch, const std::string& node_id) {
  std::vector<Challenge> taken;
  std::vector<std::string> left = roots;
  uint64_t seed = 0;
  random_(std::span(reinterpret_cast<uint8_t*>(&seed), sizeof seed));
  std::mt19937_64 rng(seed);
  try {
    SQLite::Transaction tx(*db_);
    SQLite::Statement pick(
        *db_,
        "SELECT id, root, chunk, nonce, offset, length, expected FROM challenges "
        "WHERE root = ? AND used_epoch IS NULL ORDER BY draw LIMIT 1");
    SQLite::Statement mark(*db_,
                           "UPDATE challenges SET used_epoch = ?, used_node = ? WHERE id = ?");
    SQLite::Statement left_of_chunk(
        *db_,
        "SELECT count(*) FROM challenges WHERE root = ? AND chunk = ? AND used_epoch IS NULL");
    SQLite::Statement count(*db_,
                            "UPDATE tracks SET unused = unused - 1, exhausted = exhausted + ? "
                            "WHERE root = ?");
    while (taken.size() < n && !left.empty()) {
      size_t i = std::uniform_int_distribution<size_t>(0, left.size() - 1)(rng);
      pick.bind(1, left[i]);
      if (!pick.executeStep()) {
        pick.reset();
        left.erase(left.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      Challenge c = ChallengeFrom(pick);
      pick.reset();
      mark.bind(1, epoch);
      mark.bind(2, node_id);
      mark.bind(3, c.id);
      mark.exec();
      mark.reset();
      left_of_chunk.bind(1, c.root);
      left_of_chunk.bind(2, static_cast<int64_t>(c.chunk));
      left_of_chunk.executeStep();
      bool exhausted = left_of_chunk.getColumn(0).getInt64() == 0;
      left_of_chunk.reset();
      count.bind(1, exhausted ? 1 : 0);
      count.bind(2, c.root);
      count.exec();
      count.reset();
      taken.push_back(std::move(c));
    }
    tx.commit();
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return taken;
}

Result<std::vector<ChallengeStock>> AuditDb::LowStock() {
  std::vector<ChallengeStock> low;
  try {
    SQLite::Statement q(*db_,
                        "SELECT root, chunks, prepared, unused, exhausted FROM tracks "
                        "WHERE exhausted > 0 OR unused * 4 < prepared ORDER BY root");
    while (q.executeStep()) {
      low.push_back({q.getColumn(0).getString(), static_cast<uint64_t>(q.getColumn(1).getInt64()),
                     static_cast<uint64_t>(q.getColumn(2).getInt64()),
                     static_cast<uint64_t>(q.getColumn(3).getInt64()),
                     static_cast<uint64_t>(q.getColumn(4).getInt64())});
    }
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return low;
}

std::string AuditDb::NodeAt(const std::string& url) {
  try {
    // A key proven at the URL before, rather than the URL's own record.
    SQLite::Statement q =
        sql::Query(*db_,
                   "SELECT node_id FROM nodes WHERE url = ? ORDER BY node_id LIKE 'url:%' "
                   "LIMIT 1",
                   url);
    if (q.executeStep()) return q.getColumn(0).getString();
  } catch (const std::exception&) {
  }
  return "";
}

Result<std::vector<AuditResult>> AuditDb::EpochResults(const std::string& node_id, int64_t epoch) {
  return sql::Try(kDb, [&] {
    return sql::Rows(
        *db_, "SELECT record, evidence FROM results WHERE node_id = ? AND epoch = ? ORDER BY seq",
        [](SQLite::Statement& q) {
          auto record = ParseJson(q.getColumn(0).getString());
          auto evidence = ParseJson(q.getColumn(1).getString());
          if (!record.ok() || !evidence.ok()) throw std::runtime_error("bad result row");
          return ResultFrom(*record, *evidence);
        },
        node_id, epoch);
  });
}

Result<std::optional<Json>> AuditDb::SlashRecord(const std::string& node_id, int64_t epoch) {
  try {
    SQLite::Statement q = sql::Query(
        *db_, "SELECT record FROM slashes WHERE node_id = ? AND epoch = ?", node_id, epoch);
    if (!q.executeStep()) return std::optional<Json>();
    DIGM_ASSIGN_OR_RETURN(Json record, ParseJson(q.getColumn(0).getString()));
    return std::optional<Json>(std::move(record));
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
}

Result<std::optional<Json>> AuditDb::RecordEpoch(const std::string& node_id, const std::string& url,
                                                 int64_t epoch,
                                                 const std::vector<AuditResult>& results,
                                                 const Wallet* auditor) {
  bool ok = !results.empty();
  double latency = 0;
  int answered = 0;
  for (const auto& r : results) {
    ok = ok && r.ok;
    if (r.latency_ms > 0) latency += r.latency_ms, ++answered;
  }
  std::optional<Json> slash;
  try {
    SQLite::Transaction tx(*db_);
    sql::Run(*db_,
             "INSERT INTO nodes VALUES(?1, ?2) ON CONFLICT(node_id) DO UPDATE SET "
             "url = ?2",
             node_id, url);
    SQLite::Statement ins = sql::Query(*db_, "INSERT OR IGNORE INTO epochs VALUES(?,?,?,?,?)",
                                       node_id, epoch, ok ? 1 : 0);
    if (answered) {
      ins.bind(4, Round2(latency / answered));
    } else {
      ins.bind(4);
    }
    ins.bind(5, clock_());
    if (ins.exec() == 0) return SlashRecord(node_id, epoch);  // recorded before: keep that
    SQLite::Statement res(*db_, "INSERT INTO results VALUES(?,?,?,?,?)");
    for (size_t i = 0; i < results.size(); ++i) {
      res.bind(1, node_id);
      res.bind(2, epoch);
      res.bind(3, static_cast<int64_t>(i));
      res.bind(4, DumpDocument(results[i].ToJson()));
      res.bind(5, DumpDocument(results[i].evidence));
      res.exec();
      res.reset();
    }
    // Struck out when this epoch is exactly the kStrikeEpochs-th failure in a row.
    SQLite::Statement last =
        sql::Query(*db_,
                   "SELECT epoch, ok FROM epochs WHERE node_id = ? AND epoch <= ? "
                   "ORDER BY epoch DESC LIMIT ?",
                   node_id, epoch, kStrikeEpochs + 1);
    std::vector<std::pair<int64_t, bool>> recent;
    while (last.executeStep()) {
      recent.emplace_back(last.getColumn(0).getInt64(), last.getColumn(1).getInt() != 0);
    }
    bool strike = recent.size() >= static_cast<size_t>(kStrikeEpochs) &&
                  std::none_of(recent.begin(), recent.begin() + kStrikeEpochs,
                               [](const auto& e) { return e.second; }) &&
                  (recent.size() == static_cast<size_t>(kStrikeEpochs) || recent.back().second);
    if (strike) {
      Json evidence = Json::array();
      for (int i = kStrikeEpochs - 1; i >= 0; --i) {
        std::vector<AuditResult> past;
        if (recent[i].first == epoch) {
          past = results;
        } else {
          DIGM_ASSIGN_OR_RETURN(past, EpochResults(node_id, recent[i].first));
        }
        for (const auto& r : past) {
          if (r.ok) continue;
          Json item = r.ToJson();
          item.erase("schema");
          item["evidence"] = r.evidence;
          evidence.push_back(std::move(item));
        }
      }
      Json record{{"schema", "digm.slash/1"},
                  {"node_id", NodeIdJson(node_id)},
                  {"address", NodeIdJson(node_id)},
                  {"url", url},
                  {"epoch", epoch},
                  {"consecutive_failures", kStrikeEpochs},
                  {"created", Rfc3339(clock_())},
                  {"evidence", std::move(evidence)}};
      if (auditor) SignDocument(record, *auditor);
      sql::Run(*db_, "INSERT INTO slashes VALUES(?,?,?)", node_id, epoch, DumpDocument(record));
      slash = std::move(record);
    }
    tx.commit();
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return slash;
}

Result<Json> AuditDb::FreshIndex(int64_t epoch, double decay) {
  Json nodes = Json::array();
  try {
    SQLite::Statement q =
        sql::Query(*db_,
                   "SELECT e.node_id, n.url, e.epoch, e.ok, e.latency_ms, e.at FROM epochs e "
                   "JOIN nodes n ON n.node_id = e.node_id WHERE e.epoch <= ? "
                   "ORDER BY e.node_id, e.epoch",
                   epoch);
    struct Node {
      std::string id, url;
      Reputation reputation;
      uint64_t passed = 0, failed = 0, consecutive = 0;
      int64_t last_epoch = 0, last_ok = -1;
      std::optional<double> latency;
    };
    std::vector<Node> all;
    while (q.executeStep()) {
      std::string id = q.getColumn(0).getString();
      if (all.empty() || all.back().id != id) all.push_back(Node{id, q.getColumn(1).getString()});
      Node& n = all.back();
      bool ok = q.getColumn(3).getInt() != 0;
      n.reputation.Add(ok, decay);
      n.last_epoch = q.getColumn(2).getInt64();
      if (ok) {
        ++n.passed;
        n.consecutive = 0;
        n.last_ok = q.getColumn(5).getInt64();
      } else {
        ++n.failed;
        ++n.consecutive;
      }
      if (!q.getColumn(4).isNull()) n.latency = q.getColumn(4).getDouble();
    }
    std::vector<std::pair<double, size_t>> order;
    for (size_t i = 0; i < all.size(); ++i) {
      order.emplace_back(all[i].reputation.score(), i);
    }
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [score, i] : order) {
      const Node& n = all[i];
      bool struck = n.consecutive >= static_cast<uint64_t>(kStrikeEpochs);
      bool healthy = !struck && score >= 0.9 && n.last_epoch >= epoch - 1;
      nodes.push_back(Json{{"node_id", NodeIdJson(n.id)},
                           {"url", n.url},
                           {"address", NodeIdJson(n.id)},
                           {"healthy", healthy},
                           {"struck_out", struck},
                           {"score", std::round(score * 1e6) / 1e6},
                           {"passed", n.passed},
                           {"failed", n.failed},
                           {"consecutive_failures", n.consecutive},
                           {"last_epoch", n.last_epoch},
                           {"last_ok", n.last_ok >= 0 ? Json(Rfc3339(n.last_ok)) : Json(nullptr)},
                           {"latency_ms", n.latency ? Json(*n.latency) : Json(nullptr)}});
    }
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return Json{{"schema", "digm.fresh-index/1"},
              {"generated", Rfc3339(clock_())},
              {"epoch", epoch},
              {"decay", decay},
              {"nodes", std::move(nodes)}};
}

std::optional<std::string> AuditDb::Setting(const std::string& key) {
  try {
    SQLite::Statement q = sql::Query(*db_, "SELECT value FROM settings WHERE key = ?", key);
    if (q.executeStep()) return q.getColumn(0).getString();
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

Status AuditDb::SetSetting(const std::string& key, const std::string& value) {
  try {
    sql::Run(*db_, "INSERT OR REPLACE INTO settings VALUES(?, ?)", key, value);
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return Status::Ok();
}

}  // namespace digm
