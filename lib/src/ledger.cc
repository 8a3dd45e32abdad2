#include "digm/ledger.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>

#include "digm/clock.h"

namespace digm {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS postings(
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL UNIQUE, created TEXT NOT NULL,
  chain_tx TEXT);
CREATE TABLE IF NOT EXISTS transfers(
  id INTEGER PRIMARY KEY, posting INTEGER NOT NULL REFERENCES postings(id), asset TEXT NOT NULL,
  from_account TEXT NOT NULL, to_account TEXT NOT NULL, amount INTEGER NOT NULL CHECK(amount > 0),
  memo TEXT NOT NULL, rounding TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal(
  transfer INTEGER NOT NULL REFERENCES transfers(id), account TEXT NOT NULL, asset TEXT NOT NULL,
  amount INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS journal_by_account ON journal(account, asset);
CREATE TABLE IF NOT EXISTS balances(
  account TEXT NOT NULL, asset TEXT NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY(account, asset));
CREATE TABLE IF NOT EXISTS purchases(
  root TEXT NOT NULL, buyer TEXT NOT NULL, ref TEXT NOT NULL, PRIMARY KEY(root, buyer));
)sql";

Status DbError(const std::exception& e) {
  return Status::BadInput(std::string("ledger: ") + e.what());
}

Transfer TransferFrom(SQLite::Statement& q) {
  Transfer t;
  t.id = q.getColumn(0).getInt64();
  t.kind = q.getColumn(1).getString();
  t.ref = q.getColumn(2).getString();
  t.created = q.getColumn(3).getString();
  t.chain_tx = q.getColumn(4).isNull() ? "" : q.getColumn(4).getString();
  t.spec.asset = q.getColumn(5).getString();
  t.spec.from = q.getColumn(6).getString();
  t.spec.to = q.getColumn(7).getString();
  t.spec.amount = q.getColumn(8).getInt64();
  t.spec.memo = q.getColumn(9).getString();
  t.spec.rounding = q.getColumn(10).getString();
  return t;
}

constexpr const char* kTransferColumns =
    "SELECT t.id, p.kind, p.ref, p.created, p.chain_tx, t.asset, t.from_account, t.to_account, "
    "t.amount, t.memo, t.rounding FROM transfers t JOIN postings p ON p.id = t.posting ";

}  // namespace

std::string StakeAccount(const std::string& address) { return "stake:" + address; }

Json Transfer::ToJson() const {
  auto asset = ParseAsset(spec.asset);
  int decimals = asset.ok() ? asset->decimals : 0;
  Json j{{"schema", "digm.transfer/1"},
         {"id", id},
         {"kind", kind},
         {"ref", ref},
         {"asset", spec.asset},
         {"from", spec.from},
         {"to", spec.to},
         {"amount", FormatAmount(spec.amount, decimals)},
         {"created", created}};
  if (!spec.memo.empty()) j["memo"] = spec.memo;
  if (!spec.rounding.empty()) j["rounding"] = spec.rounding;
  if (!chain_tx.empty()) j["chain_tx"] = chain_tx;
  return j;
}

Ledger::Ledger(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}
Ledger::~Ledger() = default;

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& path) {
  try {
    auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db->setBusyTimeout(30000);
    db->exec("PRAGMA journal_mode=WAL");
    db->exec("PRAGMA synchronous=FULL");
    db->exec(kSchema);
    return std::unique_ptr<Ledger>(new Ledger(std::move(db)));
  } catch (const std::exception& e) {
    return Status::BadInput("'" + path + "': " + e.what());
  }
}

Result<std::unique_ptr<Ledger::Txn>> Ledger::Begin() {
  try {
    return std::unique_ptr<Txn>(new Txn(*this));
  } catch (const std::exception& e) {
    return DbError(e);
  }
}

Ledger::Txn::Txn(Ledger& ledger)
    : ledger_(ledger),
      tx_(std::make_unique<SQLite::Transaction>(*ledger.db_, SQLite::TransactionBehavior::IMMEDIATE)) {}
Ledger::Txn::~Txn() = default;

Result<bool> Ledger::Txn::Post(const std::string& kind, const std::string& ref,
                               const std::vector<TransferSpec>& transfers,
                               std::vector<Transfer>* posted) {
  try {
    SQLite::Database& db = *ledger_.db_;
    SQLite::Statement p(db, "INSERT OR IGNORE INTO postings(kind, ref, created) VALUES(?,?,?)");
    std::string created = Rfc3339(UnixNow());
    p.bind(1, kind);
    p.bind(2, ref);
    p.bind(3, created);
    if (p.exec() == 0) return false;
    int64_t posting = db.getLastInsertRowid();
    SQLite::Statement t(db,
                        "INSERT INTO transfers(posting, asset, from_account, to_account, amount, "
                        "memo, rounding) VALUES(?,?,?,?,?,?,?)");
    SQLite::Statement j(db, "INSERT INTO journal VALUES(?,?,?,?)");
    SQLite::Statement b(db,
                        "INSERT INTO balances VALUES(?1, ?2, ?3) ON CONFLICT(account, asset) "
                        "DO UPDATE SET amount = amount + ?3");
    for (const auto& s : transfers) {
      if (s.amount <= 0) continue;  // nothing to move
      t.bind(1, posting);
      t.bind(2, s.asset);
      t.bind(3, s.from);
      t.bind(4, s.to);
      t.bind(5, s.amount);
      t.bind(6, s.memo);
      t.bind(7, s.rounding);
      t.exec();
      t.reset();
      int64_t id = db.getLastInsertRowid();
      for (auto [account, amount] : {std::pair{s.from, -s.amount}, std::pair{s.to, s.amount}}) {
        j.bind(1, id);
        j.bind(2, account);
        j.bind(3, s.asset);
        j.bind(4, amount);
        j.exec();
        j.reset();
        b.bind(1, account);
        b.bind(2, s.asset);
        b.bind(3, amount);
        b.exec();
        b.reset();
      }
      debited_.emplace_back(s.from, s.asset);
      if (posted) posted->push_back(Transfer{id, kind, ref, created, "", s});
    }
    return true;
  } catch (const std::exception& e) {
    return DbError(e);
  }
}

