// What digm-pay does with the ledger (SPEC §8): settle receipts per byte
// delivered, record purchases, pay listening rewards, stake, slash and share a
// pool among healthy nodes. Each function posts into a Ledger::Txn under a
// reference that makes it idempotent; the caller commits. Integer money only.
#pragma once

#include <string>
#include <vector>

#include "digm/ledger.h"
#include "digm/manifest.h"
#include "digm/wallet.h"

namespace digm {

inline constexpr int64_t kBytesPerMb = 1000000;  // prices are per decimal megabyte

// The reference a receipt is settled (or rewarded) under: SHA-256 of its
// canonical form, hex. The signature is left out, so re-signing cannot make
// a second reference for the same receipt.
std::string ReceiptHash(const Json& receipt);

// Checks the receipt's signature (Integrity error) and shape (BadInput) and
// returns what it owes each node: floor(bytes × price / 1e6) from the
// listener, with the fraction of an atomic unit dropped in `rounding`.
Result<std::vector<TransferSpec>> ReceiptPayments(const Json& receipt, const Asset& asset,
                                                  int64_t price_per_mb);

// The ledger reference of a receipt ("receipt:" + its hash) and of a purchase.
std::string ReceiptRef(const Json& receipt);
std::string PurchaseRef(const std::string& root, const Address& buyer);

// ReceiptPayments, posted: pays each node floor(bytes × price / 1e6) from the listener; each
// transfer states the fraction of an atomic unit dropped in `rounding`. Posts nothing and returns
// no transfers when the receipt was settled before.
Result<std::vector<Transfer>> SettleReceipt(Ledger::Txn& txn, const Json& receipt,
                                            const Asset& asset, int64_t price_per_mb);

// Buyer pays the artist `price`, once per (root, buyer); false when bought before.
Result<bool> RecordPurchase(Ledger::Txn& txn, const std::string& root, const Address& buyer,
                            const Address& artist, const Asset& asset, int64_t price,
                            std::vector<Transfer>* posted);

// 0.1 PARA per second from the reward pool: 60 % to the listener, 40 % to the artist.
inline constexpr int64_t kRewardPerSecond = 10000000;  // PARA atomic units
Result<bool> PayReward(Ledger::Txn& txn, const std::string& ref, int64_t seconds,
                       const std::string& listener, const std::string& artist,
                       std::vector<Transfer>* posted);
// The seconds a receipt streamed: finished − started, whole seconds.
Result<int64_t> ReceiptSeconds(const Json& receipt);

// What a receipt of `track` earns in listening rewards (SPEC §8), and once
// only: its seconds, but never more than the track's duration, nor than the
// share of the track that identified nodes (a non-null node_id) delivered
// times that duration; `ref` is paid once per listener, track and UTC day of
// "finished". BadInput when the receipt is for another track or the track's
// duration is unknown.
struct RewardClaim {
  int64_t seconds = 0;
  std::string ref;
};
Result<RewardClaim> ReceiptReward(const Json& receipt, const Manifest& track);

// Burns `percent` of the node's stake for a digm.slash/1, once per node and epoch.
Result<bool> ApplySlash(Ledger::Txn& txn, const Json& slash, const Asset& asset, int percent,
                        std::vector<Transfer>* posted);

// Shares `pool` among the healthy nodes of a digm.fresh-index/1 in proportion
// to their scores (as integer millionths), once per index document.
Result<bool> PayNodeRewards(Ledger::Txn& txn, const Json& index, const Asset& asset, int64_t pool,
                            std::vector<Transfer>* posted);

}  // namespace digm
