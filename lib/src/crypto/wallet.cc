#include "digm/wallet.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sys/stat.h>

#include <cstring>
#include <map>
#include <mutex>

#include "crypto/secp.h"
#include "digm/crypto.h"
#include "digm/file.h"
#include "digm/keccak.h"

namespace digm {
const secp256k1_context* SecpContext() {
  static secp256k1_context* ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    uint8_t seed[32];
    RandomBytes(seed);
    if (!secp256k1_context_randomize(c, seed)) abort();
    return c;
  }();
  return ctx;
}

std::string AddressToString(const Address& a) { return "0x" + HexEncode(a); }

Result<Address> ParseAddress(std::string_view text) {
  if (text.substr(0, 2) != "0x" && text.substr(0, 2) != "0X") {
    return Status::BadInput("address '" + std::string(text) + "' must start with 0x");
  }
  Address a;
  Status s = HexDecodeInto(text.substr(2), a);
  if (!s.ok()) return s.Context("address '" + std::string(text) + "'");
  return a;
}

Result<Address> AddressOfPublicKey(std::span<const uint8_t> public_key) {
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_parse(SecpContext(), &pk, public_key.data(), public_key.size())) {
    return Status::BadInput("not a secp256k1 public key");
  }
  uint8_t full[65];
  size_t len = sizeof full;
  secp256k1_ec_pubkey_serialize(SecpContext(), full, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
  Hash256 h = Keccak256(std::span(full + 1, 64));
  Address a;
  std::memcpy(a.data(), h.data() + 12, a.size());
  return a;
}

Result<Wallet> Wallet::FromSecret(const std::array<uint8_t, 32>& secret) {
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_create(SecpContext(), &pk, secret.data())) {
    return Status::BadInput("not a valid secp256k1 secret key");
  }
  Wallet w;
  w.secret = secret;
  size_t len = w.public_key.size();
  secp256k1_ec_pubkey_serialize(SecpContext(), w.public_key.data(), &len, &pk,
                                SECP256K1_EC_COMPRESSED);
  w.address = *AddressOfPublicKey(w.public_key);
  return w;
}

Wallet Wallet::Generate() {
  for (;;) {
    std::array<uint8_t, 32> secret;
    RandomBytes(secret);
    if (auto w = FromSecret(secret); w.ok()) return *w;
  }
}

Json IdentityToJson(const Wallet& w) {
  return Json{{"schema", "digm.identity/1"},
              {"address", AddressToString(w.address)},
              {"public", HexEncode(w.public_key)}};
}

Json WalletToJson(const Wallet& w) {
  Json j = IdentityToJson(w);
  j["schema"] = "digm.wallet/1";
  j["secret"] = HexEncode(w.secret);
  return j;
}

Result<Wallet> WalletFromJson(const Json& doc) {
  DIGM_RETURN_IF_ERROR(CheckSchema(doc, "wallet", 1));
  DIGM_ASSIGN_OR_RETURN(std::string hex, GetString(doc, "secret", "secret"));
  std::array<uint8_t, 32> secret;
  DIGM_RETURN_IF_ERROR(HexDecodeInto(hex, secret).Context("\"secret\""));
  DIGM_ASSIGN_OR_RETURN(Wallet w, Wallet::FromSecret(secret));
  auto address = doc.find("address");
  if (address != doc.end() && address->is_string() &&
      address->get<std::string>() != AddressToString(w.address)) {
    return Status::BadInput("\"address\" is not the address of this secret: the wallet is damaged");
  }
  return w;
}

Status WriteWalletFile(const std::string& path, const Wallet& w) {
  return WriteSecretDocument(path, WalletToJson(w), "a wallet");
}

Result<Wallet> ReadWalletFile(const std::string& path) {
  DIGM_ASSIGN_OR_RETURN(Json doc, ReadSecretDocument(path, "wallet", 1));
  auto w = WalletFromJson(doc);
  if (!w.ok()) return w.status().Context("reading '" + path + "'");
  return w;
}

Signature SignHash(const Wallet& w, const Hash256& hash) {
  secp256k1_ecdsa_recoverable_signature sig;
  if (!secp256k1_ecdsa_sign_recoverable(SecpContext(), &sig, hash.data(), w.secret.data(), nullptr,
                                        nullptr)) {
    abort();  // only for an invalid secret, which FromSecret rules out
  }
  Signature out;
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(SecpContext(), out.data(), &recid, &sig);
  out[64] = static_cast<uint8_t>(27 + recid);
  return out;
}

