#include "digm/stream_store.h"

#include "digm/crypto.h"
#include "store/sql.h"

namespace digm {
namespace {

constexpr std::string_view kDb = "index";

Status NoStream(const std::string& id) {
  return Status::BadInput("no stream " + id + " on this node");
}

constexpr const char* kRowColumns = "SELECT id, doc, head, last_heard, ended FROM streams ";

// A row of kRowColumns; none when what the index holds does not parse.
std::optional<LiveStreamRow> RowFrom(SQLite::Statement& q) {
  auto doc = ParseJson(q.getColumn(1).getString());
  std::string head_text = q.getColumn(2).getString();
  auto head = head_text.empty() ? Result<Json>(Json(nullptr)) : ParseJson(head_text);
  if (!doc.ok() || !head.ok()) return std::nullopt;
  return LiveStreamRow{q.getColumn(0).getString(), std::move(*doc), std::move(*head),
                       q.getColumn(3).getInt64(), q.getColumn(4).getInt() != 0};
}

// The chunk hashes of a stream's log, in order. Throws.
std::vector<Hash256> HashesOf(SQLite::Database& db, const std::string& id) {
  return sql::Rows(
      db, "SELECT hash FROM stream_chunks WHERE id = ? ORDER BY idx",
      [](SQLite::Statement& q) -> std::optional<Hash256> {
        auto h = HexDecodeArray<32>(q.getColumn(0).getString());
        return h.ok() ? std::optional<Hash256>(*h) : std::nullopt;
      },
      id);
}

}  // namespace

Json LiveStreamRow::ToJson() const {
  return Json{{"id", id}, {"stream", stream}, {"head", head}, {"last_heard", Rfc3339(last_heard)}};
}

StreamStore::StreamStore(NodeStore& node, std::unique_ptr<SQLite::Database> db, Clock clock)
    : node_(node), db_(std::move(db)), clock_(std::move(clock)) {}
StreamStore::~StreamStore() = default;

Result<std::unique_ptr<StreamStore>> StreamStore::Open(NodeStore& node, Clock clock) {
  return sql::Try(kDb, [&] {
    return std::unique_ptr<StreamStore>(new StreamStore(
        node, sql::Open(node.data_dir() + "/index.db", false, 10000, ""), std::move(clock)));
  });
}

Status StreamStore::Announce(const Stream& stream) {
  std::lock_guard<std::mutex> lock(mu_);
  auto done = sql::Try(kDb, [&] {
    return sql::Run(
        *db_,
        "INSERT INTO streams(id, doc, title, artist, last_heard) VALUES(?1,?2,?3,?4,?5) "
        "ON CONFLICT(id) DO UPDATE SET last_heard = ?5",
        HexEncode(stream.id), DumpDocument(stream.doc), stream.info.title, stream.info.artist,
        clock_());
  });
  return done.status();
}

std::optional<Stream> StreamStore::Get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto log = LogOf(id);
  if (!log.ok()) return std::nullopt;
  return (*log)->stream();
}

Result<StreamLog*> StreamStore::LogOf(const std::string& id) {
  if (auto it = logs_.find(id); it != logs_.end()) return &it->second;
  auto row = sql::Try(kDb, [&] {
    SQLite::Statement q = sql::Query(*db_, "SELECT doc, head FROM streams WHERE id = ?", id);
    std::optional<std::pair<std::string, std::string>> r;
    if (q.executeStep()) r.emplace(q.getColumn(0).getString(), q.getColumn(1).getString());
    return r;
  });
  DIGM_RETURN_IF_ERROR(row.status());
  if (!*row) return NoStream(id);
  DIGM_ASSIGN_OR_RETURN(Json doc, ParseJson((*row)->first));
  DIGM_ASSIGN_OR_RETURN(Stream stream, ReadStreamDocument(doc));
  StreamLog log(stream);
  if (!(*row)->second.empty()) {
    // What the index holds was verified when it was kept; checked again, so
    // a damaged index is found here and not passed on.
    DIGM_ASSIGN_OR_RETURN(Json head_doc, ParseJson((*row)->second));
    DIGM_ASSIGN_OR_RETURN(TreeHead head, ReadTreeHead(head_doc, stream));
    DIGM_ASSIGN_OR_RETURN(auto hashes, sql::Try(kDb, [&] { return HashesOf(*db_, id); }));
    if (Status s = log.Extend(hashes, head); !s.ok())
      return s.Context("stream " + id + " in the index");
  }
  return &logs_.emplace(id, std::move(log)).first->second;
}

