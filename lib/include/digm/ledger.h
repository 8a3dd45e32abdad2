// The double-entry ledger of digm-pay (SPEC §8), in one SQLite file (WAL):
// every transfer is two journal rows that sum to zero, balances are sums of
// the journal, and each posting carries a unique reference so that applying
// the same receipt, purchase or slash twice changes nothing. Work happens in
// a Ledger::Txn, one SQLite transaction: all of it lands, or none of it.
// A Ledger is used by one thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "digm/clock.h"
#include "digm/document.h"
#include "digm/money.h"

namespace SQLite {
class Database;
class Transaction;
}  // namespace SQLite

namespace digm {

// Money enters and leaves the ledger through this account; it alone may be negative.
inline constexpr const char* kWorldAccount = "world";
inline constexpr const char* kRewardPool = "pool:rewards";
inline constexpr const char* kBurnAccount = "burn";
std::string StakeAccount(const std::string& address);

struct TransferSpec {
  std::string asset, from, to;
  int64_t amount = 0;    // atomic units, > 0
  std::string memo;      // e.g. the receipt's node URL
  std::string rounding;  // settle: the fraction of an atomic unit dropped, as a decimal
};

struct Transfer {
  int64_t id = 0;
  std::string kind, ref, created;
  TransferSpec spec;
  uint64_t chain_id = 0;  // chain backend: where it was paid,
  std::string chain_tx;   // and the transaction's hash (0x…)
  Json ToJson() const;    // digm.transfer/1
};

// A transfer paid by a chain transaction (chain backend). It is signed and
// stored before it is broadcast, so a re-run sends the same bytes again,
// never a second payment. `seq` numbers the transfers of one reference.
struct ChainSend {
  int64_t id = 0;
  uint64_t chain_id = 0;
  std::string kind, ref;
  int seq = 0;
  TransferSpec spec;
  std::string created;
  uint64_t nonce = 0;
  std::string raw, tx_hash;  // hex of the signed transaction; "0x" + its hash
  std::string state;         // "signed", "mined" or "failed"
  uint64_t block = 0;
  Transfer AsTransfer() const;
};

// A payment channel the ledger holds in escrow (SPEC §12): its document, what
// vouchers have paid out of it so far (and the last voucher's seq), and
// whether the rest went back to the payer.
struct ChannelRow {
  std::string doc;
  int64_t redeemed = 0;
  uint64_t seq = 0;
  bool refunded = false;
};

class Ledger {
 public:
  // Opens the ledger at `path`; without `create`, a file that does not exist
  // is BadInput ("no such ledger") and nothing is created.
  // `clock` dates what is posted and sent.
  static Result<std::unique_ptr<Ledger>> Open(const std::string& path, bool create = true,
                                              Clock clock = UnixNow);
  ~Ledger();

  class Txn {
   public:
    ~Txn();  // rolls back unless committed
    // Posts `transfers` under `ref`. Returns false, posting nothing, when `ref`
    // was posted before.
    Result<bool> Post(const std::string& kind, const std::string& ref,
                      const std::vector<TransferSpec>& transfers, std::vector<Transfer>* posted);
    Result<int64_t> Balance(const std::string& account, const std::string& asset);
    Status RecordPurchase(const std::string& root, const std::string& buyer,
                          const std::string& ref);
    bool HasPurchase(const std::string& root, const std::string& buyer);
    Status AddChannel(const std::string& id, const std::string& doc);
    Result<std::optional<ChannelRow>> FindChannel(const std::string& id);
    Status UpdateChannel(const std::string& id, const ChannelRow& row);
    // No (exit 1) naming the account when one but the world would go below
    // zero; else commits.
    Status Commit();

   private:
    friend class Ledger;
    explicit Txn(Ledger& ledger);
    Ledger& ledger_;
    std::unique_ptr<SQLite::Transaction> tx_;
    std::vector<std::pair<std::string, std::string>> debited_;  // (account, asset)
  };

  Result<std::unique_ptr<Txn>> Begin();

  // A channel's row read outside any transaction (the file is in WAL mode,
  // so this waits on no writer): what a node checks channels against.
  Result<std::optional<ChannelRow>> FindChannel(const std::string& id);

  // Every (account, asset) with its balance, or those of one account.
  struct BalanceRow {
    std::string account, asset;
    int64_t amount = 0;
  };
  Result<std::vector<BalanceRow>> Balances(const std::string& account = "");
  // Transfers touching `account` (all when empty), oldest first.
  Result<std::vector<Transfer>> History(const std::string& account = "");
  // Chain backend: the send of (chain, ref, seq), if any.
  Result<std::optional<ChainSend>> FindChainSend(uint64_t chain_id, const std::string& ref,
                                                 int seq);
  // Stores new sends in one transaction and sets their ids.
  Status AddChainSends(std::vector<ChainSend>& sends);
  // Stores a send's nonce, raw, tx_hash, state and block.
  Status UpdateChainSend(const ChainSend& send);
  // Sends touching `account` (all when empty), oldest first.
  Result<std::vector<ChainSend>> ChainSends(const std::string& account = "");
  // Records that `buyer` bought `root` (chain backend: once its payment is mined).
  Status RecordPurchase(const std::string& root, const std::string& buyer, const std::string& ref);

  // The invariant: every transfer's two rows sum to zero and balances equal
  // the journal's sums. Integrity error naming the first break.
  Status Check();

 private:
  Ledger(std::unique_ptr<SQLite::Database> db, Clock clock);
  std::unique_ptr<SQLite::Database> db_;
  Clock clock_;
};

}  // namespace digm
