// Keccak-256 as Ethereum uses it (original Keccak padding, not SHA3-256's),
// built on nettle's Keccak-f[1600] permutation. Pure function; thread-safe.
#pragma once

#include <span>

#include "digm/hex.h"

namespace digm {

Hash256 Keccak256(std::span<const uint8_t> data);

}  // namespace digm