Result<StreamLog*> StreamStore::LogToExtend(const std::string& id) {
  DIGM_ASSIGN_OR_RETURN(StreamLog * log, LogOf(id));
  DIGM_ASSIGN_OR_RETURN(
      bool held, sql::Try(kDb, [&] {
        return sql::Query(*db_, "SELECT 1 FROM streams WHERE id = ?", id).executeStep();
      }));
  if (held) return log;
  logs_.erase(id);
  return NoStream(id);
}

Result<TreeHead> StreamStore::ReadHead(const std::string& id, const Json& doc) {
  auto stream = Get(id);
  if (!stream) return NoStream(id);
  return ReadTreeHead(doc, *stream);
}

Status StreamStore::Append(const std::string& id, uint64_t index, std::span<const uint8_t> stored,
                           const Json& head_doc) {
  DIGM_ASSIGN_OR_RETURN(TreeHead head, ReadHead(id, head_doc));
  return Append(id, index, stored, head);
}

Status StreamStore::Append(const std::string& id, uint64_t index, std::span<const uint8_t> stored,
                           const TreeHead& head) {
  Hash256 hash = Sha256(stored);
  return Commit(id, index, std::span(&hash, 1), head, [&] { return node_.PutChunk(hash, stored); });
}

Result<Hash256> StreamStore::KeepChunk(std::span<const uint8_t> stored) {
  Hash256 hash = Sha256(stored);
  DIGM_RETURN_IF_ERROR(node_.PutChunk(hash, stored));
  return hash;
}

Status StreamStore::Append(const std::string& id, uint64_t first, std::span<const Hash256> hashes,
                           const TreeHead& head) {
  for (const auto& h : hashes) {
    if (!node_.HasChunk(HexEncode(h)))
      return Status::BadInput("chunk " + HexEncode(h) + " is not in the store");
  }
  return Commit(id, first, hashes, head, [] { return Status::Ok(); });
}

Status StreamStore::Commit(const std::string& id, uint64_t first, std::span<const Hash256> hashes,
                           const TreeHead& head, const std::function<Status()>& keep_chunks) {
  std::lock_guard<std::mutex> lock(mu_);
  DIGM_ASSIGN_OR_RETURN(StreamLog * log, LogToExtend(id));
  if (HexEncode(head.stream) != id) return Status::Integrity("the tree head is of another stream");
  if (first != log->size()) {
    return Status::BadInput("expected chunk " + std::to_string(log->size()) + " of stream " + id +
                            ", not " + std::to_string(first));
  }
  StreamLog before = *log;
  DIGM_RETURN_IF_ERROR(log->Extend(hashes, head));
  // The chunks are on disk before the index names them (as a track's are).
  Status kept = keep_chunks();
  if (kept.ok()) {
    kept = sql::Try(kDb, [&] {
             SQLite::Transaction tx(*db_);
             for (size_t i = 0; i < hashes.size(); ++i) {
               sql::Run(*db_, "INSERT INTO stream_chunks VALUES(?,?,?)", id,
                        static_cast<int64_t>(first + i), HexEncode(hashes[i]));
             }
             sql::Run(*db_, "UPDATE streams SET head = ?, size = ?, last_heard = ? WHERE id = ?",
                      DumpDocument(head.doc), static_cast<int64_t>(head.size), clock_(), id);
             tx.commit();
             return true;
           }).status();
  }
  if (!kept.ok()) *log = std::move(before);
  return kept;
}

