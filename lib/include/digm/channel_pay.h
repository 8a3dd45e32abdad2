// Payment channels in the ledger (SPEC §12): opening one moves the payer's
// money to the escrow account channel:ID; a payee redeems the payer's best
// voucher (what it adds to the amounts redeemed before moves to the payee,
// once); after expiry the payer takes back what is left. Each call posts into
// a Ledger::Txn; the caller commits.
#pragma once

#include <string>
#include <vector>

#include "digm/chain_pay.h"
#include "digm/channel.h"
#include "digm/ledger.h"

namespace digm {

std::string ChannelAccount(const std::string& id);  // "channel:ID"

// Records the new channel `doc` (a digm.channel/1 of chain "ledger") and
// moves its amount from the payer to its escrow.
Status OpenLedgerChannel(Ledger::Txn& txn, const Channel& channel, std::vector<Transfer>* posted);

// Pays the payee what the voucher adds to what was redeemed before; posts
// nothing for a voucher redeemed before. Integrity (nothing posted) for a
// channel the ledger does not hold, a voucher that fails ReadVoucher, one
// below what was redeemed, or another voucher of a redeemed seq; No for a
// channel refunded.
Status RedeemVoucher(Ledger::Txn& txn, const Json& voucher, std::vector<Transfer>* posted);

// Where the channel of a voucher is: "ledger" or "evm:CHAIN_ID"; Integrity
// for a channel the ledger does not hold.
Result<std::string> VoucherChain(Ledger::Txn& txn, const Json& voucher);

// Gives the payer back what is left in the channel, once `now` is past its
// expiry. Integrity when `payer` is not the channel's payer; No before expiry
// or when refunded before.
Status RefundChannel(Ledger::Txn& txn, const std::string& id, const Address& payer, int64_t now,
                     std::vector<Transfer>* posted);

// {"schema":"digm.channel-state/1","id","payer","payee","asset","amount",
//  "redeemed","seq","left","expires","refunded"}
Result<Json> ChannelState(Ledger::Txn& txn, const std::string& id);

// On an EVM chain the money is in the channel contract
// (contracts/DigmChannels.sol); each call below is one transaction from
// `wallet`, waited for until mined (Network when not in time, No when the
// chain reverts it), and reads are eth_call. The ledger keeps each channel's
// row (document, redeemed, seq, refunded) as the chain has it.
// Deploys the contract from its init code; returns its address.
Result<Address> DeployChannelContract(const ChainTarget& target, const Wallet& wallet,
                                      const Bytes& init_code);

// A channel as the contract holds it, amounts in the asset's atomic units.
struct ChainChannel {
  Address payer{}, payee{};
  int64_t amount = 0, redeemed = 0;
  int64_t expires = 0;
  bool refunded = false;
  bool exists() const { return payer != Address{}; }
};
Result<ChainChannel> ReadChainChannel(const ChainTarget& target, const Address& contract,
                                      const std::string& id, const Asset& asset);

// open(id, payee, expires) with the amount as its value, from the payer.
Status OpenChainChannel(Ledger::Txn& txn, const ChainTarget& target, const Wallet& payer,
                        const Channel& channel);
// redeem(id, amount, v, r, s) from the payee, for a voucher that adds to
// what the contract has redeemed; nothing sent for one redeemed before.
// Refusals as RedeemVoucher's. Returns whether a transaction was mined.
Result<bool> RedeemChainVoucher(Ledger::Txn& txn, const ChainTarget& target, const Wallet& payee,
                                const Json& voucher);
// Records in the ledger a channel opened on the chain by someone else (a
// payee redeeming with its own ledger): its document, signed by its payer,
// must be held by the contract it names with its payer, payee, amount and
// expiry. Nothing is done for a channel the ledger holds already.
Status LearnChainChannel(Ledger::Txn& txn, const ChainTarget& target, const Json& channel_doc);
// refund(id) from the payer, once the chain's time is past the expiry.
Status RefundChainChannel(Ledger::Txn& txn, const ChainTarget& target, const Wallet& payer,
                          const std::string& id);

// Where a node that charges checks that a channel it is paid through holds
// the money its payer signed for: a channel's document is the payer's word
// only, and anyone can sign one that was never opened.
struct ChannelFunds {
  std::string ledger;                // the ledger channels are opened in; empty: none taken
  std::optional<ChainTarget> chain;  // the chain of the channel contract; none: none taken
  // The channel contract trusted on that chain: any other could answer
  // anything, and pay nothing at redeem.
  Address contract{};
};
// Ok when the channel is held as signed: in the ledger, under the same
// document and not refunded; on the chain, in the trusted contract, with its
// payer, payee, amount and expiry, and not refunded. Integrity when it is
// not (never opened, another channel under its id, refunded); No when
// `funds` takes no channel of its kind or contract; Network when the chain
// cannot be asked.
Status CheckChannelFunds(const ChannelFunds& funds, const Channel& channel);

}  // namespace digm
