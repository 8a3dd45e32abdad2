// What every SQLite file of digm (a node's index, the audit database, the
// ledger) shares: how it is opened and kept, how a statement is bound and
// run, and how an SQLite exception becomes a Status. For the library's .cc
// files only (it brings in SQLiteCpp).
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

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

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};

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

// Every row of a query, each made by `row(q)`; when `row` returns an
// optional, the rows it gives nothing for are skipped. Throws.
template <class F, class... A>
auto Rows(SQLite::Database& db, const std::string& text, F&& row, const A&... args) {
  using Made = std::invoke_result_t<F&, SQLite::Statement&>;
  SQLite::Statement q = Query(db, text, args...);
  if constexpr (IsOptional<Made>::value) {
    std::vector<typename Made::value_type> out;
    while (q.executeStep()) {
      if (auto v = row(q)) out.push_back(std::move(*v));
    }
    return out;
  } else {
    std::vector<Made> out;
    while (q.executeStep()) out.push_back(row(q));
    return out;
  }
}

// The value `body` makes, or Error(what, e) for the exception it throws.
template <class F>
auto Try(std::string_view what, F&& body) -> Result<std::invoke_result_t<F&>> {
  try {
    return body();
  } catch (const std::exception& e) {
    return Error(what, e);
  }
}

}  // namespace digm::sql