Status StreamStore::Accept(const std::string& id, const TreeHead& head, bool ending) {
  std::lock_guard<std::mutex> lock(mu_);
  DIGM_ASSIGN_OR_RETURN(StreamLog * log, LogToExtend(id));
  if (HexEncode(head.stream) != id) return Status::Integrity("the tree head is of another stream");
  if (ending && !head.ended) return Status::BadInput("the final head must say \"ended\": true");
  StreamLog before = *log;
  DIGM_RETURN_IF_ERROR(log->head() ? log->Heartbeat(head) : log->Extend({}, head));
  auto kept = sql::Try(kDb, [&] {
    return sql::Run(*db_, "UPDATE streams SET head = ?, last_heard = ?, ended = ? WHERE id = ?",
                    DumpDocument(head.doc), clock_(), head.ended ? 1 : 0, id);
  });
  if (!kept.ok()) *log = std::move(before);
  return kept.status();
}

Status StreamStore::Heartbeat(const std::string& id, const TreeHead& head) {
  return Accept(id, head, false);
}

Status StreamStore::End(const std::string& id, const TreeHead& head) {
  return Accept(id, head, true);
}

Status StreamStore::Heartbeat(const std::string& id, const Json& doc) {
  DIGM_ASSIGN_OR_RETURN(TreeHead head, ReadHead(id, doc));
  return Accept(id, head, false);
}

Status StreamStore::End(const std::string& id, const Json& doc) {
  DIGM_ASSIGN_OR_RETURN(TreeHead head, ReadHead(id, doc));
  return Accept(id, head, true);
}

std::vector<LiveStreamRow> StreamStore::ListLive(int64_t heard_since, const std::string& query,
                                                 bool with_ended) {
  std::lock_guard<std::mutex> lock(mu_);
  auto rows = sql::Try(kDb, [&] {
    return sql::Rows(
        *db_,
        std::string(kRowColumns) +
            "WHERE (ended = 0 OR ?3) AND last_heard >= ?1 AND (?2 = '' OR "
            "instr(lower(title), lower(?2)) > 0 OR instr(lower(artist), lower(?2)) > 0) "
            "ORDER BY last_heard DESC, id",
        RowFrom, heard_since, query, with_ended ? 1 : 0);
  });
  return rows.ok() ? std::move(*rows) : std::vector<LiveStreamRow>{};
}

std::optional<LiveStreamRow> StreamStore::Row(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto row = sql::Try(kDb, [&] {
    auto rows = sql::Rows(*db_, std::string(kRowColumns) + "WHERE id = ?", RowFrom, id);
    return rows.empty() ? std::optional<LiveStreamRow>() : std::optional(std::move(rows[0]));
  });
  return row.ok() ? *row : std::nullopt;
}

std::vector<Hash256> StreamStore::ChunkHashes(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto rows = sql::Try(kDb, [&] { return HashesOf(*db_, id); });
  return rows.ok() ? std::move(*rows) : std::vector<Hash256>{};
}

std::optional<Hash256> StreamStore::ChunkHash(const std::string& id, uint64_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  auto row = sql::Try(kDb, [&] {
    SQLite::Statement q =
        sql::Query(*db_, "SELECT hash FROM stream_chunks WHERE id = ? AND idx = ?", id,
                   static_cast<int64_t>(index));
    std::optional<Hash256> h;
    if (q.executeStep()) {
      if (auto v = HexDecodeArray<32>(q.getColumn(0).getString()); v.ok()) h = *v;
    }
    return h;
  });
  return row.ok() ? *row : std::nullopt;
}

Json StreamStore::Evidence(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = logs_.find(id);
  return it == logs_.end() ? Json(nullptr) : it->second.Evidence();
}

}  // namespace digm
