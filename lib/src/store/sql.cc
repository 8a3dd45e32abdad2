#include "store/sql.h"

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
  return Status::BadInput(std::string(what) + ": " + e.what());
}

}  // namespace digm::sql
