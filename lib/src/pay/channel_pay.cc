#include "digm/channel_pay.h"

#include <chrono>
#include <thread>

#include "digm/clock.h"
#include "digm/evm.h"

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
  if (h.channel.chain != "ledger")
    return Status::Usage("channel " + id + " is on " + h.channel.chain);
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

Result<std::string> VoucherChain(Ledger::Txn& txn, const Json& voucher) {
  DIGM_ASSIGN_OR_RETURN(std::string id, GetString(voucher, "channel", "voucher.channel"));
  DIGM_ASSIGN_OR_RETURN(Held h, Find(txn, id));
  return h.channel.chain;
}

Status RefundChannel(Ledger::Txn& txn, const std::string& id, const Address& payer, int64_t now,
                     std::vector<Transfer>* posted) {
  DIGM_ASSIGN_OR_RETURN(Held h, Find(txn, id));
  if (h.channel.chain != "ledger")
    return Status::Usage("channel " + id + " is on " + h.channel.chain);
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

namespace {

// Sends one transaction from `wallet` (to null: a creation) and waits until
// it is mined.
Result<evm::TxReceipt> Transact(const ChainTarget& target, const Wallet& wallet, const Address* to,
                                evm::Wei value, const Bytes& data) {
  evm::Rpc rpc(target.rpc, target.call_timeout_ms);
  DIGM_RETURN_IF_ERROR(CheckChainId(rpc, target));
  evm::LegacyTx tx;
  DIGM_ASSIGN_OR_RETURN(tx.nonce, rpc.Nonce(wallet.address, "pending"));
  DIGM_ASSIGN_OR_RETURN(tx.gas_price, rpc.GasPrice());
  // A call the contract would revert fails here, before anything is sent.
  DIGM_ASSIGN_OR_RETURN(uint64_t gas, rpc.EstimateGas(wallet.address, to, value, data));
  tx.gas = gas + gas / 4;
  tx.create = to == nullptr;
  if (to) tx.to = *to;
  tx.value = value;
  tx.data = data;
  Bytes raw = evm::SignTx(tx, target.chain_id, wallet);
  DIGM_ASSIGN_OR_RETURN(Hash256 hash, rpc.SendRaw(raw));
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(target.confirm_timeout_ms);
  for (auto pause = std::chrono::milliseconds(20);;
       pause = std::min(2 * pause, std::chrono::milliseconds(500))) {
    DIGM_ASSIGN_OR_RETURN(auto receipt, rpc.Receipt(hash));
    if (receipt) {
      if (!receipt->success) return Status::No("the chain reverted " + evm::DataHex(hash));
      return *receipt;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::Network("transaction " + evm::DataHex(hash) + " not mined in time");
    std::this_thread::sleep_for(pause);
  }
}

Result<int64_t> FromWei(evm::Wei wei, const Asset& asset) {
  evm::Wei unit = AsWei(1, asset.decimals);
  if (wei % unit != 0 || wei / unit > static_cast<evm::Wei>(INT64_MAX))
    return Status::BadInput("the contract holds an amount that is not in " + asset.name);
  return static_cast<int64_t>(wei / unit);
}

std::array<uint8_t, 32> IdWord(const std::string& id) {
  std::array<uint8_t, 32> w{};
  (void)HexDecodeInto(id, w);
  return w;
}

}  // namespace

Result<Address> DeployChannelContract(const ChainTarget& target, const Wallet& wallet,
                                      const Bytes& init_code) {
  DIGM_ASSIGN_OR_RETURN(evm::TxReceipt r, Transact(target, wallet, nullptr, 0, init_code));
  if (!r.contract) return Status::Network("the chain's receipt names no contract address");
  return *r.contract;
}

Result<ChainChannel> ReadChainChannel(const ChainTarget& target, const Address& contract,
                                      const std::string& id, const Asset& asset) {
  evm::Rpc rpc(target.rpc, target.call_timeout_ms);
  Bytes call = evm::AbiSelector("channels(bytes32)");
  evm::AbiWord(call, std::span<const uint8_t, 32>(IdWord(id)));
  DIGM_ASSIGN_OR_RETURN(Bytes answer, rpc.CallContract(contract, call));
  ChainChannel c;
  DIGM_ASSIGN_OR_RETURN(c.payer, evm::AbiAddress(answer, 0));
  DIGM_ASSIGN_OR_RETURN(c.payee, evm::AbiAddress(answer, 1));
  DIGM_ASSIGN_OR_RETURN(evm::Wei amount, evm::AbiUint(answer, 2));
  DIGM_ASSIGN_OR_RETURN(evm::Wei redeemed, evm::AbiUint(answer, 3));
  DIGM_ASSIGN_OR_RETURN(evm::Wei expires, evm::AbiUint(answer, 4));
  DIGM_ASSIGN_OR_RETURN(evm::Wei refunded, evm::AbiUint(answer, 5));
  DIGM_ASSIGN_OR_RETURN(c.amount, FromWei(amount, asset));
  DIGM_ASSIGN_OR_RETURN(c.redeemed, FromWei(redeemed, asset));
  c.expires = static_cast<int64_t>(expires);
  c.refunded = refunded != 0;
  return c;
}

Status OpenChainChannel(Ledger::Txn& txn, const ChainTarget& target, const Wallet& payer,
                        const Channel& c) {
  DIGM_ASSIGN_OR_RETURN(auto known, txn.FindChannel(c.id));
  if (known) return Status::Usage("the ledger holds channel " + c.id + " already");
  Bytes call = evm::AbiSelector("open(bytes32,address,uint64)");
  evm::AbiWord(call, std::span<const uint8_t, 32>(IdWord(c.id)));
  evm::AbiWord(call, c.payee);
  evm::AbiWord(call, static_cast<evm::Wei>(c.expires));
  DIGM_RETURN_IF_ERROR(
      Transact(target, payer, &*c.contract, AsWei(c.amount, c.asset.decimals), call).status());
  return txn.AddChannel(c.id, DumpDocument(c.doc));
}

Result<bool> RedeemChainVoucher(Ledger::Txn& txn, const ChainTarget& target, const Wallet& payee,
                                const Json& doc) {
  DIGM_RETURN_IF_ERROR(CheckSchema(doc, "voucher", 1));
  DIGM_ASSIGN_OR_RETURN(std::string id, GetString(doc, "channel", "voucher.channel"));
  DIGM_ASSIGN_OR_RETURN(Held h, Find(txn, id));
  if (!h.channel.contract) return Status::Usage("channel " + id + " is not on a chain");
  DIGM_ASSIGN_OR_RETURN(Voucher v, ReadVoucher(doc, h.channel));
  DIGM_ASSIGN_OR_RETURN(ChainChannel on_chain,
                        ReadChainChannel(target, *h.channel.contract, id, h.channel.asset));
  if (!on_chain.exists()) return Status::Integrity("the contract holds no channel " + id);
  if (v.amount == on_chain.redeemed) {  // redeemed before (perhaps through another ledger)
    if (h.row.redeemed != v.amount) {
      h.row.redeemed = v.amount;
      h.row.seq = v.seq;
      DIGM_RETURN_IF_ERROR(txn.UpdateChannel(id, h.row));
    }
    return false;
  }
  if (on_chain.refunded) return Status::No("channel " + id + " was refunded to its payer");
  if (v.amount < on_chain.redeemed) {
    return Status::Integrity("a stale voucher: " + Amount(v.amount, h.channel) + ", below the " +
                             Amount(on_chain.redeemed, h.channel) + " redeemed from channel " + id);
  }
  if (payee.address != h.channel.payee)
    return Status::Usage("the wallet is not channel " + id + "'s payee");
  Bytes call = evm::AbiSelector("redeem(bytes32,uint256,uint8,bytes32,bytes32)");
  evm::AbiWord(call, std::span<const uint8_t, 32>(IdWord(id)));
  evm::AbiWord(call, AsWei(v.amount, h.channel.asset.decimals));
  evm::AbiWord(call, static_cast<evm::Wei>((*v.evm_signature)[64]));
  evm::AbiWord(call, std::span<const uint8_t, 32>(v.evm_signature->data(), 32));
  evm::AbiWord(call, std::span<const uint8_t, 32>(v.evm_signature->data() + 32, 32));
  DIGM_RETURN_IF_ERROR(Transact(target, payee, &*h.channel.contract, 0, call).status());
  h.row.redeemed = v.amount;
  h.row.seq = v.seq;
  DIGM_RETURN_IF_ERROR(txn.UpdateChannel(id, h.row));
  return true;
}

Status RefundChainChannel(Ledger::Txn& txn, const ChainTarget& target, const Wallet& payer,
                          const std::string& id) {
  DIGM_ASSIGN_OR_RETURN(Held h, Find(txn, id));
  if (!h.channel.contract) return Status::Usage("channel " + id + " is not on a chain");
  if (h.channel.payer != payer.address) {
    return Status::Integrity("channel " + id + " is paid by " + AddressToString(h.channel.payer) +
                             ", not " + AddressToString(payer.address));
  }
  DIGM_ASSIGN_OR_RETURN(ChainChannel on_chain,
                        ReadChainChannel(target, *h.channel.contract, id, h.channel.asset));
  if (on_chain.refunded) return Status::No("channel " + id + " was refunded before");
  Bytes call = evm::AbiSelector("refund(bytes32)");
  evm::AbiWord(call, std::span<const uint8_t, 32>(IdWord(id)));
  Status s = Transact(target, payer, &*h.channel.contract, 0, call).status();
  if (s.code() == Code::kNo)
    return Status::No("channel " + id + " is open until " + Rfc3339(h.channel.expires) +
                      " on the chain's clock: its payee may still redeem");
  DIGM_RETURN_IF_ERROR(s);
  h.row.redeemed = on_chain.redeemed;
  h.row.refunded = true;
  return txn.UpdateChannel(id, h.row);
}

namespace {

// Ok when the contract `c` names holds it on `target`'s chain as its
// document says: payer, payee, amount and expiry, and not refunded.
Status HeldOnChain(const ChainTarget& target, const Channel& c) {
  evm::Rpc rpc(target.rpc, target.call_timeout_ms);
  DIGM_RETURN_IF_ERROR(CheckChainId(rpc, target));
  DIGM_ASSIGN_OR_RETURN(ChainChannel on, ReadChainChannel(target, *c.contract, c.id, c.asset));
  std::string where = "the contract " + AddressToString(*c.contract);
  if (!on.exists()) return Status::Integrity(where + " holds no channel " + c.id);
  if (on.payer != c.payer || on.payee != c.payee || on.amount != c.amount ||
      on.expires != c.expires) {
    return Status::Integrity(where + " holds channel " + c.id +
                             " with another payer, payee, amount or expiry than its document");
  }
  if (on.refunded) return Status::Integrity("channel " + c.id + " was refunded to its payer");
  return Status::Ok();
}

}  // namespace

Status LearnChainChannel(Ledger::Txn& txn, const ChainTarget& target, const Json& channel_doc) {
  DIGM_ASSIGN_OR_RETURN(Channel c, ReadChannel(channel_doc));
  DIGM_ASSIGN_OR_RETURN(auto known, txn.FindChannel(c.id));
  if (known) return Status::Ok();
  if (c.chain != "evm:" + std::to_string(target.chain_id) || !c.contract)
    return Status::Usage("channel " + c.id + " is on " + c.chain);
  DIGM_RETURN_IF_ERROR(HeldOnChain(target, c));
  return txn.AddChannel(c.id, DumpDocument(c.doc));
}

Status CheckChannelFunds(const ChannelFunds& funds, const Channel& c) {
  if (c.chain == "ledger") {
    if (funds.ledger.empty()) {
      return Status::No(
          "channels in a ledger are not taken here: this node checks channels on a chain only");
    }
    auto ledger = Ledger::Open(funds.ledger, false);
    if (!ledger.ok()) {
      if (ledger.status().code() == Code::kBadInput)  // no ledger file yet: no channel in it
        return Status::Integrity("the ledger this node checks holds no channel " + c.id);
      return ledger.status();
    }
    DIGM_ASSIGN_OR_RETURN(auto row, (*ledger)->FindChannel(c.id));
    if (!row) return Status::Integrity("the ledger this node checks holds no channel " + c.id);
    if (row->doc != DumpDocument(c.doc)) {
      return Status::Integrity("the ledger holds another channel under the id " + c.id);
    }
    if (row->refunded) return Status::Integrity("channel " + c.id + " was refunded to its payer");
    return Status::Ok();
  }
  std::string here = funds.chain ? "evm:" + std::to_string(funds.chain->chain_id) : "";
  if (c.chain != here || !c.contract) {
    return Status::No("channels on " + c.chain + " are not taken here: this node checks " +
                      (here.empty() ? "channels in a ledger only" : "channels on " + here));
  }
  if (*c.contract != funds.contract) {
    return Status::No("channels in the contract " + AddressToString(*c.contract) +
                      " are not taken here: this node takes channels in " +
                      AddressToString(funds.contract));
  }
  return HeldOnChain(*funds.chain, c);
}

}  // namespace digm
