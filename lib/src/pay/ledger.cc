#include "digm/ledger.h"

#include <unistd.h>

#include <algorithm>

#include "digm/clock.h"
#include "store/sql.h"

namespace digm {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS postings(
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL UNIQUE, created TEXT NOT NULL);
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
CREATE TABLE IF NOT EXISTS chain_sends(
  id INTEGER PRIMARY KEY, chain_id INTEGER NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL,
  seq INTEGER NOT NULL, asset TEXT NOT NULL, from_account TEXT NOT NULL, to_account TEXT NOT NULL,
  amount INTEGER NOT NULL CHECK(amount > 0), memo TEXT NOT NULL, rounding TEXT NOT NULL,
  created TEXT NOT NULL, nonce INTEGER NOT NULL, raw TEXT NOT NULL, tx_hash TEXT NOT NULL,
  state TEXT NOT NULL, block INTEGER NOT NULL DEFAULT 0, UNIQUE(chain_id, ref, seq));
CREATE TABLE IF NOT EXISTS channels(
  id TEXT PRIMARY KEY, doc TEXT NOT NULL, redeemed INTEGER NOT NULL DEFAULT 0,
  seq INTEGER NOT NULL DEFAULT 0, refunded INTEGER NOT NULL DEFAULT 0);
)sql";

constexpr std::string_view kDb = "ledger";  // how errors name this file

// asset, from, to, amount, memo, rounding from column `first` on.
TransferSpec SpecFrom(SQLite::Statement& q, int first) {
  return {q.getColumn(first).getString(),     q.getColumn(first + 1).getString(),
          q.getColumn(first + 2).getString(), q.getColumn(first + 3).getInt64(),
          q.getColumn(first + 4).getString(), q.getColumn(first + 5).getString()};
}

Transfer TransferFrom(SQLite::Statement& q) {
  Transfer t;
  t.id = q.getColumn(0).getInt64();
  t.kind = q.getColumn(1).getString();
  t.ref = q.getColumn(2).getString();
  t.created = q.getColumn(3).getString();
  t.spec = SpecFrom(q, 4);
  return t;
}

constexpr const char* kTransferColumns =
    "SELECT t.id, p.kind, p.ref, p.created, t.asset, t.from_account, t.to_account, "
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
  if (chain_id != 0) {
    j["chain_id"] = chain_id;
    j["chain_tx"] = chain_tx;
  }
  return j;
}

Transfer ChainSend::AsTransfer() const {
  Transfer t{id, kind, ref, created, spec};
  t.chain_id = chain_id;
  t.chain_tx = tx_hash;
  return t;
}

Ledger::Ledger(std::unique_ptr<SQLite::Database> db, Clock clock)
    : db_(std::move(db)), clock_(std::move(clock)) {}
Ledger::~Ledger() = default;

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& path, bool create, Clock clock) {
  if (!create && access(path.c_str(), F_OK) != 0) {
    return Status::BadInput("'" + path +
                            "': no such ledger (only a command that writes starts one)");
  }
  try {
    return std::unique_ptr<Ledger>(
        new Ledger(sql::Open(path, create, 30000, kSchema), std::move(clock)));
  } catch (const std::exception& e) {
    return sql::Error("'" + path + "'", e);
  }
}

