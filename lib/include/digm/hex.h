// Lowercase hex encoding and strict decoding of byte strings, and the fixed-size
// byte arrays the formats use (hashes, keys, nonces). Pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "digm/status.h"

namespace digm {

using Bytes = std::vector<uint8_t>;
using Hash256 = std::array<uint8_t, 32>;

std::string HexEncode(std::span<const uint8_t> bytes);

// Decodes exactly out.size() bytes. Accepts lowercase and uppercase digits;
// anything else, or another length, is BadInput ("expected N hex characters").
Status HexDecodeInto(std::string_view hex, std::span<uint8_t> out);
Result<Bytes> HexDecode(std::string_view hex);

// True for 64 lower-case hex digits: how the documents write a SHA-256 hash.
bool IsHash(std::string_view text);

template <size_t N>
Result<std::array<uint8_t, N>> HexDecodeArray(std::string_view hex) {
  std::array<uint8_t, N> out{};
  Status s = HexDecodeInto(hex, out);
  if (!s.ok()) return s;
  return out;
}

}  // namespace digm
