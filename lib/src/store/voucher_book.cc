#include "digm/voucher_book.h"

#include <filesystem>

#include "store/sql.h"

namespace digm {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS channels(
  id TEXT PRIMARY KEY, doc TEXT NOT NULL,
  paid INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL DEFAULT 0, voucher TEXT,
  served INTEGER NOT NULL DEFAULT 0, added INTEGER NOT NULL);
)sql";

}  // namespace

VoucherBook::VoucherBook(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}
VoucherBook::~VoucherBook() = default;

Result<std::unique_ptr<VoucherBook>> VoucherBook::Open(const std::string& path, bool create) {
  if (!create && !std::filesystem::exists(path))
    return Status::BadInput("no voucher book at '" + path + "'");
  return sql::Try("voucher book", [&] {
    auto db = sql::Open(path, create, 10000, kSchema);
    db->exec("PRAGMA synchronous=NORMAL");
    return std::unique_ptr<VoucherBook>(new VoucherBook(std::move(db)));
  });
}

Result<VoucherBook::Decision> VoucherBook::Charge(const Channel& channel, const Voucher* voucher,
                                                  uint64_t bytes, int64_t per_mb, uint64_t credit) {
  std::lock_guard lock(mu_);
  auto r = sql::Try("voucher book", [&]() -> Result<Decision> {
    SQLite::Transaction tx(*db_);
    int64_t paid = 0, served = 0;
    bool stale = false;
    uint64_t seq = 0;
    std::string best;
    {
      auto q = sql::Query(*db_,
                          "SELECT paid, seq, served, COALESCE(voucher, '') FROM channels "
                          "WHERE id = ?1",
                          channel.id);
      if (q.executeStep()) {
        paid = q.getColumn(0).getInt64();
        seq = static_cast<uint64_t>(q.getColumn(1).getInt64());
        served = q.getColumn(2).getInt64();
        best = q.getColumn(3).getString();
      } else {
        sql::Run(*db_, "INSERT INTO channels(id, doc, added) VALUES(?1, ?2, strftime('%s','now'))",
                 channel.id, DumpDocument(channel.doc));
      }
    }
    if (voucher) {
      std::string doc = DumpDocument(voucher->doc);
      if (doc == best) {
        // the one it has
      } else if (voucher->amount < paid || voucher->seq <= seq) {
        stale = true;  // overtaken: requests in flight together arrive in any order
      } else {
        paid = voucher->amount;
        seq = voucher->seq;
        sql::Run(*db_, "UPDATE channels SET paid = ?2, seq = ?3, voucher = ?4 WHERE id = ?1",
                 channel.id, paid, static_cast<int64_t>(seq), doc);
      }
    }
    uint64_t paid_bytes = BytesPaidBy(paid, per_mb);
    uint64_t before = static_cast<uint64_t>(served);
    Decision d;
    d.paid = paid;
    d.stale = stale;
    d.allowed =
        before + bytes <= (paid_bytes > UINT64_MAX - credit ? UINT64_MAX : paid_bytes + credit);
    if (d.allowed) {
      uint64_t after = before + bytes;
      d.paid_bytes = paid_bytes > before ? std::min(after, paid_bytes) - before : 0;
      sql::Run(*db_, "UPDATE channels SET served = ?2 WHERE id = ?1", channel.id,
               static_cast<int64_t>(after));
      d.owed = PriceOf(after, per_mb);
    } else {
      d.owed = PriceOf(before + bytes, per_mb);
    }
    tx.commit();
    return d;
  });
  if (!r.ok()) return r.status();
  return std::move(*r);
}

Result<std::optional<VoucherBook::Account>> VoucherBook::Find(const std::string& id) {
  std::lock_guard lock(mu_);
  auto r = sql::Try("voucher book", [&]() -> Result<std::optional<Account>> {
    auto q =
        sql::Query(*db_, "SELECT COALESCE(voucher, ''), served FROM channels WHERE id = ?1", id);
    if (!q.executeStep()) return std::optional<Account>();
    Account a;
    a.served = static_cast<uint64_t>(q.getColumn(1).getInt64());
    if (std::string v = q.getColumn(0).getString(); !v.empty()) {
      DIGM_ASSIGN_OR_RETURN(a.voucher, ParseJson(v));
    }
    return std::optional<Account>(std::move(a));
  });
  if (!r.ok()) return r.status();
  return std::move(*r);
}

Result<std::vector<Json>> VoucherBook::Best() {
  std::lock_guard lock(mu_);
  auto r = sql::Try("voucher book", [&]() -> Result<std::vector<Json>> {
    std::vector<Json> out;
    auto q = sql::Query(*db_,
                        "SELECT voucher FROM channels WHERE voucher IS NOT NULL "
                        "ORDER BY added, id");
    while (q.executeStep()) {
      DIGM_ASSIGN_OR_RETURN(Json v, ParseJson(q.getColumn(0).getString()));
      out.push_back(std::move(v));
    }
    return out;
  });
  if (!r.ok()) return r.status();
  return std::move(*r);
}

}  // namespace digm
