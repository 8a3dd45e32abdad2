#include "digm/node_store.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

#include "digm/clock.h"
#include "digm/crypto.h"
#include "digm/file.h"
#include "digm/pin.h"
#include "store/sql.h"

namespace digm {
namespace fs = std::filesystem;

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS tracks(
  root TEXT PRIMARY KEY, manifest TEXT NOT NULL, title TEXT, artist TEXT, album TEXT,
  duration REAL, size INTEGER, chunks INTEGER, created_at TEXT);
CREATE TABLE IF NOT EXISTS track_chunks(
  root TEXT NOT NULL, idx INTEGER NOT NULL, hash TEXT NOT NULL, PRIMARY KEY(root, idx));
CREATE INDEX IF NOT EXISTS track_chunks_by_hash ON track_chunks(hash);
CREATE TABLE IF NOT EXISTS chunks(hash TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pins(
  root TEXT NOT NULL, owner TEXT NOT NULL, pin TEXT NOT NULL, origin TEXT NOT NULL,
  expires INTEGER NOT NULL, PRIMARY KEY(root, owner));
CREATE TABLE IF NOT EXISTS peers(
  node_id TEXT PRIMARY KEY, url TEXT NOT NULL, record TEXT NOT NULL, roots TEXT NOT NULL,
  seen INTEGER NOT NULL, host TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS streams(
  id TEXT PRIMARY KEY, doc TEXT NOT NULL, title TEXT NOT NULL, artist TEXT NOT NULL,
  head TEXT, size INTEGER NOT NULL DEFAULT 0, last_heard INTEGER NOT NULL,
  ended INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS streams_by_heard ON streams(ended, last_heard);
CREATE TABLE IF NOT EXISTS stream_chunks(
  id TEXT NOT NULL, idx INTEGER NOT NULL, hash TEXT NOT NULL, PRIMARY KEY(id, idx));
CREATE INDEX IF NOT EXISTS stream_chunks_by_hash ON stream_chunks(hash);
CREATE TABLE IF NOT EXISTS stored(one INTEGER PRIMARY KEY CHECK(one = 1), bytes INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS chunk_stored AFTER INSERT ON chunks BEGIN
  UPDATE stored SET bytes = bytes + NEW.size; END;
CREATE TRIGGER IF NOT EXISTS chunk_forgotten AFTER DELETE ON chunks BEGIN
  UPDATE stored SET bytes = bytes - OLD.size; END;
INSERT OR IGNORE INTO stored SELECT 1, COALESCE(SUM(size), 0) FROM chunks;
)sql";
// `stored` counts the bytes of the chunks the index names, whichever process
// adds or removes them (a node, and gc or add beside it): the triggers keep
// it, and a file made before them gets its first count after they exist, so
// no change falls between the two.

constexpr std::string_view kDb = "index";  // how errors name this file

// Index files from before pins accumulated per owner held one pin per root:
// move them to the new table, each under its owner and with its expiry.
// Peer tables from before they were bounded per host have no host column.
void MigratePeers(SQLite::Database& db) {
  SQLite::Statement cols(db, "PRAGMA table_info(peers)");
  while (cols.executeStep()) {
    if (cols.getColumn(1).getString() == "host") return;
  }
  db.exec("ALTER TABLE peers ADD COLUMN host TEXT NOT NULL DEFAULT ''");
}

void MigratePins(SQLite::Database& db) {
  bool has_owner = false;
  SQLite::Statement cols(db, "PRAGMA table_info(pins)");
  while (cols.executeStep()) has_owner |= cols.getColumn(1).getString() == "owner";
  if (has_owner) return;
  SQLite::Transaction tx(db);
  db.exec("ALTER TABLE pins RENAME TO pins_v1");
  db.exec(kSchema);
  SQLite::Statement old(db, "SELECT root, pin, origin FROM pins_v1");
  SQLite::Statement ins(db, "INSERT OR REPLACE INTO pins VALUES(?,?,?,?,?)");
  while (old.executeStep()) {
    auto pin = ParseJson(old.getColumn(1).getString());
    if (!pin.ok()) continue;
    ins.bind(1, old.getColumn(0).getString());
    ins.bind(2, StringOr(*pin, "owner"));
    ins.bind(3, old.getColumn(1).getString());
    ins.bind(4, old.getColumn(2).getString());
    ins.bind(5, PinExpiry(*pin).value_or(0));
    ins.exec();
    ins.reset();
  }
  db.exec("DROP TABLE pins_v1");
  tx.commit();
}

// In a transaction: the index stops naming the chunks `hashes`. Throws.
void ForgetChunks(SQLite::Database& db, const std::vector<std::string>& hashes) {
  SQLite::Statement dc(db, "DELETE FROM chunks WHERE hash=?");
  for (const auto& h : hashes) {
    dc.bind(1, h);
    dc.exec();
    dc.reset();
  }
}

// Files go after the index stops naming them (ForgetChunks, committed).
void UnlinkChunks(const ChunkStore& chunks, const std::vector<std::string>& hashes) {
  for (const auto& h : hashes) {
    if (auto hash = HexDecodeArray<32>(h); hash.ok()) unlink(chunks.PathFor(*hash).c_str());
  }
}

}  // namespace

Json FsckReport::ToJson() const {
  return Json{{"schema", "digm.fsck/1"},  {"clean", clean()},    {"checked", checked},
              {"missing", missing},       {"corrupt", corrupt},  {"orphans", orphans},
              {"temp_files", temp_files}, {"repaired", repaired}};
}

Json TrackRow::ToJson() const {
  return Json{{"schema", "digm.stored-track/1"},
              {"root", root},
              {"title", title},
              {"artist", artist},
              {"size", size},
              {"chunks", chunks},
              {"complete", complete},
              {"pinned", pinned},
              {"created_at", created_at}};
}

Status NodeStore::ImportTrack(const Manifest& manifest, const ChunkStore& from) {
  for (const auto& c : manifest.chunks) {
    DIGM_ASSIGN_OR_RETURN(Bytes bytes, from.Get(c.hash));
    DIGM_RETURN_IF_ERROR(PutChunk(c.hash, bytes));
  }
  return AddTrack(manifest);
}

NodeStore::NodeStore(std::string data_dir, ChunkStore chunks, std::unique_ptr<SQLite::Database> db,
                     Clock clock)
    : data_dir_(std::move(data_dir)),
      chunks_(std::move(chunks)),
      db_(std::move(db)),
      clock_(std::move(clock)) {}
NodeStore::~NodeStore() = default;

Result<std::unique_ptr<NodeStore>> NodeStore::Open(const std::string& data_dir, bool create,
                                                   Clock clock) {
  struct stat st;
  if (stat(data_dir.c_str(), &st) != 0) {
    if (!create) {
      return Status::BadInput("'" + data_dir +
                              "' is not a node's data folder (run digm-seed init)");
    }
    std::error_code ec;
    fs::create_directories(data_dir, ec);
    if (ec) return Status::BadInput("cannot create '" + data_dir + "': " + ec.message());
  }
  std::string db_path = data_dir + "/index.db";
  if (!create && access(db_path.c_str(), F_OK) != 0) {
    return Status::BadInput("'" + data_dir + "' has no index.db (run digm-seed init)");
  }
  DIGM_ASSIGN_OR_RETURN(ChunkStore chunks, ChunkStore::Open(data_dir + "/chunks",
                                                            {.create = true, .fsync_each = true}));
  try {
    auto db = sql::Open(db_path, true, 10000, kSchema);
    MigratePins(*db);
    MigratePeers(*db);
    db->exec("CREATE INDEX IF NOT EXISTS peers_by_seen ON peers(seen)");
    db->exec("CREATE INDEX IF NOT EXISTS peers_by_host ON peers(host, seen)");
    return std::unique_ptr<NodeStore>(
        new NodeStore(data_dir, std::move(chunks), std::move(db), std::move(clock)));
  } catch (const std::exception& e) {
    return sql::Error("'" + db_path + "'", e);
  }
}

Status NodeStore::AddTrack(const Manifest& m) {
  DIGM_RETURN_IF_ERROR(CheckRoot(m));
  std::string root = HexEncode(m.root ? *m.root : m.ComputeRoot());
  Manifest sealed = m;
  sealed.root = m.ComputeRoot();
  std::string text = DumpDocument(ManifestToJson(sealed));
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_);
    sql::Run(*db_, "INSERT OR IGNORE INTO tracks VALUES(?,?,?,?,?,?,?,?,?)", root, text,
             m.media.title.value_or(""), m.media.artist.value_or(""), m.media.album.value_or(""),
             m.media.duration.value_or(0.0), static_cast<int64_t>(m.size),
             static_cast<int64_t>(m.chunks.size()), Rfc3339(clock_()));
    SQLite::Statement tc(*db_, "INSERT OR IGNORE INTO track_chunks VALUES(?,?,?)");
    for (size_t i = 0; i < m.chunks.size(); ++i) {
      tc.bind(1, root);
      tc.bind(2, static_cast<int64_t>(i));
      tc.bind(3, HexEncode(m.chunks[i].hash));
      tc.exec();
      tc.reset();
    }
    tx.commit();
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return Status::Ok();
}

std::optional<std::string> NodeStore::ManifestText(const std::string& root) {
  std::lock_guard<std::mutex> lock(mu_);
  SQLite::Statement q = sql::Query(*db_, "SELECT manifest FROM tracks WHERE root=?", root);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getString();
}

std::optional<Manifest> NodeStore::GetManifest(const std::string& root) {
  auto text = ManifestText(root);
  if (!text) return std::nullopt;
  auto m = ParseManifest(*text);
  if (!m.ok()) return std::nullopt;
  return *m;
}

std::vector<TrackRow> NodeStore::ListTracks() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TrackRow> rows;
  SQLite::Statement q = sql::Query(*db_, R"sql(
    SELECT t.root, t.title, t.artist, t.album, t.duration, t.size, t.chunks, t.created_at,
      (SELECT COUNT(*) FROM track_chunks tc LEFT JOIN chunks c ON c.hash = tc.hash
        WHERE tc.root = t.root AND c.hash IS NULL) = 0,
      EXISTS(SELECT 1 FROM pins p WHERE p.root = t.root AND p.expires > ?1)
    FROM tracks t ORDER BY t.created_at, t.root)sql",
                                   clock_());
  while (q.executeStep()) {
    TrackRow r;
    r.root = q.getColumn(0).getString();
    r.title = q.getColumn(1).getString();
    r.artist = q.getColumn(2).getString();
    r.album = q.getColumn(3).getString();
    r.duration = q.getColumn(4).getDouble();
    r.size = static_cast<uint64_t>(q.getColumn(5).getInt64());
    r.chunks = static_cast<uint64_t>(q.getColumn(6).getInt64());
    r.created_at = q.getColumn(7).getString();
    r.complete = q.getColumn(8).getInt() != 0;
    r.pinned = q.getColumn(9).getInt() != 0;
    rows.push_back(std::move(r));
  }
  return rows;
}

