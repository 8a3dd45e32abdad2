#include "digm/channel_pay.h"

#include "digm/clock.h"

namespace digm {
namespace {

struct Held {
  Channel channel;
  ChannelRow row;
};

Result<Held> Find(Ledger::Txn& txn, const std::string& id) {
  DIGM_ASSIGN_OR_RETURN(auto row, txn.FindChannel(id));
  if (!row) return Status::Integrity("the ledger holds no channel " + id);
  DIGM_ASSIGN_OR_RETURN(Json doc, ParseJson(row->doc));
  DIGM_ASSIGN_OR_RETURN(Channel c, ReadChannel(doc));
  return Held{std::move(c), std::move(*row)};
}

std::string Amount(int64_t atomic, const Channel& c) {
  return FormatAmount(atomic, c.asset.decimals) + " " + c.asset.name;
}

}  // namespace

std::string ChannelAccount(const std::string& id) { return "channel:" + id; }

Status OpenLedgerChannel(Ledger::Txn& txn, const Channel& c, std::vector<Transfer>* posted) {
  if (c.chain != "ledger") return Status::Usage("channel " + c.id + " is on " + c.chain);
  DIGM_ASSIGN_OR_RETURN(auto known, txn.FindChannel(c.id));
  if (known) return Status::Usage("the ledger holds channel " + c.id + " already");
  TransferSpec spec{c.asset.name, AddressToString(c.payer),         ChannelAccount(c.id),
                    c.amount,     "to " + AddressToString(c.payee), ""};
  DIGM_ASSIGN_OR_RETURN(bool fresh,
                        txn.Post("channel-open", "channel-open:" + c.id, {spec}, posted));
  if (!fresh) return Status::Usage("channel " + c.id + " was opened before");
  return txn.AddChannel(c.id, DumpDocument(c.doc));
}

Status RedeemVoucher(Ledger::Txn& txn, const Json& doc, std::vector<Transfer>* posted) {
  DIGM_RETURN_IF_ERROR(CheckSchema(doc, "voucher", 1));
  DIGM_ASSIGN_OR_RETURN(std::string id, GetString(doc, "channel", "voucher.channel"));
  DIGM_ASSIGN_OR_RETURN(Held h, Find(txn, id));
  DIGM_ASSIGN_OR_RETURN(Voucher v, ReadVoucher(doc, h.channel));
  if (v.amount == h.row.redeemed && (v.seq == h.row.seq || v.amount == 0)) return Status::Ok();
  if (v.seq == h.row.seq) {
    return Status::Integrity("a replayed voucher: seq " + std::to_string(v.seq) + " of channel " +
                             id + " was redeemed for " + Amount(h.row.redeemed, h.channel) +
                             ", not " + Amount(v.amount, h.channel));
  }
  if (v.amount < h.row.redeemed || v.seq < h.row.seq) {
    return Status::Integrity("a stale voucher: " + Amount(v.amount, h.channel) + " at seq " +
                             std::to_string(v.seq) + ", below the " +
                             Amount(h.row.redeemed, h.channel) + " at seq " +
                             std::to_string(h.row.seq) + " redeemed from channel " + id);
  }
  if (h.row.refunded) return Status::No("channel " + id + " was refunded to its payer");
  if (v.amount > h.row.redeemed) {
    TransferSpec spec{h.channel.asset.name,
                      ChannelAccount(id),
                      AddressToString(h.channel.payee),
                      v.amount - h.row.redeemed,
                      "voucher seq " + std::to_string(v.seq),
                      ""};
    std::string ref = "channel-redeem:" + id + ":" + std::to_string(v.amount);
    DIGM_RETURN_IF_ERROR(txn.Post("channel-redeem", ref, {spec}, posted).status());
  }
  h.row.redeemed = v.amount;
  h.row.seq = v.seq;
  return txn.UpdateChannel(id, h.row);
}

Status RefundChannel(Ledger::Txn& txn, const std::string& id, const Address& payer, int64_t now,
                     std::vector<Transfer>* posted) {
  DIGM_ASSIGN_OR_RETURN(Held h, Find(txn, id));
  if (h.channel.payer != payer) {
    return Status::Integrity("channel " + id + " is paid by " + AddressToString(h.channel.payer) +
                             ", not " + AddressToString(payer));
  }
  if (h.row.refunded) return Status::No("channel " + id + " was refunded before");
  if (now < h.channel.expires) {
    return Status::No("channel " + id + " is open until " + Rfc3339(h.channel.expires) +
                      ": its payee may still redeem");
  }
  int64_t left = h.channel.amount - h.row.redeemed;
  if (left > 0) {
    TransferSpec spec{
        h.channel.asset.name, ChannelAccount(id), AddressToString(payer), left, "refund", ""};
    DIGM_RETURN_IF_ERROR(
        txn.Post("channel-refund", "channel-refund:" + id, {spec}, posted).status());
  }
  h.row.refunded = true;
  return txn.UpdateChannel(id, h.row);
}

Result<Json> ChannelState(Ledger::Txn& txn, const std::string& id) {
  DIGM_ASSIGN_OR_RETURN(Held h, Find(txn, id));
  const Channel& c = h.channel;
  int64_t left = h.row.refunded ? 0 : c.amount - h.row.redeemed;
  return Json{{"schema", "digm.channel-state/1"},
              {"id", c.id},
              {"payer", AddressToString(c.payer)},
              {"payee", AddressToString(c.payee)},
              {"asset", c.asset.name},
              {"amount", FormatAmount(c.amount, c.asset.decimals)},
              {"redeemed", FormatAmount(h.row.redeemed, c.asset.decimals)},
              {"seq", h.row.seq},
              {"left", FormatAmount(left, c.asset.decimals)},
              {"expires", Rfc3339(c.expires)},
              {"refunded", h.row.refunded}};
}

}  // namespace digm
