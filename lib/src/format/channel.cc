#include "digm/channel.h"

#include "digm/clock.h"
#include "digm/crypto.h"
#include "digm/keccak.h"

namespace digm {
namespace {

constexpr int64_t kMb = 1000000;

Result<int64_t> AmountOf(const Json& doc, std::string_view key, const Asset& asset,
                         std::string_view what) {
  DIGM_ASSIGN_OR_RETURN(std::string text, GetString(doc, key, what));
  auto amount = ParseAmount(text, asset.decimals);
  if (!amount.ok()) return Status::BadInput(std::string(what) + ": " + amount.status().message());
  return *amount;
}

Result<Address> AddressOf(const Json& doc, std::string_view key, std::string_view what) {
  DIGM_ASSIGN_OR_RETURN(std::string text, GetString(doc, key, what));
  auto a = ParseAddress(text);
  if (!a.ok()) return Status::BadInput(std::string(what) + " is not an address: " + text);
  return *a;
}

bool IsHashHex(const std::string& s) { return s.size() == 64 && HexDecode(s).ok(); }

}  // namespace

Json Price::ToJson() const {
  return Json{{"asset", asset.name},
              {"per_mb", FormatAmount(per_mb, asset.decimals)},
              {"credit", credit},
              {"channel_margin", channel_margin}};
}

std::string Price::Text() const {
  return FormatAmount(per_mb, asset.decimals) + " " + asset.name + " per MB";
}

Result<Price> ReadPrice(const Json& price) {
  if (!price.is_object()) return Status::BadInput("price must be an object");
  DIGM_ASSIGN_OR_RETURN(std::string name, GetString(price, "asset", "price.asset"));
  auto asset = ParseAsset(name);
  if (!asset.ok()) return Status::BadInput("price.asset: " + asset.status().message());
  Price p{*asset, 0};
  DIGM_ASSIGN_OR_RETURN(p.per_mb, AmountOf(price, "per_mb", p.asset, "price.per_mb"));
  if (price.contains("credit")) {
    DIGM_ASSIGN_OR_RETURN(p.credit, GetUint(price, "credit", "price.credit"));
  }
  if (price.contains("channel_margin")) {
    DIGM_ASSIGN_OR_RETURN(uint64_t margin,
                          GetUint(price, "channel_margin", "price.channel_margin"));
    if (margin > kMaxChannelMargin)
      return Status::BadInput("price.channel_margin is over " + std::to_string(kMaxChannelMargin));
    p.channel_margin = static_cast<int64_t>(margin);
  }
  return p;
}

int64_t PriceOf(uint64_t bytes, int64_t per_mb) {
  if (per_mb <= 0 || bytes == 0) return 0;
  __int128 cost = (static_cast<__int128>(bytes) * per_mb + kMb - 1) / kMb;
  return cost > INT64_MAX ? INT64_MAX : static_cast<int64_t>(cost);
}

uint64_t BytesPaidBy(int64_t amount, int64_t per_mb) {
  if (per_mb <= 0) return UINT64_MAX;
  if (amount <= 0) return 0;
  __int128 bytes = static_cast<__int128>(amount) * kMb / per_mb;
  return bytes > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(bytes);
}

Json MakeChannel(const Wallet& payer, const Address& payee, const Asset& asset, int64_t amount,
                 int64_t expires, const std::string& chain,
                 const std::optional<Address>& contract) {
  std::array<uint8_t, 32> id;
  RandomBytes(id);
  Json doc{{"schema", "digm.channel/1"},
           {"id", HexEncode(id)},
           {"payer", AddressToString(payer.address)},
           {"payee", AddressToString(payee)},
           {"asset", asset.name},
           {"amount", FormatAmount(amount, asset.decimals)},
           {"expires", Rfc3339(expires)},
           {"chain", chain}};
  if (contract) doc["contract"] = AddressToString(*contract);
  SignDocument(doc, payer);
  return doc;
}

Result<Channel> ReadChannel(const Json& doc) {
  DIGM_RETURN_IF_ERROR(CheckSchema(doc, "channel", 1));
  Channel c;
  DIGM_ASSIGN_OR_RETURN(c.id, GetString(doc, "id", "channel.id"));
  if (!IsHashHex(c.id)) return Status::BadInput("channel.id must be 64 hex digits");
  DIGM_ASSIGN_OR_RETURN(c.payer, AddressOf(doc, "payer", "channel.payer"));
  DIGM_ASSIGN_OR_RETURN(c.payee, AddressOf(doc, "payee", "channel.payee"));
  DIGM_ASSIGN_OR_RETURN(std::string asset, GetString(doc, "asset", "channel.asset"));
  auto a = ParseAsset(asset);
  if (!a.ok()) return Status::BadInput("channel.asset: " + a.status().message());
  c.asset = *a;
  DIGM_ASSIGN_OR_RETURN(c.amount, AmountOf(doc, "amount", c.asset, "channel.amount"));
  if (c.amount <= 0) return Status::BadInput("channel.amount must be above zero");
  DIGM_ASSIGN_OR_RETURN(std::string expires, GetString(doc, "expires", "channel.expires"));
  auto e = ParseRfc3339(expires);
  if (!e) return Status::BadInput("channel.expires is not an RFC 3339 UTC time");
  c.expires = *e;
  DIGM_ASSIGN_OR_RETURN(c.chain, GetString(doc, "chain", "channel.chain"));
  if (c.chain != "ledger" && c.chain.rfind("evm:", 0) != 0)
    return Status::BadInput("channel.chain must be \"ledger\" or \"evm:CHAIN_ID\"");
  if (c.chain != "ledger") {
    DIGM_ASSIGN_OR_RETURN(c.contract, AddressOf(doc, "contract", "channel.contract"));
  }
  DIGM_ASSIGN_OR_RETURN(Address signer, VerifyDocument(doc));
  if (signer != c.payer) {
    return Status::Integrity("the channel is signed by " + AddressToString(signer) +
                             ", not its payer " + AddressToString(c.payer));
  }
  c.doc = doc;
  return c;
}

Hash256 VoucherDigest(const Address& contract, const std::string& channel_id, int64_t amount,
                      int decimals) {
  Bytes packed(contract.begin(), contract.end());
  auto id = HexDecode(channel_id);
  if (id.ok()) packed.insert(packed.end(), id->begin(), id->end());
  unsigned __int128 wei = AsWei(amount, decimals);
  uint8_t word[32] = {};
  for (int i = 31; i >= 16; --i, wei >>= 8) word[i] = static_cast<uint8_t>(wei);
  packed.insert(packed.end(), word, word + 32);
  Hash256 inner = Keccak256(packed);
  static constexpr std::string_view kPrefix =
      "\x19"
      "Ethereum Signed Message:\n32";
  Bytes message(kPrefix.begin(), kPrefix.end());
  message.insert(message.end(), inner.begin(), inner.end());
  return Keccak256(message);
}

Json MakeVoucher(const Wallet& payer, const Channel& channel, int64_t amount, uint64_t seq,
                 const std::string& root, uint64_t bytes) {
  Json doc{{"schema", "digm.voucher/1"},
           {"channel", channel.id},
           {"amount", FormatAmount(amount, channel.asset.decimals)},
           {"seq", seq},
           {"root", root},
           {"bytes", bytes}};
  if (channel.contract) {
    doc["evm_signature"] = HexEncode(SignHash(
        payer, VoucherDigest(*channel.contract, channel.id, amount, channel.asset.decimals)));
  }
  SignDocument(doc, payer);
  return doc;
}

Result<Voucher> ReadVoucher(const Json& doc, const Channel& channel) {
  DIGM_RETURN_IF_ERROR(CheckSchema(doc, "voucher", 1));
  Voucher v;
  DIGM_ASSIGN_OR_RETURN(v.channel, GetString(doc, "channel", "voucher.channel"));
  if (v.channel != channel.id)
    return Status::Integrity("the voucher is for channel " + v.channel + ", not " + channel.id);
  DIGM_ASSIGN_OR_RETURN(v.amount, AmountOf(doc, "amount", channel.asset, "voucher.amount"));
  DIGM_ASSIGN_OR_RETURN(v.seq, GetUint(doc, "seq", "voucher.seq"));
  if (auto r = doc.find("root"); r != doc.end()) {
    if (!r->is_string() || (!r->get<std::string>().empty() && !IsHashHex(*r)))
      return Status::BadInput("voucher.root must be a track root");
    v.root = r->get<std::string>();
  }
  DIGM_ASSIGN_OR_RETURN(v.bytes, GetUint(doc, "bytes", "voucher.bytes"));
  DIGM_ASSIGN_OR_RETURN(Address signer, VerifyDocument(doc));
  if (signer != channel.payer) {
    return Status::Integrity("the voucher is signed by " + AddressToString(signer) +
                             ", not the channel's payer " + AddressToString(channel.payer));
  }
  if (channel.contract) {
    DIGM_ASSIGN_OR_RETURN(std::string text,
                          GetString(doc, "evm_signature", "voucher.evm_signature"));
    auto sig = HexDecodeArray<65>(text);
    if (!sig.ok()) return Status::BadInput("voucher.evm_signature must be 65 bytes of hex");
    auto evm_signer = RecoverSigner(
        VoucherDigest(*channel.contract, channel.id, v.amount, channel.asset.decimals), *sig,
        channel.payer);
    if (!evm_signer.ok() || *evm_signer != channel.payer)
      return Status::Integrity("the voucher's evm_signature is not the channel's payer's");
    v.evm_signature = *sig;
  }
  if (v.amount > channel.amount) {
    return Status::Integrity(
        "the voucher is for " + FormatAmount(v.amount, channel.asset.decimals) +
        ", more than the channel's " + FormatAmount(channel.amount, channel.asset.decimals));
  }
  v.doc = doc;
  return v;
}

Json MakeInvoice(const std::string& channel, int64_t owed, int64_t paid, const Price& price) {
  return Json{{"schema", "digm.invoice/1"},
              {"channel", channel.empty() ? Json(nullptr) : Json(channel)},
              {"owed", FormatAmount(owed, price.asset.decimals)},
              {"paid", FormatAmount(paid, price.asset.decimals)},
              {"price", price.ToJson()}};
}

}  // namespace digm
