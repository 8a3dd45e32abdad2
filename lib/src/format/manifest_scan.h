// The fast reader of well-formed manifests (simdjson On-Demand): the chunk
// list straight into ChunkRefs, the other members as small documents. Any
// surprise returns nothing, and the caller falls back to the DOM reader,
// whose messages say exactly what is wrong. Thread-compatible.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "digm/manifest.h"

namespace digm {

struct ScannedManifest {
  Json header;  // every member but "chunks"
  std::vector<ChunkRef> chunks;
};

// `capacity`: bytes readable from text.data() (text plus padding); the text is
// copied when there is not room for simdjson's padding.
std::optional<ScannedManifest> ScanManifest(std::string_view text, size_t capacity);

// Defined in manifest.cc: validates the members and the sizes' arithmetic.
Result<Manifest> ManifestFromParts(const Json& doc, std::vector<ChunkRef> chunks);

}  // namespace digm
