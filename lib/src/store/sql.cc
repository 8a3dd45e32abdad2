#include "store/sql.h"

#include <sqlite3.h>

namespace digm::sql {

std::unique_ptr<SQLite::Database> Open(const std::string& path, bool create, int busy_timeout_ms,
                                       const char* schema) {
  auto db = std::make_unique<SQLite::Database>(
      path, SQLite::OPEN_READWRITE | (create ? SQLite::OPEN_CREATE : 0));
  db->setBusyTimeout(busy_timeout_ms);
  db->exec("PRAGMA journal_mode=WAL");
  db->exec("PRAGMA synchronous=FULL");
  db->exec(schema);
  return db;
}

Status Error(std::string_view what, const std::exception& e) {
  Status s = Status::BadInput(std::string(what) + ": " + e.what());
  // SQLite needs room beside the file even to read it (its -wal and -shm
  // files); out of room, it says "disk I/O error" as often as "full".
  auto* sqlite = dynamic_cast<const SQLite::Exception*>(&e);
  int code = sqlite ? sqlite->getErrorCode() : SQLITE_OK;
  if (code == SQLITE_FULL || code == SQLITE_IOERR)
    s = s.WithHint("is its disk full? free some room there and run it again");
  return s;
}

}  // namespace digm::sql