Result<std::unique_ptr<Ledger::Txn>> Ledger::Begin() {
  try {
    return std::unique_ptr<Txn>(new Txn(*this));
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
}

Ledger::Txn::Txn(Ledger& ledger)
    : ledger_(ledger),
      tx_(std::make_unique<SQLite::Transaction>(*ledger.db_,
                                                SQLite::TransactionBehavior::IMMEDIATE)) {}
Ledger::Txn::~Txn() = default;

Result<bool> Ledger::Txn::Post(const std::string& kind, const std::string& ref,
                               const std::vector<TransferSpec>& transfers,
                               std::vector<Transfer>* posted) {
  try {
    SQLite::Database& db = *ledger_.db_;
    SQLite::Statement p(db, "INSERT OR IGNORE INTO postings(kind, ref, created) VALUES(?,?,?)");
    std::string created = Rfc3339(ledger_.clock_());
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
      if (posted) posted->push_back(Transfer{id, kind, ref, created, s});
    }
    return true;
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
}

Result<int64_t> Ledger::Txn::Balance(const std::string& account, const std::string& asset) {
  try {
    SQLite::Statement q =
        sql::Query(*ledger_.db_, "SELECT amount FROM balances WHERE account = ? AND asset = ?",
                   account, asset);
    return q.executeStep() ? q.getColumn(0).getInt64() : int64_t{0};
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
}

Status Ledger::Txn::RecordPurchase(const std::string& root, const std::string& buyer,
                                   const std::string& ref) {
  try {
    sql::Run(*ledger_.db_, "INSERT OR IGNORE INTO purchases VALUES(?,?,?)", root, buyer, ref);
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return Status::Ok();
}

Status Ledger::Txn::AddChannel(const std::string& id, const std::string& doc) {
  try {
    sql::Run(*ledger_.db_, "INSERT INTO channels(id, doc) VALUES(?,?)", id, doc);
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return Status::Ok();
}

Result<std::optional<ChannelRow>> Ledger::Txn::FindChannel(const std::string& id) {
  return ledger_.FindChannel(id);
}

Result<std::optional<ChannelRow>> Ledger::FindChannel(const std::string& id) {
  try {
    SQLite::Statement q =
        sql::Query(*db_, "SELECT doc, redeemed, seq, refunded FROM channels WHERE id = ?", id);
    if (!q.executeStep()) return std::optional<ChannelRow>();
    return std::optional<ChannelRow>(
        ChannelRow{q.getColumn(0).getString(), q.getColumn(1).getInt64(),
                   static_cast<uint64_t>(q.getColumn(2).getInt64()), q.getColumn(3).getInt() != 0});
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
}

Status Ledger::Txn::UpdateChannel(const std::string& id, const ChannelRow& row) {
  try {
    sql::Run(*ledger_.db_, "UPDATE channels SET redeemed = ?, seq = ?, refunded = ? WHERE id = ?",
             row.redeemed, static_cast<int64_t>(row.seq), row.refunded ? 1 : 0, id);
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return Status::Ok();
}

bool Ledger::Txn::HasPurchase(const std::string& root, const std::string& buyer) {
  SQLite::Statement q =
      sql::Query(*ledger_.db_, "SELECT 1 FROM purchases WHERE root = ? AND buyer = ?", root, buyer);
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
    return sql::Error(kDb, e);
  }
  return Status::Ok();
}

Result<std::vector<Ledger::BalanceRow>> Ledger::Balances(const std::string& account) {
  return sql::Try(kDb, [&] {
    return sql::Rows(
        *db_,
        "SELECT account, asset, amount FROM balances WHERE ?1 = '' OR account = ?1 "
        "ORDER BY account, asset",
        [](SQLite::Statement& q) {
          return BalanceRow{q.getColumn(0).getString(), q.getColumn(1).getString(),
                            q.getColumn(2).getInt64()};
        },
        account);
  });
}

Result<std::vector<Transfer>> Ledger::History(const std::string& account) {
  return sql::Try(kDb, [&] {
    return sql::Rows(*db_,
                     std::string(kTransferColumns) +
                         "WHERE ?1 = '' OR t.from_account = ?1 OR t.to_account = ?1 ORDER BY t.id",
                     TransferFrom, account);
  });
}

namespace {

constexpr const char* kChainColumns =
    "SELECT id, chain_id, kind, ref, seq, asset, from_account, to_account, amount, memo, rounding, "
    "created, nonce, raw, tx_hash, state, block FROM chain_sends ";

ChainSend ChainSendFrom(SQLite::Statement& q) {
  ChainSend c;
  c.id = q.getColumn(0).getInt64();
  c.chain_id = static_cast<uint64_t>(q.getColumn(1).getInt64());
  c.kind = q.getColumn(2).getString();
  c.ref = q.getColumn(3).getString();
  c.seq = q.getColumn(4).getInt();
  c.spec = SpecFrom(q, 5);
  c.created = q.getColumn(11).getString();
  c.nonce = static_cast<uint64_t>(q.getColumn(12).getInt64());
  c.raw = q.getColumn(13).getString();
  c.tx_hash = q.getColumn(14).getString();
  c.state = q.getColumn(15).getString();
  c.block = static_cast<uint64_t>(q.getColumn(16).getInt64());
  return c;
}

}  // namespace

Result<std::optional<ChainSend>> Ledger::FindChainSend(uint64_t chain_id, const std::string& ref,
                                                       int seq) {
  try {
    SQLite::Statement q =
        sql::Query(*db_, std::string(kChainColumns) + "WHERE chain_id = ? AND ref = ? AND seq = ?",
                   static_cast<int64_t>(chain_id), ref, seq);
    if (q.executeStep()) return std::optional<ChainSend>(ChainSendFrom(q));
    return std::optional<ChainSend>();
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
}

Status Ledger::AddChainSends(std::vector<ChainSend>& sends) {
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement q(*db_,
                        "INSERT INTO chain_sends(chain_id, kind, ref, seq, asset, from_account, "
                        "to_account, amount, memo, rounding, created, nonce, raw, tx_hash, state) "
                        "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    for (auto& c : sends) {
      c.created = Rfc3339(clock_());
      int i = 1;
      q.bind(i++, static_cast<int64_t>(c.chain_id));
      q.bind(i++, c.kind);
      q.bind(i++, c.ref);
      q.bind(i++, c.seq);
      q.bind(i++, c.spec.asset);
      q.bind(i++, c.spec.from);
      q.bind(i++, c.spec.to);
      q.bind(i++, c.spec.amount);
      q.bind(i++, c.spec.memo);
      q.bind(i++, c.spec.rounding);
      q.bind(i++, c.created);
      q.bind(i++, static_cast<int64_t>(c.nonce));
      q.bind(i++, c.raw);
      q.bind(i++, c.tx_hash);
      q.bind(i++, c.state);
      q.exec();
      q.reset();
      c.id = db_->getLastInsertRowid();
    }
    tx.commit();
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return Status::Ok();
}

Status Ledger::UpdateChainSend(const ChainSend& c) {
  try {
    sql::Run(*db_,
             "UPDATE chain_sends SET nonce = ?, raw = ?, tx_hash = ?, state = ?, block = ? "
             "WHERE id = ?",
             static_cast<int64_t>(c.nonce), c.raw, c.tx_hash, c.state,
             static_cast<int64_t>(c.block), c.id);
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return Status::Ok();
}

Result<std::vector<ChainSend>> Ledger::ChainSends(const std::string& account) {
  return sql::Try(kDb, [&] {
    return sql::Rows(*db_,
                     std::string(kChainColumns) +
                         "WHERE ?1 = '' OR from_account = ?1 OR to_account = ?1 ORDER BY id",
                     ChainSendFrom, account);
  });
}

Status Ledger::RecordPurchase(const std::string& root, const std::string& buyer,
                              const std::string& ref) {
  auto txn = Begin();
  if (!txn.ok()) return txn.status();
  DIGM_RETURN_IF_ERROR((*txn)->RecordPurchase(root, buyer, ref));
  return (*txn)->Commit();
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
    SQLite::Statement negative =
        sql::Query(*db_,
                   "SELECT account FROM balances WHERE amount < 0 AND account != ? "
                   "LIMIT 1",
                   kWorldAccount);
    if (negative.executeStep()) {
      return Status::Integrity("the balance of " + negative.getColumn(0).getString() +
                               " is negative");
    }
  } catch (const std::exception& e) {
    return sql::Error(kDb, e);
  }
  return Status::Ok();
}

}  // namespace digm
