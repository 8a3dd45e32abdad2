#include "digm/evm.h"

#include <algorithm>

#include "digm/http_client.h"
#include "digm/keccak.h"

namespace digm::evm {
namespace {

// Big-endian bytes of `value` without leading zeros.
Bytes Minimal(Wei value) {
  Bytes out;
  for (; value != 0; value >>= 8) out.insert(out.begin(), static_cast<uint8_t>(value & 0xff));
  return out;
}

// The header of a string (0x80) or list (0xc0) of `length` bytes.
Bytes Header(uint8_t base, size_t length) {
  if (length < 56) return {static_cast<uint8_t>(base + length)};
  Bytes len = Minimal(length);
  Bytes out{static_cast<uint8_t>(base + 55 + len.size())};
  out.insert(out.end(), len.begin(), len.end());
  return out;
}

}  // namespace

Bytes RlpBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() == 1 && bytes[0] < 0x80) return {bytes[0]};
  Bytes out = Header(0x80, bytes.size());
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

Bytes RlpUint(Wei value) { return RlpBytes(Minimal(value)); }

Bytes RlpList(const std::vector<Bytes>& items) {
  size_t length = 0;
  for (const auto& i : items) length += i.size();
  Bytes out = Header(0xc0, length);
  for (const auto& i : items) out.insert(out.end(), i.begin(), i.end());
  return out;
}

std::string Quantity(Wei value) {
  if (value == 0) return "0x0";
  std::string hex = HexEncode(Minimal(value));
  return "0x" + hex.substr(hex[0] == '0' ? 1 : 0);
}

Result<Wei> ParseQuantity(std::string_view text) {
  if (text.size() < 3 || text.size() > 34 || text.substr(0, 2) != "0x") {
    return Status::BadInput("'" + std::string(text) + "' is not a JSON-RPC quantity");
  }
  Wei v = 0;
  for (char c : text.substr(2)) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return Status::BadInput("'" + std::string(text) + "' is not a JSON-RPC quantity");
    v = v << 4 | static_cast<unsigned>(d);
  }
  return v;
}

std::string DataHex(std::span<const uint8_t> bytes) { return "0x" + HexEncode(bytes); }

namespace {

std::vector<Bytes> Fields(const LegacyTx& tx) {
  return {RlpUint(tx.nonce), RlpUint(tx.gas_price),
          RlpUint(tx.gas),   tx.create ? RlpBytes({}) : RlpBytes(tx.to),
          RlpUint(tx.value), RlpBytes(tx.data)};
}

}  // namespace

Bytes AbiSelector(std::string_view signature) {
  Hash256 h =
      Keccak256(std::span(reinterpret_cast<const uint8_t*>(signature.data()), signature.size()));
  return Bytes(h.begin(), h.begin() + 4);
}

void AbiWord(Bytes& out, Wei value) {
  uint8_t word[32] = {};
  for (int i = 31; i >= 16; --i, value >>= 8) word[i] = static_cast<uint8_t>(value);
  out.insert(out.end(), word, word + 32);
}

void AbiWord(Bytes& out, const Address& address) {
  out.insert(out.end(), 12, 0);
  out.insert(out.end(), address.begin(), address.end());
}

void AbiWord(Bytes& out, std::span<const uint8_t, 32> word) {
  out.insert(out.end(), word.begin(), word.end());
}

namespace {

// Word i of a contract's answer, whose first `zeros` bytes must be 0.
Result<std::span<const uint8_t>> AbiSlot(std::span<const uint8_t> answer, size_t i, size_t zeros,
                                         const char* what) {
  if (answer.size() < 32 * (i + 1)) return Status::BadInput("the contract's answer is too short");
  auto w = answer.subspan(32 * i, 32);
  if (std::any_of(w.begin(), w.begin() + zeros, [](uint8_t b) { return b != 0; }))
    return Status::BadInput(std::string("the contract's answer is ") + what);
  return w.subspan(zeros);
}

}  // namespace

