// SHA-256, AES-256-GCM and randomness through OpenSSL's EVP interface. Objects
// hold an OpenSSL context: each is thread-compatible (one per thread), cheap to
// reuse, and must not be shared between threads without a lock.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "digm/hex.h"
#include "digm/status.h"

namespace digm {

using Key256 = std::array<uint8_t, 32>;
using GcmNonce = std::array<uint8_t, 12>;
inline constexpr size_t kGcmTagSize = 16;

Hash256 Sha256(std::span<const uint8_t> data);

// Incremental SHA-256.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(Sha256Hasher&&) noexcept;
  Sha256Hasher& operator=(Sha256Hasher&&) noexcept;

  void Update(std::span<const uint8_t> data);
  // Returns the digest and resets the hasher for another message.
  Hash256 Final();
  // One-shot digest of the concatenation of the parts, reusing this context.
  Hash256 Digest(std::span<const uint8_t> a, std::span<const uint8_t> b = {},
                 std::span<const uint8_t> c = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Fills `out` from the operating system's CSPRNG.
void RandomBytes(std::span<uint8_t> out);

// RFC 4648 §5 base64url without padding, through OpenSSL's base64; the
// decoder takes it with or without padding, and refuses anything else.
std::string Base64UrlEncode(std::span<const uint8_t> data);
Result<Bytes> Base64UrlDecode(std::string_view text);

// Where a component's random bytes come from: RandomBytes unless a test
// fixes a seed.
using RandomSource = std::function<void(std::span<uint8_t>)>;

// AES-256-GCM with a 12-byte nonce and a 16-byte tag appended to the ciphertext.
class Aes256Gcm {
 public:
  explicit Aes256Gcm(const Key256& key);
  ~Aes256Gcm();
  Aes256Gcm(Aes256Gcm&&) noexcept;
  Aes256Gcm& operator=(Aes256Gcm&&) noexcept;

  // Encrypts `in` into `out` (which may alias `in`) and writes the tag after
  // it. REQUIRES: out.size() >= in.size() + kGcmTagSize.
  void Seal(const GcmNonce& nonce, std::span<const uint8_t> aad, std::span<const uint8_t> in,
            std::span<uint8_t> out);

  // Decrypts ciphertext‖tag `in` into `out` (which may alias `in`). Returns
  // Integrity ("authentication tag mismatch") when the tag does not verify;
  // `out` then holds garbage. REQUIRES: out.size() >= in.size() - kGcmTagSize.
  Status Open(const GcmNonce& nonce, std::span<const uint8_t> aad, std::span<const uint8_t> in,
              std::span<uint8_t> out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace digm
