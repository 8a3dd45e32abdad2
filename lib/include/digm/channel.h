// Paying per chunk (SPEC §12): the documents of a payment channel. A payer
// locks funds for one payee (digm.channel/1, signed by the payer), then pays
// as bytes arrive with cumulative vouchers (digm.voucher/1, signed by the
// payer); a node refuses a request beyond what is paid plus its credit with
// 402 and a digm.invoice/1. Prices are per decimal megabyte in atomic units.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "digm/document.h"
#include "digm/money.h"
#include "digm/wallet.h"

namespace digm {

// The HTTP headers that carry a fetch's payment: the channel document and
// its payer's latest voucher, each as one line of compact JSON.
inline constexpr const char* kChannelHeader = "Digm-Channel";
inline constexpr const char* kVoucherHeader = "Digm-Voucher";
// Larger documents are refused before they are parsed.
inline constexpr size_t kMaxPaymentHeader = 4096;
// The longest a node keeps a channel's last stretch to redeem in: 30 days.
inline constexpr uint64_t kMaxChannelMargin = 30 * 86400;

struct Price {
  Asset asset;
  int64_t per_mb = 0;   // atomic units per 1,000,000 bytes; 0: free
  uint64_t credit = 0;  // bytes the node sends ahead of what vouchers pay for
  // Seconds before a channel's expiry from which the node takes no more of
  // it, kept to redeem its vouchers before the payer may take the rest back.
  int64_t channel_margin = 0;
  Json ToJson() const;  // {"asset","per_mb","credit","channel_margin"}, per_mb a decimal string
  std::string Text() const;  // for people: "0.001 XFG per MB"
};
// BadInput unless {"asset": "XFG"|"PARA", "per_mb": decimal string} and,
// when present, "credit" a byte count and "channel_margin" seconds.
Result<Price> ReadPrice(const Json& price);

// What `bytes` cost: ceil(bytes × per_mb / 1e6) (a node never rounds in the
// payer's favour past a whole unit, nor a payer past what it received).
int64_t PriceOf(uint64_t bytes, int64_t per_mb);
// The bytes `amount` pays for: floor(amount × 1e6 / per_mb); all when free.
uint64_t BytesPaidBy(int64_t amount, int64_t per_mb);

struct Channel {
  std::string id;  // 64 hex digits
  Address payer{}, payee{};
  Asset asset;
  int64_t amount = 0;               // atomic units locked
  int64_t expires = 0;              // unix seconds; the payer may take the rest back after
  std::string chain;                // "ledger", or "evm:CHAIN_ID"
  std::optional<Address> contract;  // on a chain: the channel contract holding it
  Json doc;                         // as signed
};

// A new channel of `amount` from `payer` to `payee`, its id random, signed by
// the payer; on a chain, in `contract`.
Json MakeChannel(const Wallet& payer, const Address& payee, const Asset& asset, int64_t amount,
                 int64_t expires, const std::string& chain,
                 const std::optional<Address>& contract = std::nullopt);
// Checks a digm.channel/1: the schema, the members' shapes (BadInput) and
// its signature by its payer (Integrity).
Result<Channel> ReadChannel(const Json& doc);

struct Voucher {
  std::string channel;                     // the channel's id
  int64_t amount = 0;                      // cumulative, atomic units
  uint64_t seq = 0;                        // grows with every voucher of the channel
  std::string root;                        // the track being paid for ("" when none)
  uint64_t bytes = 0;                      // what the payer had asked for when it signed
  std::optional<Signature> evm_signature;  // on a chain: what the contract checks
  Json doc;                                // as signed
};

// What the channel contract checks a voucher's "evm_signature" against
// (contracts/DigmChannels.sol): the EIP-191 hash of Keccak-256(contract ‖ id
// ‖ amount in wei as 32 bytes), 1 XFG or PARA being 10^18 wei.
Hash256 VoucherDigest(const Address& contract, const std::string& channel_id, int64_t amount,
                      int decimals);

// The payer's voucher for `amount` in all on `channel`; on a chain it also
// carries "evm_signature" (VoucherDigest signed by the payer).
Json MakeVoucher(const Wallet& payer, const Channel& channel, int64_t amount, uint64_t seq,
                 const std::string& root, uint64_t bytes);
// Checks a digm.voucher/1 against its channel: the schema and shapes
// (BadInput); that it names this channel, is signed by its payer (on a
// chain, its evm_signature too) and is not for more than the channel holds
// (Integrity).
Result<Voucher> ReadVoucher(const Json& doc, const Channel& channel);

// A node's answer to a request beyond what is paid plus its credit:
// {"schema":"digm.invoice/1","channel","owed","paid","price"}; `channel` is
// null for a request that carried none.
Json MakeInvoice(const std::string& channel, int64_t owed, int64_t paid, const Price& price);

}  // namespace digm