Result<Wei> AbiUint(std::span<const uint8_t> answer, size_t i) {
  DIGM_ASSIGN_OR_RETURN(auto w, AbiSlot(answer, i, 16, "over 128 bits"));
  Wei v = 0;
  for (uint8_t b : w) v = v << 8 | b;
  return v;
}

Result<Address> AbiAddress(std::span<const uint8_t> answer, size_t i) {
  DIGM_ASSIGN_OR_RETURN(auto w, AbiSlot(answer, i, 12, "not an address"));
  Address a;
  std::copy(w.begin(), w.end(), a.begin());
  return a;
}

Bytes SigningPayload(const LegacyTx& tx, uint64_t chain_id) {
  std::vector<Bytes> f = Fields(tx);
  f.push_back(RlpUint(chain_id));
  f.push_back(RlpUint(0));
  f.push_back(RlpUint(0));
  return RlpList(f);
}

Bytes SignTx(const LegacyTx& tx, uint64_t chain_id, const Wallet& wallet) {
  Signature sig = SignHash(wallet, Keccak256(SigningPayload(tx, chain_id)));
  auto scalar = [](std::span<const uint8_t> b) {
    size_t skip = 0;
    while (skip < b.size() && b[skip] == 0) ++skip;  // integers in RLP have no leading zeros
    return RlpBytes(b.subspan(skip));
  };
  std::vector<Bytes> f = Fields(tx);
  f.push_back(RlpUint(Wei{sig[64] - 27u} + Wei{chain_id} * 2 + 35));
  f.push_back(scalar(std::span(sig).first(32)));
  f.push_back(scalar(std::span(sig).subspan(32, 32)));
  return RlpList(f);
}

Hash256 TxHash(const Bytes& raw) { return Keccak256(raw); }

uint64_t IntrinsicGas(std::span<const uint8_t> data) {
  uint64_t gas = 21000;
  for (uint8_t b : data) gas += b == 0 ? 4 : 16;
  return gas;
}

