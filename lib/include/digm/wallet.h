// Identities (SPEC §4): secp256k1 wallets, Ethereum-style addresses, and
// recoverable signatures over documents' canonical form. A Wallet holds a
// secret: keep it in one place. Functions are thread-safe (one shared,
// randomised libsecp256k1 context).
#pragma once

#include <array>
#include <string>

#include "digm/document.h"
#include "digm/hex.h"

namespace digm {

using Address = std::array<uint8_t, 20>;
using Signature = std::array<uint8_t, 65>;  // r ‖ s ‖ v, v = 27 + recovery id

std::string AddressToString(const Address& address);  // "0x" + 40 lowercase hex
Result<Address> ParseAddress(std::string_view text);

struct Wallet {
  std::array<uint8_t, 32> secret{};
  std::array<uint8_t, 33> public_key{};  // compressed
  Address address{};

  static Wallet Generate();
  // BadInput when `secret` is not a valid secp256k1 secret key.
  static Result<Wallet> FromSecret(const std::array<uint8_t, 32>& secret);
};

// Address of a 33-byte compressed or 65-byte uncompressed public key.
Result<Address> AddressOfPublicKey(std::span<const uint8_t> public_key);

Json WalletToJson(const Wallet& wallet);    // digm.wallet/1, with the secret
Json IdentityToJson(const Wallet& wallet);  // digm.identity/1, safe to publish
Result<Wallet> WalletFromJson(const Json& doc);
Status WriteWalletFile(const std::string& path, const Wallet& wallet);  // 0600, never overwrites
Result<Wallet> ReadWalletFile(const std::string& path);  // refuses modes others can read

Signature SignHash(const Wallet& wallet, const Hash256& hash);
// Integrity error when the signature does not recover to a key.
Result<Address> RecoverSigner(const Hash256& hash, const Signature& signature);
// The same answer, found at a third less cost when `expected` is a signer
// whose key an earlier answer recovered: its signature is verified against
// that key (a payer's vouchers, a node's pongs).
Result<Address> RecoverSigner(const Hash256& hash, const Signature& signature,
                              const Address& expected);

// The bytes a document's signature covers: members sorted by key, no
// whitespace, "signature" removed.
std::string CanonicalForm(const Json& doc);

// Sets "signer" and "signature" on `doc`.
void SignDocument(Json& doc, const Wallet& wallet);
// Returns the signer when "signature" recovers to the address in "signer";
// Integrity error otherwise ("unsigned document", "bad signature").
Result<Address> VerifyDocument(const Json& doc);

}  // namespace digm
