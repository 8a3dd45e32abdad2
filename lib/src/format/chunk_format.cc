#include "digm/chunk_format.h"

#include <cstring>

namespace digm {
namespace {

void PutBe(uint8_t* p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

}  // namespace

GcmNonce ChunkNonce(const NoncePrefix& prefix, uint64_t index) {
  GcmNonce nonce;
  std::memcpy(nonce.data(), prefix.data(), prefix.size());
  PutBe(nonce.data() + 8, index, 4);
  return nonce;
}

std::array<uint8_t, 29> ChunkAad(uint64_t index, uint64_t plain, bool compressed) {
  std::array<uint8_t, 29> aad;
  std::memcpy(aad.data(), "digm.chunk/1", 12);
  PutBe(aad.data() + 12, index, 8);
  PutBe(aad.data() + 20, plain, 8);
  aad[28] = compressed ? 1 : 0;
  return aad;
}

bool KeepCompressed(size_t compressed, size_t plain) {
  return compressed > 0 && compressed <= plain - plain / 16;
}

bool InPreview(const Encryption& e, uint64_t index) { return index < e.preview_chunks; }

}  // namespace digm