Status NodeStore::RemoveTrack(const std::string& root) {
  std::vector<std::string> unused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      SQLite::Transaction tx(*db_);
      SQLite::Statement exists = sql::Query(*db_, "SELECT 1 FROM tracks WHERE root=?", root);
      if (!exists.executeStep()) return Status::BadInput("no track " + root + " on this node");
      SQLite::Statement q = sql::Query(*db_, R"sql(
        SELECT DISTINCT hash FROM track_chunks t WHERE root=?1
          AND NOT EXISTS(SELECT 1 FROM track_chunks o WHERE o.hash = t.hash AND o.root != ?1)
          AND NOT EXISTS(SELECT 1 FROM stream_chunks s WHERE s.hash = t.hash))sql",
                                       root);
      while (q.executeStep()) unused.push_back(q.getColumn(0).getString());
      for (const char* text :
           {"DELETE FROM track_chunks WHERE root=?", "DELETE FROM tracks WHERE root=?",
            "DELETE FROM pins WHERE root=?"}) {
        sql::Run(*db_, text, root);
      }
      ForgetChunks(*db_, unused);
      tx.commit();
    } catch (const std::exception& e) {
      return sql::Error(kDb, e);
    }
  }
  UnlinkChunks(chunks_, unused);
  return Status::Ok();
}

