#include "digm/voucher_book.h"

#include <algorithm>
#include <filesystem>

#include "store/sql.h"

namespace digm {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS channels(
  id TEXT PRIMARY KEY, doc TEXT NOT NULL,
  paid INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL DEFAULT 0, voucher TEXT,
  served INTEGER NOT NULL DEFAULT 0, added INTEGER NOT NULL, per_mb INTEGER NOT NULL DEFAULT 0);
)sql";

// Books from before a channel kept the price it was first served at.
void AddPriceColumn(SQLite::Database& db) {
  SQLite::Statement cols(db, "PRAGMA table_info(channels)");
  while (cols.executeStep()) {
    if (cols.getColumn(1).getString() == "per_mb") return;
  }
  db.exec("ALTER TABLE channels ADD COLUMN per_mb INTEGER NOT NULL DEFAULT 0");
}

}  // namespace

VoucherBook::VoucherBook(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}

VoucherBook::~VoucherBook() {
  std::lock_guard lock(mu_);
  (void)SaveServed();
}

Result<std::unique_ptr<VoucherBook>> VoucherBook::Open(const std::string& path, bool create) {
  if (!create && !std::filesystem::exists(path))
    return Status::BadInput("no voucher book at '" + path + "'");
  return sql::Try("voucher book", [&] {
    auto db = sql::Open(path, create, 10000, kSchema);
    db->exec("PRAGMA synchronous=NORMAL");
    AddPriceColumn(*db);
    return std::unique_ptr<VoucherBook>(new VoucherBook(std::move(db)));
  });
}

Status VoucherBook::SaveServed() {
  auto r = sql::Try("voucher book", [&] {
    SQLite::Transaction tx(*db_);
    for (auto& [id, st] : states_) {
      if (st.served == st.saved_served) continue;
      sql::Run(*db_, "UPDATE channels SET served = ?2 WHERE id = ?1", id,
               static_cast<int64_t>(st.served));
      st.saved_served = st.served;
    }
    tx.commit();
    return true;
  });
  return r.status();
}

// Under mu_: the channel's state, read from the file (or made) on first use.
VoucherBook::State* VoucherBook::Load(const std::string& id, const Channel* channel,
                                      int64_t per_mb) {
  if (auto it = states_.find(id); it != states_.end()) return &it->second;
  State st;
  auto q = sql::Query(*db_,
                      "SELECT paid, seq, served, COALESCE(voucher, ''), doc, per_mb FROM channels "
                      "WHERE id = ?1",
                      id);
  if (q.executeStep()) {
    st.paid = q.getColumn(0).getInt64();
    st.seq = static_cast<uint64_t>(q.getColumn(1).getInt64());
    st.served = st.saved_served = static_cast<uint64_t>(q.getColumn(2).getInt64());
    st.best = q.getColumn(3).getString();
    st.per_mb = q.getColumn(5).getInt64();
    // Checked when it was stored; a damaged one matches no payer.
    auto doc = ParseJson(q.getColumn(4).getString());
    auto payer = ParseAddress(doc.ok() ? StringOr(*doc, "payer") : "");
    if (payer.ok()) st.payer = *payer;
  } else if (channel) {
    sql::Run(
        *db_,
        "INSERT INTO channels(id, doc, added, per_mb) VALUES(?1, ?2, strftime('%s','now'), ?3)", id,
        DumpDocument(channel->doc), per_mb);
    st.payer = channel->payer;
    st.per_mb = per_mb;
  } else {
    return nullptr;
  }
  if (states_.size() >= kMaxStates) {
    (void)SaveServed();
    states_.clear();
  }
  return &states_.emplace(id, std::move(st)).first->second;
}

// The seq half of Charge's rule for a stale voucher.
bool VoucherBook::Overtaken(const std::string& id, uint64_t seq) {
  std::lock_guard lock(mu_);
  auto r = sql::Try("voucher book", [&] {
    State* st = Load(id, nullptr);
    return st && st->seq >= seq;
  });
  return r.ok() && *r;
}

bool VoucherBook::Holds(const std::string& id, const std::string& text) {
  std::lock_guard lock(mu_);
  auto r = sql::Try("voucher book", [&] {
    State* st = Load(id, nullptr);
    return st && !st->best.empty() && st->best == text;
  });
  return r.ok() && *r;
}

