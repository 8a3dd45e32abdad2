// Money (SPEC §1, §8): assets with a fixed number of decimals, decimal strings
// outside and integer atomic units inside. No floating point anywhere. Pure
// functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "digm/status.h"

namespace digm {

struct Asset {
  std::string name;  // "XFG" or "PARA"
  int decimals = 0;  // XFG 7, PARA 8
};

// "XFG" or "PARA"; Usage error otherwise.
Result<Asset> ParseAsset(std::string_view name);

// "12", "0.0012", "1.5" -> atomic units. Refuses signs, exponents, more
// decimals than the asset has, and amounts beyond 2^62 units (BadInput).
Result<int64_t> ParseAmount(std::string_view text, int decimals);

// Atomic units as 18-decimal units: on an EVM chain 1 XFG or 1 PARA is
// 10^18 wei (SPEC §8).
unsigned __int128 AsWei(int64_t atomic, int decimals);

// Atomic units -> the shortest decimal string ("1.5", "0.0012", "3", "-2").
std::string FormatAmount(__int128 atomic, int decimals);

}  // namespace digm
