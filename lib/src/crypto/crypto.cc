#include "digm/crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace digm {
namespace {

// Fetched once: implicit fetching on every Init costs more than hashing a
// Merkle node.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

const EVP_CIPHER* Aes256GcmCipher() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

[[noreturn]] void Die(const char* what) {
  // An OpenSSL failure here means a broken installation, not bad input.
  throw std::runtime_error(std::string("openssl: ") + what);
}

}  // namespace

struct Sha256Hasher::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256Hasher::Sha256Hasher() : impl_(std::make_unique<Impl>()) {
  if (!impl_->ctx || !EVP_DigestInit_ex2(impl_->ctx, Sha256Md(), nullptr)) Die("sha256 init");
}
Sha256Hasher::~Sha256Hasher() = default;
Sha256Hasher::Sha256Hasher(Sha256Hasher&&) noexcept = default;
Sha256Hasher& Sha256Hasher::operator=(Sha256Hasher&&) noexcept = default;

void Sha256Hasher::Update(std::span<const uint8_t> data) {
  if (!data.empty()) EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

Hash256 Sha256Hasher::Final() {
  Hash256 out;
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  EVP_DigestInit_ex2(impl_->ctx, nullptr, nullptr);
  return out;
}

Hash256 Sha256Hasher::Digest(std::span<const uint8_t> a, std::span<const uint8_t> b,
                             std::span<const uint8_t> c) {
  Update(a);
  Update(b);
  Update(c);
  return Final();
}

Hash256 Sha256(std::span<const uint8_t> data) {
  Hash256 out;
  unsigned int len = 0;
  if (!EVP_Digest(data.data(), data.size(), out.data(), &len, Sha256Md(), nullptr)) {
    Die("sha256");
  }
  return out;
}

std::string Base64UrlEncode(std::span<const uint8_t> data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

Result<Bytes> Base64UrlDecode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return Status::BadInput("not base64url: a length no encoding has");
  std::string b64(text);
  for (char& c : b64) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (!std::isalnum(static_cast<unsigned char>(c))) {
      return Status::BadInput("not base64url: an unexpected character");
    }
  }
  size_t pad = (4 - b64.size() % 4) % 4;
  b64.append(pad, '=');
  Bytes out(b64.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return Status::BadInput("not base64url");
  out.resize(static_cast<size_t>(n) - pad);  // EVP_DecodeBlock counts padding as zero bytes
  return out;
}

void RandomBytes(std::span<uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) Die("RAND_bytes");
}

struct Aes256Gcm::Impl {
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  ~Impl() {
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
  }
};

Aes256Gcm::Aes256Gcm(const Key256& key) : impl_(std::make_unique<Impl>()) {
  // The key schedule is set once; each message only sets its nonce.
  if (!impl_->enc || !impl_->dec ||
      !EVP_EncryptInit_ex2(impl_->enc, Aes256GcmCipher(), key.data(), nullptr, nullptr) ||
      !EVP_DecryptInit_ex2(impl_->dec, Aes256GcmCipher(), key.data(), nullptr, nullptr)) {
    Die("aes-256-gcm init");
  }
}
Aes256Gcm::~Aes256Gcm() = default;
Aes256Gcm::Aes256Gcm(Aes256Gcm&&) noexcept = default;
Aes256Gcm& Aes256Gcm::operator=(Aes256Gcm&&) noexcept = default;

void Aes256Gcm::Seal(const GcmNonce& nonce, std::span<const uint8_t> aad,
                     std::span<const uint8_t> in, std::span<uint8_t> out) {
  EVP_CIPHER_CTX* ctx = impl_->enc;
  int len = 0;
  if (!EVP_EncryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) ||
      (!aad.empty() &&
       !EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()))) ||
      !EVP_EncryptUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(in.size())) ||
      !EVP_EncryptFinal_ex(ctx, out.data() + len, &len) ||
      !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, out.data() + in.size())) {
    Die("aes-256-gcm seal");
  }
}

Status Aes256Gcm::Open(const GcmNonce& nonce, std::span<const uint8_t> aad,
                       std::span<const uint8_t> in, std::span<uint8_t> out) {
  if (in.size() < kGcmTagSize) {
    return Status::Integrity("ciphertext shorter than its authentication tag");
  }
  EVP_CIPHER_CTX* ctx = impl_->dec;
  const size_t n = in.size() - kGcmTagSize;
  uint8_t tag[kGcmTagSize];
  std::copy(in.begin() + n, in.end(), tag);  // `out` may alias `in`
  int len = 0;
  if (!EVP_DecryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) ||
      (!aad.empty() &&
       !EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()))) ||
      !EVP_DecryptUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(n)) ||
      !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kGcmTagSize, tag)) {
    Die("aes-256-gcm open");
  }
  if (EVP_DecryptFinal_ex(ctx, out.data() + len, &len) <= 0) {
    return Status::Integrity("authentication tag mismatch");
  }
  return Status::Ok();
}

}  // namespace digm
