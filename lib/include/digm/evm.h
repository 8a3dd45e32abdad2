// Talking to an Ethereum-compatible chain (SPEC §8, chain backend): RLP,
// EIP-155 signed legacy value transfers, and the few JSON-RPC calls that
// sending them needs. Amounts are unsigned 128-bit integers of wei, which
// holds any ledger amount (2^62 atomic units × 10^11). Pure functions are
// thread-safe; an Rpc is one thread's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "digm/document.h"
#include "digm/wallet.h"

namespace digm::evm {

using Wei = unsigned __int128;

// RLP (Ethereum Yellow Paper, appendix B).
Bytes RlpBytes(std::span<const uint8_t> bytes);
Bytes RlpUint(Wei value);  // big-endian, no leading zeros; 0 is the empty string
Bytes RlpList(const std::vector<Bytes>& encoded_items);

// JSON-RPC quantities: "0x" and lowercase hex without leading zeros ("0x0").
std::string Quantity(Wei value);
Result<Wei> ParseQuantity(std::string_view text);
std::string DataHex(std::span<const uint8_t> bytes);  // "0x" + hex

// The contract ABI's head encoding, as far as the channel contract needs it:
// a function's selector (the first 4 bytes of the Keccak-256 of its
// signature, e.g. "open(bytes32,address,uint64)") and 32-byte words.
Bytes AbiSelector(std::string_view signature);
void AbiWord(Bytes& out, Wei value);  // uintN, big-endian
void AbiWord(Bytes& out, const Address& address);
void AbiWord(Bytes& out, std::span<const uint8_t, 32> word);  // bytes32
// Word `i` of an ABI-encoded answer, as a number or an address; BadInput
// when the answer is too short or the word is not one.
Result<Wei> AbiUint(std::span<const uint8_t> answer, size_t i);
Result<Address> AbiAddress(std::span<const uint8_t> answer, size_t i);

// A pre-EIP-1559 ("legacy") transaction, as EIP-155 signs it.
struct LegacyTx {
  uint64_t nonce = 0;
  Wei gas_price = 0;
  uint64_t gas = 0;
  bool create = false;  // a contract creation: no `to`, `data` is the init code
  Address to{};
  Wei value = 0;
  Bytes data;
};

// RLP([nonce, gasPrice, gas, to, value, data, chainId, 0, 0]): what is hashed and signed.
Bytes SigningPayload(const LegacyTx& tx, uint64_t chain_id);
// The raw signed transaction, v = recovery id + 2·chainId + 35.
Bytes SignTx(const LegacyTx& tx, uint64_t chain_id, const Wallet& wallet);
// The transaction's hash: Keccak-256 of its raw bytes.
Hash256 TxHash(const Bytes& raw);
// Gas a plain value transfer to an account without code uses: 21000 plus
// 4 per zero and 16 per non-zero byte of data.
uint64_t IntrinsicGas(std::span<const uint8_t> data);

struct TxReceipt {
  uint64_t block = 0;
  bool success = false;
  std::optional<Address> contract;  // what a creation made
};

// JSON-RPC 2.0 over HTTP POST. Transport failures are Status::Network; an
// error object in the answer is Status::No carrying the node's message.
class Rpc {
 public:
  // Each call waits `timeout_ms` at most (the connection a third of it).
  explicit Rpc(std::string url, long timeout_ms = 10000)
      : url_(std::move(url)), timeout_ms_(timeout_ms) {}
  Result<Json> Call(const std::string& method, Json params);

  Result<uint64_t> ChainId();
  Result<Wei> GasPrice();
  // Transactions sent from `account`: mined ones ("latest") or with those waiting ("pending").
  Result<uint64_t> Nonce(const Address& account, const char* block_tag);
  Result<Wei> Balance(const Address& account);
  Result<Hash256> SendRaw(const Bytes& raw);
  // Empty until the transaction is mined.
  Result<std::optional<TxReceipt>> Receipt(const Hash256& tx_hash);
  // Whether the node knows the transaction at all (waiting or mined).
  Result<bool> Knows(const Hash256& tx_hash);
  // eth_call at "latest": what `data` sent to `to` answers.
  Result<Bytes> CallContract(const Address& to, const Bytes& data);
  // eth_estimateGas of a transaction from `from` (`to` null: a creation).
  Result<uint64_t> EstimateGas(const Address& from, const Address* to, Wei value,
                               const Bytes& data);

 private:
  std::string url_;
  long timeout_ms_;
  int next_id_ = 1;
};

}  // namespace digm::evm