Result<int64_t> Ledger::Txn::Balance(const std::string& account, const std::string& asset) {
  try {
    SQLite::Statement q(*ledger_.db_, "SELECT amount FROM balances WHERE account = ? AND asset = ?");
    q.bind(1, account);
    q.bind(2, asset);
    return q.executeStep() ? q.getColumn(0).getInt64() : int64_t{0};
  } catch (const std::exception& e) {
    return DbError(e);
  }
}

Status Ledger::Txn::RecordPurchase(const std::string& root, const std::string& buyer,
                                   const std::string& ref) {
  try {
    SQLite::Statement q(*ledger_.db_, "INSERT OR IGNORE INTO purchases VALUES(?,?,?)");
    q.bind(1, root);
    q.bind(2, buyer);
    q.bind(3, ref);
    q.exec();
  } catch (const std::exception& e) {
    return DbError(e);
  }
  return Status::Ok();
}

bool Ledger::Txn::HasPurchase(const std::string& root, const std::string& buyer) {
  SQLite::Statement q(*ledger_.db_, "SELECT 1 FROM purchases WHERE root = ? AND buyer = ?");
  q.bind(1, root);
  q.bind(2, buyer);
  return q.executeStep();
}

Status Ledger::Txn::Commit() {
  std::sort(debited_.begin(), debited_.end());
  debited_.erase(std::unique(debited_.begin(), debited_.end()), debited_.end());
  for (const auto& [account, asset] : debited_) {
    if (account == kWorldAccount) continue;
    DIGM_ASSIGN_OR_RETURN(int64_t balance, Balance(account, asset));
    if (balance < 0) {
      auto a = ParseAsset(asset);
      return Status::No("the balance of " + account + " is short by " +
                        FormatAmount(-static_cast<__int128>(balance), a.ok() ? a->decimals : 0) +
                        " " + asset + "; nothing was applied");
    }
  }
  try {
    tx_->commit();
  } catch (const std::exception& e) {
    return DbError(e);
  }
  return Status::Ok();
}

Result<std::vector<Ledger::BalanceRow>> Ledger::Balances(const std::string& account) {
  std::vector<BalanceRow> rows;
  try {
    SQLite::Statement q(*db_,
                        "SELECT account, asset, amount FROM balances WHERE ?1 = '' OR account = ?1 "
                        "ORDER BY account, asset");
    q.bind(1, account);
    while (q.executeStep()) {
      rows.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(),
                      q.getColumn(2).getInt64()});
    }
  } catch (const std::exception& e) {
    return DbError(e);
  }
  return rows;
}

Result<std::vector<Transfer>> Ledger::History(const std::string& account) {
  std::vector<Transfer> out;
  try {
    SQLite::Statement q(*db_, std::string(kTransferColumns) +
                                  "WHERE ?1 = '' OR t.from_account = ?1 OR t.to_account = ?1 "
                                  "ORDER BY t.id");
    q.bind(1, account);
    while (q.executeStep()) out.push_back(TransferFrom(q));
  } catch (const std::exception& e) {
    return DbError(e);
  }
  return out;
}

Status Ledger::Check() {
  try {
    SQLite::Statement pairs(*db_,
                            "SELECT transfer FROM journal GROUP BY transfer "
                            "HAVING count(*) != 2 OR sum(amount) != 0 LIMIT 1");
    if (pairs.executeStep()) {
      return Status::Integrity("transfer " + std::to_string(pairs.getColumn(0).getInt64()) +
                               " does not balance");
    }
    SQLite::Statement sums(*db_,
                           "SELECT b.account, b.asset FROM balances b LEFT JOIN (SELECT account, "
                           "asset, sum(amount) s FROM journal GROUP BY account, asset) j "
                           "ON j.account = b.account AND j.asset = b.asset "
                           "WHERE b.amount != coalesce(j.s, 0) LIMIT 1");
    if (sums.executeStep()) {
      return Status::Integrity("the balance of " + sums.getColumn(0).getString() + " in " +
                               sums.getColumn(1).getString() + " differs from its journal");
    }
    SQLite::Statement negative(*db_,
                               "SELECT account FROM balances WHERE amount < 0 AND account != ? "
                               "LIMIT 1");
    negative.bind(1, kWorldAccount);
    if (negative.executeStep()) {
      return Status::Integrity("the balance of " + negative.getColumn(0).getString() +
                               " is negative");
    }
  } catch (const std::exception& e) {
    return DbError(e);
  }
  return Status::Ok();
}

}  // namespace digm