Status NodeStore::PutChunk(const Hash256& hash, std::span<const uint8_t> data) {
  if (Sha256(data) != hash) {
    return Status::Integrity("the body's SHA-256 is not " + HexEncode(hash));
  }
  // A new chunk is written only beside the reserve, whoever sends it (an
  // upload, a publisher's stream, a relay, an import).
  if (!chunks_.Has(hash)) {
    if (auto full = NoRoomFor(data.size())) return Status::BadInput(*full);
  }
  DIGM_RETURN_IF_ERROR(chunks_.Put(hash, data));
  std::lock_guard<std::mutex> lock(mu_);
  try {
    sql::Run(*db_, "INSERT OR IGNORE INTO chunks VALUES(?,?)", HexEncode(hash),
             static_cast<int64_t>(data.size()));
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return Status::Ok();
}

std::optional<uint64_t> NodeStore::FreeBytes() const {
  struct statvfs fs;
  if (statvfs(chunks_.dir().c_str(), &fs) != 0) return std::nullopt;
  return static_cast<uint64_t>(fs.f_bavail) * static_cast<uint64_t>(fs.f_frsize);
}

uint64_t NodeStore::StoredBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Statement q(*db_, "SELECT bytes FROM stored");
    return q.executeStep() ? static_cast<uint64_t>(std::max<int64_t>(0, q.getColumn(0).getInt64()))
                           : 0;
  } catch (const std::exception&) {
    return 0;  // a busy index: the write that follows says
  }
}

