#include "digm/keccak.h"

#include <nettle/sha3.h>

#include <cstring>

namespace digm {

Hash256 Keccak256(std::span<const uint8_t> data) {
  constexpr size_t kRate = 136;  // bytes absorbed per permutation (1088 bits)
  sha3_state state;
  std::memset(&state, 0, sizeof state);
  auto absorb = [&](const uint8_t* block) {
    for (size_t i = 0; i < kRate / 8; ++i) {
      uint64_t lane = 0;
      for (int b = 7; b >= 0; --b) lane = lane << 8 | block[8 * i + b];  // little-endian
      state.a[i] ^= lane;
    }
    sha3_permute(&state);
  };
  size_t at = 0;
  for (; data.size() - at >= kRate; at += kRate) absorb(data.data() + at);
  uint8_t last[kRate] = {};
  if (data.size() > at) std::memcpy(last, data.data() + at, data.size() - at);  // empty: no pointer
  last[data.size() - at] ^= 0x01;  // Keccak padding: 0x01 ... 0x80
  last[kRate - 1] ^= 0x80;
  absorb(last);
  Hash256 out;
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<uint8_t>(state.a[i / 8] >> (8 * (i % 8)));
  return out;
}

}  // namespace digm