namespace {

// r, s and the recovery id (v, 27 or 28, or 0 to 3) of a 65-byte signature.
bool ParseRecoverable(const Signature& signature, secp256k1_ecdsa_recoverable_signature* sig) {
  int v = signature[64];
  int recid = v >= 27 ? v - 27 : v;
  return recid >= 0 && recid <= 3 &&
         secp256k1_ecdsa_recoverable_signature_parse_compact(SecpContext(), sig, signature.data(),
                                                             recid);
}

// The public key that signed `hash`, if `signature` recovers to one.
bool RecoverKey(const Hash256& hash, const Signature& signature, secp256k1_pubkey* pk) {
  secp256k1_ecdsa_recoverable_signature sig;
  return ParseRecoverable(signature, &sig) &&
         secp256k1_ecdsa_recover(SecpContext(), pk, &sig, hash.data());
}

Address AddressOfKey(const secp256k1_pubkey& pk) {
  uint8_t full[65];
  size_t len = sizeof full;
  secp256k1_ec_pubkey_serialize(SecpContext(), full, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
  return *AddressOfPublicKey(std::span(full, len));
}

// The public keys of signers whose signatures were recovered, so the next
// one an expected signer makes is checked by verifying it against that key:
// what recovering the key and comparing addresses would find, at two thirds
// of the cost (a payer's vouchers, a node's pongs). A signature that does not
// verify is recovered as before, for the same answer and message. Bounded:
// forgotten all at once when full.
class KnownKeys {
 public:
  bool Verify(const Address& signer, const Hash256& hash, const Signature& signature) {
    secp256k1_pubkey pk;
    {
      std::lock_guard lock(mu_);
      auto it = keys_.find(signer);
      if (it == keys_.end()) return false;
      pk = it->second;
    }
    secp256k1_ecdsa_recoverable_signature rsig;
    secp256k1_ecdsa_signature sig;
    if (!ParseRecoverable(signature, &rsig)) return false;
    secp256k1_ecdsa_recoverable_signature_convert(SecpContext(), &sig, &rsig);
    return secp256k1_ecdsa_verify(SecpContext(), &sig, hash.data(), &pk);
  }

  void Add(const Address& signer, const secp256k1_pubkey& pk) {
    std::lock_guard lock(mu_);
    if (keys_.size() >= kMax) keys_.clear();
    keys_.emplace(signer, pk);
  }

 private:
  static constexpr size_t kMax = 4096;
  std::mutex mu_;
  std::map<Address, secp256k1_pubkey> keys_;
};

Status NoKey() { return Status::Integrity("bad signature: it recovers to no key"); }

KnownKeys& Known() {
  static KnownKeys* keys = new KnownKeys;  // never destroyed: used from detached threads
  return *keys;
}

}  // namespace

Result<Address> RecoverSigner(const Hash256& hash, const Signature& signature) {
  secp256k1_pubkey pk;
  if (!RecoverKey(hash, signature, &pk)) return NoKey();
  return AddressOfKey(pk);
}

Result<Address> RecoverSigner(const Hash256& hash, const Signature& signature,
                              const Address& expected) {
  if (Known().Verify(expected, hash, signature)) return expected;
  secp256k1_pubkey pk;
  if (!RecoverKey(hash, signature, &pk)) return NoKey();
  Address recovered = AddressOfKey(pk);
  if (recovered == expected) Known().Add(recovered, pk);
  return recovered;
}

std::string CanonicalForm(const Json& doc) {
  nlohmann::json sorted(doc);  // std::map: members sorted
  if (sorted.is_object()) sorted.erase("signature");
  return sorted.dump();
}

namespace {

Hash256 CanonicalHash(const Json& doc) {
  std::string c = CanonicalForm(doc);
  return Sha256(std::span(reinterpret_cast<const uint8_t*>(c.data()), c.size()));
}

}  // namespace

void SignDocument(Json& doc, const Wallet& w) {
  doc.erase("signature");
  doc["signer"] = AddressToString(w.address);
  doc["signature"] = HexEncode(SignHash(w, CanonicalHash(doc)));
}

Result<Address> VerifyDocument(const Json& doc) {
  auto signer = doc.find("signer");
  auto signature = doc.find("signature");
  if (signer == doc.end() || signature == doc.end() || !signer->is_string() ||
      !signature->is_string()) {
    return Status::Integrity("unsigned document: no \"signer\" and \"signature\"");
  }
  auto claimed = ParseAddress(signer->get<std::string>());
  if (!claimed.ok()) return Status::Integrity("bad \"signer\": " + claimed.status().message());
  Signature sig;
  if (!HexDecodeInto(signature->get<std::string>(), sig).ok()) {
    return Status::Integrity("bad signature: expected 130 hex characters");
  }
  DIGM_ASSIGN_OR_RETURN(Address recovered, RecoverSigner(CanonicalHash(doc), sig, *claimed));
  if (recovered != *claimed) {
    return Status::Integrity("bad signature: signed by " + AddressToString(recovered) + ", not " +
                             signer->get<std::string>());
  }
  return recovered;
}

}  // namespace digm