Result<Json> Rpc::Call(const std::string& method, Json params) {
  Json request{
      {"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}, {"params", std::move(params)}};
  auto r = HttpCall("POST", url_, request.dump(),
                    {.timeout_ms = timeout_ms_,
                     .connect_timeout_ms = std::max(1L, timeout_ms_ / 3),
                     .max_body = 16 << 20});
  if (!r.ok()) return r.status().Context("chain RPC " + method);
  if (r->status != 200) {
    return Status::Network("chain RPC " + method + " at " + url_ + ": HTTP " +
                           std::to_string(r->status));
  }
  auto answer = ParseJson(r->body);
  if (!answer.ok() || !answer->is_object()) {
    return Status::Network("chain RPC " + method + " at " + url_ + ": the answer is not JSON-RPC");
  }
  if (auto e = answer->find("error"); e != answer->end() && !e->is_null()) {
    std::string message = e->is_object() ? e->value("message", e->dump()) : e->dump();
    return Status::No("the chain refused " + method + ": " + message);
  }
  if (!answer->contains("result")) {
    return Status::Network("chain RPC " + method + " at " + url_ + ": the answer has no result");
  }
  return (*answer)["result"];
}

namespace {

Result<Wei> QuantityResult(const Result<Json>& r, const char* method) {
  if (!r.ok()) return r.status();
  if (!r->is_string())
    return Status::Network(std::string("chain RPC ") + method + ": not a quantity");
  auto q = ParseQuantity(r->get<std::string>());
  if (!q.ok())
    return Status::Network(std::string("chain RPC ") + method + ": " + q.status().message());
  return q;
}

}  // namespace

Result<uint64_t> Rpc::ChainId() {
  DIGM_ASSIGN_OR_RETURN(Wei id, QuantityResult(Call("eth_chainId", Json::array()), "eth_chainId"));
  return static_cast<uint64_t>(id);
}

Result<Wei> Rpc::GasPrice() {
  return QuantityResult(Call("eth_gasPrice", Json::array()), "eth_gasPrice");
}

Result<uint64_t> Rpc::Nonce(const Address& account, const char* block_tag) {
  DIGM_ASSIGN_OR_RETURN(Wei n,
                        QuantityResult(Call("eth_getTransactionCount",
                                            Json::array({AddressToString(account), block_tag})),
                                       "eth_getTransactionCount"));
  return static_cast<uint64_t>(n);
}

Result<Wei> Rpc::Balance(const Address& account) {
  return QuantityResult(Call("eth_getBalance", Json::array({AddressToString(account), "latest"})),
                        "eth_getBalance");
}

Result<Hash256> Rpc::SendRaw(const Bytes& raw) {
  DIGM_ASSIGN_OR_RETURN(Json r, Call("eth_sendRawTransaction", Json::array({DataHex(raw)})));
  Hash256 h{};
  if (!r.is_string() || r.get<std::string>().rfind("0x", 0) != 0 ||
      !HexDecodeInto(r.get<std::string>().substr(2), h).ok()) {
    return Status::Network(
        "chain RPC eth_sendRawTransaction: the answer is not a transaction hash");
  }
  return h;
}

Result<std::optional<TxReceipt>> Rpc::Receipt(const Hash256& tx_hash) {
  DIGM_ASSIGN_OR_RETURN(Json r, Call("eth_getTransactionReceipt", Json::array({DataHex(tx_hash)})));
  if (r.is_null()) return std::optional<TxReceipt>();
  if (!r.is_object() || !r.value("blockNumber", Json()).is_string()) {
    return std::optional<TxReceipt>();  // known but not in a block yet
  }
  auto block = ParseQuantity(r["blockNumber"].get<std::string>());
  auto status = ParseQuantity(r.value("status", "0x1"));
  if (!block.ok() || !status.ok()) {
    return Status::Network("chain RPC eth_getTransactionReceipt: malformed receipt");
  }
  TxReceipt receipt{static_cast<uint64_t>(*block), *status == 1, std::nullopt};
  if (auto a = r.value("contractAddress", Json()); a.is_string()) {
    if (auto parsed = ParseAddress(a.get<std::string>()); parsed.ok()) receipt.contract = *parsed;
  }
  return std::optional<TxReceipt>(receipt);
}

Result<Bytes> Rpc::CallContract(const Address& to, const Bytes& data) {
  DIGM_ASSIGN_OR_RETURN(
      Json r,
      Call("eth_call",
           Json::array({Json{{"to", AddressToString(to)}, {"data", DataHex(data)}}, "latest"})));
  if (!r.is_string() || r.get<std::string>().rfind("0x", 0) != 0)
    return Status::Network("chain RPC eth_call: the answer is not data");
  auto bytes = HexDecode(r.get<std::string>().substr(2));
  if (!bytes.ok()) return Status::Network("chain RPC eth_call: the answer is not data");
  return *bytes;
}

Result<uint64_t> Rpc::EstimateGas(const Address& from, const Address* to, Wei value,
                                  const Bytes& data) {
  Json tx{{"from", AddressToString(from)}, {"value", Quantity(value)}, {"data", DataHex(data)}};
  if (to) tx["to"] = AddressToString(*to);
  DIGM_ASSIGN_OR_RETURN(
      Wei gas, QuantityResult(Call("eth_estimateGas", Json::array({tx})), "eth_estimateGas"));
  return static_cast<uint64_t>(gas);
}

Result<bool> Rpc::Knows(const Hash256& tx_hash) {
  DIGM_ASSIGN_OR_RETURN(Json r, Call("eth_getTransactionByHash", Json::array({DataHex(tx_hash)})));
  return !r.is_null();
}

}  // namespace digm::evm