std::optional<std::string> NodeStore::NoRoomFor(uint64_t bytes) const {
  auto free = FreeBytes();
  if (free && (*free < kReserveBytes || *free - kReserveBytes < bytes)) {
    return "this node's disk is full: " + std::to_string(bytes) + " bytes more do not fit (" +
           std::to_string(*free) + " bytes free; it keeps " + std::to_string(kReserveBytes) +
           " free for its index)";
  }
  if (max_bytes_) {
    uint64_t held = StoredBytes();
    if (held > max_bytes_ || max_bytes_ - held < bytes) {
      return "this node's store is full: " + std::to_string(bytes) +
             " bytes more do not fit (it holds " + std::to_string(held) + " of the " +
             std::to_string(max_bytes_) + " bytes it may, --max-storage)";
    }
  }
  return std::nullopt;
}

uint64_t NodeStore::MissingBytes(const Manifest& manifest, std::vector<Hash256>* which) {
  std::set<Hash256> seen;
  uint64_t bytes = 0;
  for (const auto& c : manifest.chunks) {
    if (!seen.insert(c.hash).second || HasChunk(HexEncode(c.hash))) continue;
    bytes += c.size;
    if (which) which->push_back(c.hash);
  }
  return bytes;
}

bool NodeStore::HasChunk(const std::string& hash) { return ChunkSize(hash).has_value(); }

std::optional<uint64_t> NodeStore::ChunkSize(const std::string& hash) {
  std::lock_guard<std::mutex> lock(mu_);
  SQLite::Statement q = sql::Query(*db_, "SELECT size FROM chunks WHERE hash=?", hash);
  if (!q.executeStep()) return std::nullopt;
  return static_cast<uint64_t>(q.getColumn(0).getInt64());
}

bool NodeStore::ChunkIsPinned(const std::string& hash) {
  std::lock_guard<std::mutex> lock(mu_);
  SQLite::Statement q = sql::Query(*db_,
                                   "SELECT 1 FROM track_chunks tc JOIN pins p ON p.root = tc.root "
                                   "WHERE tc.hash=? AND p.expires > ? LIMIT 1",
                                   hash, clock_());
  return q.executeStep();
}

bool NodeStore::TrackComplete(const std::string& root) {
  std::lock_guard<std::mutex> lock(mu_);
  SQLite::Statement q = sql::Query(*db_, R"sql(
    SELECT EXISTS(SELECT 1 FROM tracks WHERE root=?1) AND
      (SELECT COUNT(*) FROM track_chunks tc LEFT JOIN chunks c ON c.hash = tc.hash
        WHERE tc.root=?1 AND c.hash IS NULL) = 0)sql",
                                   root);
  return q.executeStep() && q.getColumn(0).getInt() != 0;
}

Status NodeStore::PutPin(const std::string& root, const Json& pin, const std::string& origin) {
  auto expires = PinExpiry(pin);
  if (!expires) return Status::BadInput("the pin has no valid \"created\" or \"duration_days\"");
  std::lock_guard<std::mutex> lock(mu_);
  try {
    // One pin per owner and root: a later one of the same owner replaces it
    // when it lasts at least as long; another owner's stands beside it.
    sql::Run(*db_, R"sql(
      INSERT INTO pins VALUES(?1,?2,?3,?4,?5) ON CONFLICT(root, owner) DO UPDATE SET
        pin=?3, origin=?4, expires=?5 WHERE ?5 >= expires)sql",
             root, StringOr(pin, "owner"), DumpDocument(pin), origin, *expires);
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return Status::Ok();
}

std::vector<NodeStore::PinRow> NodeStore::ListPins(int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  return sql::Rows(
      *db_,
      "SELECT root, owner, pin, origin, expires FROM pins WHERE expires > ? ORDER BY root, owner",
      [](SQLite::Statement& q) -> std::optional<PinRow> {
        auto pin = ParseJson(q.getColumn(2).getString());
        if (!pin.ok()) return std::nullopt;
        return PinRow{q.getColumn(0).getString(), q.getColumn(1).getString(), std::move(*pin),
                      q.getColumn(3).getString(), q.getColumn(4).getInt64()};
      },
      now);
}

