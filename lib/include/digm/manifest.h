// The track manifest, digm.manifest/1 (SPEC §2): the ordered list of chunks,
// the media metadata and the encryption parameters. Values; thread-compatible.
// FromJson validates every member and the sizes' arithmetic, so a Manifest that
// parsed is internally consistent.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "digm/crypto.h"
#include "digm/document.h"
#include "digm/hex.h"

namespace digm {

inline constexpr uint64_t kMinChunkSize = 16 * 1024;
inline constexpr uint64_t kMaxChunkSize = 16 * 1024 * 1024;
inline constexpr uint64_t kDefaultChunkSize = 256 * 1024;

using KeyId = std::array<uint8_t, 16>;
using NoncePrefix = std::array<uint8_t, 8>;

struct ChunkRef {
  Hash256 hash{};
  uint64_t size = 0;   // stored bytes
  uint64_t plain = 0;  // plaintext bytes
  bool z = false;      // zstd-compressed before encryption
};

// What could be learned about the media; every member is optional.
struct Media {
  std::optional<std::string> format, mime, title, artist, album;
  std::optional<double> duration;  // seconds
  std::optional<int> bitrate, sample_rate, channels;
};

struct Encryption {
  KeyId key_id{};
  NoncePrefix nonce_prefix{};
  uint64_t preview_chunks = 0;  // chunks [0, preview_chunks) use preview_key
  Key256 preview_key{};
};

struct Manifest {
  std::optional<Hash256> root;  // absent until sealed
  uint64_t size = 0;
  uint64_t chunk_size = kDefaultChunkSize;
  std::optional<std::string> source_name;
  Hash256 source_sha256{};
  Media media;
  std::optional<Encryption> encryption;
  // A sealed live stream (SPEC §9): its id. Its chunks were cut by time, so
  // each holds 1 to chunk_size plaintext bytes (never compressed), where a
  // track's are all chunk_size but the last.
  std::optional<Hash256> stream;
  std::vector<ChunkRef> chunks;

  // The root computed from `chunks` (RFC 9162 over the chunk hashes).
  Hash256 ComputeRoot() const;
};

// Chunk size argument: "256K", "1M", "65536". Power of two in [16K, 16M].
Result<uint64_t> ParseChunkSize(std::string_view text);
Status CheckChunkSize(uint64_t chunk_size);

// Parses and validates a manifest document (schema checked). Does not check
// `root` against the chunks; see CheckRoot.
Result<Manifest> ManifestFromJson(const Json& doc);
// The same from JSON text, streaming: the chunk list is never held as JSON, so
// this is the reader for large manifests. Errors are those of ParseJson,
// CheckSchema and ManifestFromJson. When `capacity` (the bytes readable from
// text.data()) leaves 64 bytes after the text, the text is not copied.
Result<Manifest> ParseManifest(std::string_view text, size_t capacity = 0);
Json ManifestToJson(const Manifest& manifest);

// Integrity error ("root … does not match its chunks (computed …)") when the
// manifest carries a root that disagrees with its chunks; ok when it has none.
Status CheckRoot(const Manifest& manifest);

// ReadWholeFile + ParseManifest + CheckRoot: what every tool that receives a
// manifest does. `require_root` makes an unsealed manifest a BadInput.
Result<Manifest> ReadManifest(const std::string& path, bool require_root);

}  // namespace digm
