// A chunk's stored form (SPEC §2), shared by whoever makes chunks (the
// chunker, a live publisher) and whoever opens them (the assembler, the
// fetcher): plain bytes, zstd-compressed when that saves at least 1/16, then
// AES-256-GCM sealed under a nonce and AAD bound to the chunk's place.
// Pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "digm/crypto.h"
#include "digm/manifest.h"

namespace digm {

// The nonce and AAD of chunk `index` (SPEC §2).
GcmNonce ChunkNonce(const NoncePrefix& prefix, uint64_t index);
std::array<uint8_t, 29> ChunkAad(uint64_t index, uint64_t plain, bool compressed);

// True when a chunk of `plain` bytes that compresses to `compressed` bytes is
// stored compressed (the "z" flag): it must save at least a sixteenth.
bool KeepCompressed(size_t compressed, size_t plain);

// True when chunk `index` is sealed under the preview key, not the track key.
bool InPreview(const Encryption& e, uint64_t index);

}  // namespace digm
