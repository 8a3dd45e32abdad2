// What each digm-pay command does (SPEC §8), as one call per command: the
// tool parses flags into these requests and prints what comes back. Each
// call that writes runs in one ledger transaction (or one chain run): it is
// applied whole or not at all.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "digm/chain_pay.h"
#include "digm/clock.h"
#include "digm/crypto.h"
#include "digm/ledger.h"
#include "digm/wallet.h"

namespace digm {

// Where the money moves: the ledger file, the asset, and with `chain` an EVM
// chain paid from `payer` (the ledger then remembers what was sent).
struct PayBackend {
  std::string ledger;  // the path; empty is a usage error naming --ledger
  Asset asset;
  std::optional<ChainTarget> chain;
  std::optional<Wallet> payer;        // with chain: the key that signs
  RandomSource random = RandomBytes;  // for references the caller did not give
  Clock clock = UnixNow;              // dates what is posted
};

// What a command posted (or mined), and what the user should be told. A
// command that takes a batch item by item (channel redeem) lists in `refused`
// the items it did not apply, each changing nothing, the rest applied.
struct Posted {
  std::vector<Transfer> transfers;
  std::vector<std::string> warnings;
  std::vector<Status> refused;
};

// The chain flags of a command: with chain "evm", the RPC, the chain id and
// the wallet that signs must all be given; without it, none of them.
struct ChainFlags {
  std::string chain, wallet;
  ChainTarget target;
  long confirm_timeout_s = 60;
};
Status UseChain(PayBackend& b, const ChainFlags& f);

// "--ledger" missing is a usage error with a hint; a ledger that does not
// exist is created only when `create` (a command that writes).
Result<std::unique_ptr<Ledger>> OpenPayLedger(const std::string& path, bool create,
                                              Clock clock = UnixNow);

// An address (any case, "stake:" allowed) or one of the ledger's accounts.
Result<std::string> ParseAccount(const std::string& text);

// deposit (from the world), transfer, stake (the node's money locked as its
// stake): kind is "deposit", "transfer" or "stake". `from` may be empty for a
// transfer paid on a chain (the payer's address).
struct MoveRequest {
  std::string kind, from, to, amount, ref;
};
Result<Posted> MoveMoney(const PayBackend& b, const MoveRequest& r);

// Pays the nodes each signed receipt names for the bytes they delivered.
Result<Posted> SettleReceipts(const PayBackend& b, const std::vector<std::string>& receipt_paths,
                              const std::string& price_per_mb);

// Records a purchase: `buyer_wallet` pays `artist` the price for `root`.
Result<Posted> Purchase(const PayBackend& b, const std::string& root,
                        const std::string& buyer_wallet, const std::string& artist,
                        const std::string& price);

// The digm.wrapped-key/1 of the key at `key_path` for the buyer whose
// digm.identity/1 is at `identity_path`, once that buyer has purchased `root`.
Result<Json> Grant(const std::string& ledger, const std::string& root, const std::string& key_path,
                   const std::string& identity_path);

// Listening rewards: from a signed receipt (its listener, and the seconds
// its delivery earns against the track's manifest), or given seconds for a
// listener. Paid in PARA.
struct RewardRequest {
  std::string receipt, manifest;  // with a receipt
  int64_t seconds = -1;           // or seconds and a listener
  std::string listener, artist, ref;
};
Result<Posted> Reward(const PayBackend& b, const RewardRequest& r);

// Burns `share` percent of the stake named by each digm.slash/1 line read
// from `in` (NDJSON), signed by one of `auditors`; other documents pass by.
Result<Posted> Slash(const PayBackend& b, std::istream& in,
                     const std::vector<std::string>& auditors, int share);

// Shares `pool` among the healthy nodes of the digm.fresh-index/1 at `index_path`.
Result<Posted> NodeRewards(const PayBackend& b, const std::string& index_path,
                           const std::string& pool);

// Payment channels (SPEC §12). open: locks `amount` of the payer's money for
// `payee` until `days` from now and returns the signed digm.channel/1 (with
// `posted` the escrow transfer). redeem: every digm.voucher/1 line of `in`
// (NDJSON; other documents pass by), each on its own: one that cannot be
// redeemed (a channel this ledger does not hold, one refunded, a forged
// voucher) goes to `refused` and does not stop the others; input that is not
// NDJSON redeems nothing. refund: the rest back to
// the payer after expiry. show: the channel's digm.channel-state/1.
// `channel` is a digm.channel/1 file or a channel id.
struct ChannelOpenRequest {
  std::string payer_wallet, payee, amount;
  int64_t days = 30;
  std::string contract;  // with a chain: the channel contract's address
};
// With a chain (b.chain, b.payer signing): deploys the channel contract from
// the hex init code at `bytecode` (solc --bin) and returns
// {"schema":"digm.channel-contract/1","address","chain_id"}.
Result<Json> ChannelDeploy(const PayBackend& b, const std::string& bytecode);
Result<Json> ChannelOpen(const PayBackend& b, const ChannelOpenRequest& r, Posted* posted);
Result<Posted> ChannelRedeem(const PayBackend& b, std::istream& in);
Result<Posted> ChannelRefund(const PayBackend& b, const std::string& channel,
                             const std::string& payer_wallet);
Result<Json> ChannelShow(const PayBackend& b, const std::string& channel);

// digm.balance/1 documents, and the transfers touching `account` (all when
// empty), oldest first, the chain backend's mined ones after.
Result<std::vector<Json>> BalanceLines(const std::string& ledger, const std::string& account);
Result<std::vector<Json>> HistoryLines(const std::string& ledger, const std::string& account);

}  // namespace digm