Result<VoucherBook::Decision> VoucherBook::Charge(const Channel& channel, const Voucher* voucher,
                                                  uint64_t bytes, int64_t per_mb, uint64_t credit) {
  std::lock_guard lock(mu_);
  auto r = sql::Try("voucher book", [&]() -> Result<Decision> {
    State* st = Load(channel.id, &channel, per_mb);
    if (st->payer != channel.payer) {
      return Status::Integrity("channel " + channel.id + " is another payer's here (" +
                               AddressToString(st->payer) + ")");
    }
    // A channel's bytes and vouchers are counted at one price, the one it
    // was first served at (as the payer counted them): after the node's
    // price changes, its old channels are closed here.
    if (st->per_mb == 0) {  // a row from a book before prices were kept
      sql::Run(*db_, "UPDATE channels SET per_mb = ?2 WHERE id = ?1", channel.id, per_mb);
      st->per_mb = per_mb;
    } else if (st->per_mb != per_mb) {
      return Status::No("channel " + channel.id + " was served here at " +
                        Price{channel.asset, st->per_mb}.Text() + ", and this node now charges " +
                        FormatAmount(per_mb, channel.asset.decimals) +
                        ": open a new channel to it");
    }
    Decision d;
    std::string taken;
    if (voucher) {
      std::string doc = DumpDocument(voucher->doc);
      if (doc == st->best) {
        // the one it has
      } else if (voucher->amount < st->paid || voucher->seq <= st->seq) {
        d.stale = true;  // overtaken: requests in flight together arrive in any order
      } else {
        taken = std::move(doc);
      }
    }
    int64_t paid = taken.empty() ? st->paid : voucher->amount;
    uint64_t paid_bytes = BytesPaidBy(paid, per_mb);
    uint64_t before = st->served;
    d.paid = paid;
    // Never more than the vouchers pay for plus the credit, nor than the
    // whole channel could ever pay for: a channel of a few units gets a few
    // units' worth, not the credit.
    uint64_t limit = std::min(paid_bytes > UINT64_MAX - credit ? UINT64_MAX : paid_bytes + credit,
                              BytesPaidBy(channel.amount, per_mb));
    d.allowed = bytes <= limit && before <= limit - bytes;
    uint64_t after = d.allowed ? before + bytes : before;
    if (d.allowed) d.paid_bytes = paid_bytes > before ? std::min(after, paid_bytes) - before : 0;
    d.owed = PriceOf(d.allowed ? after : before + bytes, per_mb);
    if (!taken.empty()) {
      // Committed before the request is answered: an acknowledged voucher stays.
      if (!take_) {
        take_ = std::make_unique<SQLite::Statement>(
            *db_,
            "UPDATE channels SET paid = ?2, seq = ?3, voucher = ?4, served = ?5 WHERE id = ?1");
      }
      take_->reset();
      sql::Bind(*take_, channel.id, paid, static_cast<int64_t>(voucher->seq), taken,
                static_cast<int64_t>(after));
      take_->exec();
      st->paid = paid;
      st->seq = voucher->seq;
      st->best = std::move(taken);
      st->saved_served = after;
    }
    st->served = after;
    return d;
  });
  if (!r.ok()) return r.status();
  return std::move(*r);
}

Result<std::optional<VoucherBook::Account>> VoucherBook::Find(const std::string& id) {
  std::lock_guard lock(mu_);
  auto r = sql::Try("voucher book", [&]() -> Result<std::optional<Account>> {
    State* st = Load(id, nullptr);
    if (!st) return std::optional<Account>();
    Account a;
    a.served = st->served;
    if (!st->best.empty()) {
      DIGM_ASSIGN_OR_RETURN(a.voucher, ParseJson(st->best));
    }
    return std::optional<Account>(std::move(a));
  });
  if (!r.ok()) return r.status();
  return std::move(*r);
}

Result<std::vector<Json>> VoucherBook::Best(bool with_channels) {
  std::lock_guard lock(mu_);
  auto r = sql::Try("voucher book", [&]() -> Result<std::vector<Json>> {
    std::vector<Json> out;
    auto q = sql::Query(*db_,
                        "SELECT voucher, doc FROM channels WHERE voucher IS NOT NULL "
                        "ORDER BY added, id");
    while (q.executeStep()) {
      if (with_channels) {
        DIGM_ASSIGN_OR_RETURN(Json c, ParseJson(q.getColumn(1).getString()));
        out.push_back(std::move(c));
      }
      DIGM_ASSIGN_OR_RETURN(Json v, ParseJson(q.getColumn(0).getString()));
      out.push_back(std::move(v));
    }
    return out;
  });
  if (!r.ok()) return r.status();
  return std::move(*r);
}

}  // namespace digm
