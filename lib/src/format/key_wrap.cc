#include "digm/key_wrap.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <secp256k1_ecdh.h>

#include <cstring>

#include "crypto/secp.h"
#include "digm/crypto.h"

namespace digm {
namespace {

constexpr char kInfo[] = "digm.wrap/1";

// SHA-256 of the compressed shared point (libsecp256k1's default).
Result<Key256> SharedSecret(std::span<const uint8_t> their_public,
                            const std::array<uint8_t, 32>& secret) {
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_parse(SecpContext(), &pk, their_public.data(), their_public.size())) {
    return Status::BadInput("not a secp256k1 public key");
  }
  Key256 shared;
  if (!secp256k1_ecdh(SecpContext(), shared.data(), &pk, secret.data(), nullptr, nullptr)) {
    return Status::Integrity("key agreement failed");
  }
  return shared;
}

Key256 Hkdf(const Key256& ikm, std::span<const uint8_t> salt) {
  Key256 out;
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()),
                                        ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(kInfo),
                                        sizeof kInfo - 1),
      OSSL_PARAM_construct_end()};
  if (EVP_KDF_derive(ctx, out.data(), out.size(), params) != 1) abort();
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  return out;
}

}  // namespace

Result<Json> WrapKey(const TrackKey& key, std::span<const uint8_t> recipient_public) {
  DIGM_ASSIGN_OR_RETURN(Address recipient, AddressOfPublicKey(recipient_public));
  std::array<uint8_t, 33> buyer{};
  {
    // Always salt with the compressed form, whichever form was given.
    secp256k1_pubkey pk;
    if (!secp256k1_ec_pubkey_parse(SecpContext(), &pk, recipient_public.data(),
                                   recipient_public.size())) {
      return Status::BadInput("not a secp256k1 public key");
    }
    size_t len = buyer.size();
    secp256k1_ec_pubkey_serialize(SecpContext(), buyer.data(), &len, &pk, SECP256K1_EC_COMPRESSED);
  }
  Wallet ephemeral = Wallet::Generate();
  DIGM_ASSIGN_OR_RETURN(Key256 shared, SharedSecret(buyer, ephemeral.secret));
  std::array<uint8_t, 66> salt;
  std::memcpy(salt.data(), ephemeral.public_key.data(), 33);
  std::memcpy(salt.data() + 33, buyer.data(), 33);
  Aes256Gcm gcm(Hkdf(shared, salt));
  std::array<uint8_t, 48> sealed;
  gcm.Seal(GcmNonce{}, key.id, key.key, sealed);
  return Json{{"schema", "digm.wrapped-key/1"},
              {"key_id", HexEncode(key.id)},
              {"recipient", AddressToString(recipient)},
              {"ephemeral", HexEncode(ephemeral.public_key)},
              {"sealed", HexEncode(sealed)}};
}

Result<TrackKey> UnwrapKey(const Json& wrapped, const Wallet& wallet) {
  DIGM_RETURN_IF_ERROR(CheckSchema(wrapped, "wrapped-key", 1));
  DIGM_ASSIGN_OR_RETURN(std::string recipient, GetString(wrapped, "recipient", "recipient"));
  if (recipient != AddressToString(wallet.address)) {
    return Status::Integrity("the key is wrapped for " + recipient + ", not for this wallet (" +
                             AddressToString(wallet.address) + ")");
  }
  KeyId id;
  std::array<uint8_t, 33> ephemeral;
  std::array<uint8_t, 48> sealed;
  DIGM_ASSIGN_OR_RETURN(std::string id_hex, GetString(wrapped, "key_id", "key_id"));
  DIGM_ASSIGN_OR_RETURN(std::string eph_hex, GetString(wrapped, "ephemeral", "ephemeral"));
  DIGM_ASSIGN_OR_RETURN(std::string sealed_hex, GetString(wrapped, "sealed", "sealed"));
  DIGM_RETURN_IF_ERROR(HexDecodeInto(id_hex, id).Context("\"key_id\""));
  DIGM_RETURN_IF_ERROR(HexDecodeInto(eph_hex, ephemeral).Context("\"ephemeral\""));
  DIGM_RETURN_IF_ERROR(HexDecodeInto(sealed_hex, sealed).Context("\"sealed\""));
  DIGM_ASSIGN_OR_RETURN(Key256 shared, SharedSecret(ephemeral, wallet.secret));
  std::array<uint8_t, 66> salt;
  std::memcpy(salt.data(), ephemeral.data(), 33);
  std::memcpy(salt.data() + 33, wallet.public_key.data(), 33);
  Aes256Gcm gcm(Hkdf(shared, salt));
  Key256 key;
  if (!gcm.Open(GcmNonce{}, id, sealed, key).ok()) {
    return Status::Integrity("the wrapped key does not open with this wallet");
  }
  TrackKey k = TrackKey::FromKey(key);
  if (k.id != id) return Status::Integrity("the unwrapped key does not match its key_id");
  return k;
}

}  // namespace digm