Result<NodeStore::Garbage> NodeStore::CollectGarbage(int64_t now) {
  Garbage g;
  {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      SQLite::Statement q = sql::Query(*db_, R"sql(
        SELECT t.root FROM tracks t WHERE EXISTS(SELECT 1 FROM pins p WHERE p.root = t.root)
          AND NOT EXISTS(SELECT 1 FROM pins p WHERE p.root = t.root AND p.expires > ?)
        ORDER BY t.root)sql",
                                       now);
      while (q.executeStep()) g.tracks.push_back(q.getColumn(0).getString());
    } catch (const std::exception& e) {
      return sql::Error(kDb, e);
    }
  }
  for (const auto& root : g.tracks) DIGM_RETURN_IF_ERROR(RemoveTrack(root));
  DIGM_ASSIGN_OR_RETURN(g.streams, RemoveStreams(now - kStreamKeepSeconds));
  return g;
}

// The streams last heard before `heard_before`, with the chunks that no
// track and no other stream names; their ids. An ended stream stays while
// the node holds its sealed track (the root of its final head), so its id
// goes on naming the recording; one whose head is not JSON (a damaged
// index) has none.
Result<std::vector<std::string>> NodeStore::RemoveStreams(int64_t heard_before) {
  std::vector<std::string> ids, unused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      SQLite::Transaction tx(*db_);
      SQLite::Statement q = sql::Query(*db_, R"sql(
        SELECT id FROM streams s WHERE last_heard < ?1 AND NOT (ended AND EXISTS(
          SELECT 1 FROM tracks t WHERE t.root =
            CASE WHEN json_valid(s.head) THEN json_extract(s.head, '$.root') END)) ORDER BY id)sql",
                                       heard_before);
      while (q.executeStep()) ids.push_back(q.getColumn(0).getString());
      SQLite::Statement chunks(*db_, R"sql(
        SELECT DISTINCT hash FROM stream_chunks s WHERE id = ?1
          AND NOT EXISTS(SELECT 1 FROM stream_chunks o WHERE o.hash = s.hash AND o.id != ?1)
          AND NOT EXISTS(SELECT 1 FROM track_chunks t WHERE t.hash = s.hash))sql");
      for (const auto& id : ids) {
        chunks.bind(1, id);
        while (chunks.executeStep()) unused.push_back(chunks.getColumn(0).getString());
        chunks.reset();
        sql::Run(*db_, "DELETE FROM stream_chunks WHERE id = ?", id);
        sql::Run(*db_, "DELETE FROM streams WHERE id = ?", id);
      }
      ForgetChunks(*db_, unused);
      tx.commit();
    } catch (const std::exception& e) {
      return sql::Error(kDb, e);
    }
  }
  UnlinkChunks(chunks_, unused);
  return ids;
}

void NodeStore::UpsertPeer(const PeerRow& p) {
  std::lock_guard<std::mutex> lock(mu_);
  sql::Run(*db_, R"sql(
    INSERT INTO peers VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(node_id) DO UPDATE SET
      url=?2, record=?3, roots=CASE WHEN ?4 = '[]' THEN roots ELSE ?4 END,
      seen=MAX(seen, ?5), host=?6)sql",
           p.node_id, p.url, DumpDocument(p.record), Json(p.roots).dump(), p.seen, p.host);
}

bool NodeStore::HasPeerAt(const std::string& node_id, const std::string& url, int64_t seen_since) {
  std::lock_guard<std::mutex> lock(mu_);
  SQLite::Statement q =
      sql::Query(*db_, "SELECT 1 FROM peers WHERE node_id = ? AND url = ? AND seen >= ?", node_id,
                 url, seen_since);
  return q.executeStep();
}

NodeStore::PeerCounts NodeStore::CountPeers(const std::string& host, int64_t seen_since) {
  std::lock_guard<std::mutex> lock(mu_);
  SQLite::Statement q =
      sql::Query(*db_, "SELECT count(*), coalesce(sum(host = ?), 0) FROM peers WHERE seen >= ?",
                 host, seen_since);
  PeerCounts c;
  if (q.executeStep()) {
    c.all = static_cast<size_t>(q.getColumn(0).getInt64());
    c.on_host = static_cast<size_t>(q.getColumn(1).getInt64());
  }
  return c;
}

