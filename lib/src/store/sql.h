// What every SQLite file of digm (a node's index, the audit database, the
// ledger) shares: how it is opened and kept, how a statement is bound and
// run, and how an SQLite exception becomes a Status. For the library's .cc
// files only (it brings in SQLiteCpp).
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include "digm/status.h"

namespace digm::sql {

// Opens `path` (creating it when `create`) in WAL mode with synchronous=FULL,
// so a committed row survives a crash or power loss, waits up to
// `busy_timeout_ms` for another writer, and runs `schema` (CREATE … IF NOT
// EXISTS). Throws SQLite::Exception.
std::unique_ptr<SQLite::Database> Open(const std::string& path, bool create, int busy_timeout_ms,
                                       const char* schema);

// BadInput "WHAT: what SQLite said" (WHAT: "index", "ledger", …).
Status Error(std::string_view what, const std::exception& e);

// Binds the arguments to ?1, ?2, … in order.
template <class... A>
void Bind(SQLite::Statement& q, const A&... args) {
  int i = 0;
  (q.bind(++i, args), ...);
}

// A statement prepared and bound, ready for executeStep().
template <class... A>
SQLite::Statement Query(SQLite::Database& db, const std::string& text, const A&... args) {
  SQLite::Statement q(db, text);
  Bind(q, args...);
  return q;
}

// Prepares, binds and runs a statement that returns no rows; the rows changed.
template <class... A>
int Run(SQLite::Database& db, const std::string& text, const A&... args) {
  SQLite::Statement q = Query(db, text, args...);
  return q.exec();
}

}  // namespace digm::sql
