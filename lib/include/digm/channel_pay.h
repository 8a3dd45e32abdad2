// Payment channels in the ledger (SPEC §12): opening one moves the payer's
// money to the escrow account channel:ID; a payee redeems the payer's best
// voucher (what it adds to the amounts redeemed before moves to the payee,
// once); after expiry the payer takes back what is left. Each call posts into
// a Ledger::Txn; the caller commits.
#pragma once

#include <string>
#include <vector>

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

// Gives the payer back what is left in the channel, once `now` is past its
// expiry. Integrity when `payer` is not the channel's payer; No before expiry
// or when refunded before.
Status RefundChannel(Ledger::Txn& txn, const std::string& id, const Address& payer, int64_t now,
                     std::vector<Transfer>* posted);

// {"schema":"digm.channel-state/1","id","payer","payee","asset","amount",
//  "redeemed","seq","left","expires","refunded"}
Result<Json> ChannelState(Ledger::Txn& txn, const std::string& id);

}  // namespace digm