void NodeStore::SetPeerRoots(const std::string& node_id, const std::vector<std::string>& roots) {
  std::lock_guard<std::mutex> lock(mu_);
  sql::Run(*db_, "UPDATE peers SET roots=? WHERE node_id=?", Json(roots).dump(), node_id);
}

std::vector<PeerRow> NodeStore::ListPeers(int64_t seen_since, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PeerRow> peers;
  SQLite::Statement q =
      sql::Query(*db_,
                 limit ? "SELECT node_id, url, record, roots, seen, host FROM peers "
                         "WHERE seen >= ? ORDER BY seen DESC, node_id LIMIT ?"
                       : "SELECT node_id, url, record, roots, seen, host FROM peers "
                         "WHERE seen >= ? ORDER BY node_id",
                 seen_since);
  if (limit) q.bind(2, static_cast<int64_t>(limit));
  while (q.executeStep()) {
    PeerRow p;
    p.node_id = q.getColumn(0).getString();
    p.url = q.getColumn(1).getString();
    p.record = Json::parse(q.getColumn(2).getString());
    p.roots = Json::parse(q.getColumn(3).getString()).get<std::vector<std::string>>();
    p.seen = q.getColumn(4).getInt64();
    p.host = q.getColumn(5).getString();
    peers.push_back(std::move(p));
  }
  return peers;
}

void NodeStore::ForgetPeersBefore(int64_t seen_before) {
  std::lock_guard<std::mutex> lock(mu_);
  sql::Run(*db_, "DELETE FROM peers WHERE seen < ?", seen_before);
}

Result<FsckReport> NodeStore::Fsck(bool repair) {
  FsckReport report;
  std::set<std::string> indexed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement q(*db_, "SELECT hash FROM chunks");
    while (q.executeStep()) indexed.insert(q.getColumn(0).getString());
  }
  std::set<std::string> on_disk;
  std::vector<std::string> temps;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(chunks_.dir(), ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string name = it->path().filename().string();
    if (name.find(".tmp-") != std::string::npos) {
      temps.push_back(it->path().string());
      continue;
    }
    auto hash = HexDecodeArray<32>(name);
    ++report.checked;
    auto bytes = hash.ok() ? chunks_.Get(*hash) : Result<Bytes>(Status::BadInput("bad name"));
    if (!hash.ok() || !bytes.ok() || Sha256(*bytes) != *hash ||
        it->path().parent_path().filename() != name.substr(0, 2)) {
      report.corrupt.push_back(it->path().string());
      continue;
    }
    on_disk.insert(name);
    if (!indexed.count(name)) report.orphans.push_back(name);
  }
  // A corrupt file counts as missing too: the index must stop naming it.
  for (const auto& h : indexed) {
    if (!on_disk.count(h)) report.missing.push_back(h);
  }
  report.temp_files = temps.size();
  if (repair) {
    // The count of stored bytes is the index's own: made to agree with its
    // chunk rows (the triggers keep it so; a hand-edited index may not).
    std::lock_guard<std::mutex> lock(mu_);
    try {
      db_->exec("UPDATE stored SET bytes = (SELECT COALESCE(SUM(size), 0) FROM chunks)");
    } catch (const std::exception& e) {
      return sql::Error(kDb, e);
    }
  }
  if (!repair || report.clean()) return report;

  std::string quarantine = data_dir_ + "/quarantine";
  fs::create_directories(quarantine, ec);
  for (const auto& path : report.corrupt) {
    fs::rename(path, quarantine + "/" + fs::path(path).filename().string(), ec);
    if (ec) unlink(path.c_str());
  }
  for (const auto& t : temps) unlink(t.c_str());
  std::lock_guard<std::mutex> lock(mu_);
  try {
    SQLite::Transaction tx(*db_);
    SQLite::Statement del(*db_, "DELETE FROM chunks WHERE hash=?");
    for (const auto& h : report.missing) {
      del.bind(1, h);
      del.exec();
      del.reset();
    }
    // A verified file the index lost (a crash between rename and commit) is
    // indexed again; its bytes match its name.
    SQLite::Statement ins(*db_, "INSERT OR IGNORE INTO chunks VALUES(?,?)");
    for (const auto& h : report.orphans) {
      auto hash = HexDecodeArray<32>(h);
      struct stat st;
      if (!hash.ok() || stat(chunks_.PathFor(*hash).c_str(), &st) != 0) continue;
      ins.bind(1, h);
      ins.bind(2, static_cast<int64_t>(st.st_size));
      ins.exec();
      ins.reset();
    }
    tx.commit();
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  report.repaired = true;
  return report;
}

}  // namespace digm
