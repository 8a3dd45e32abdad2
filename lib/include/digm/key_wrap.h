// Handing a track key to one buyer (SPEC §4), digm.wrapped-key/1: an
// ephemeral secp256k1 key agrees a secret with the buyer's public key (ECDH),
// HKDF-SHA256 turns it into a key-encryption key, and AES-256-GCM seals the
// track key under it with the key id as additional data. Pure; thread-safe.
#pragma once

#include <array>

#include "digm/document.h"
#include "digm/track_key.h"
#include "digm/wallet.h"

namespace digm {

// BadInput when `recipient_public` is not a secp256k1 public key.
Result<Json> WrapKey(const TrackKey& key, std::span<const uint8_t> recipient_public);

// The track key, when `wrapped` was made for `wallet`. Integrity error when it
// was made for someone else or does not open.
Result<TrackKey> UnwrapKey(const Json& wrapped, const Wallet& wallet);

}  // namespace digm
