// Turning stored chunks back into the track's plaintext: check a chunk's hash,
// decrypt it with the track or preview key, decompress it, check its length.
// A ChunkOpener keeps cipher contexts: one per thread.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "digm/chunk_store.h"
#include "digm/manifest.h"
#include "digm/track_key.h"

namespace digm {

class ChunkOpener {
 public:
  // `key` may be null for a clear track or one read only within its preview.
  // Returns Integrity when the key's id is not the manifest's.
  static Result<ChunkOpener> Create(const Manifest& manifest, const TrackKey* key);
  ChunkOpener(ChunkOpener&&) noexcept;
  ~ChunkOpener();

  // Returns chunk `index`'s plaintext from its stored bytes. Integrity errors
  // name the chunk: "chunk 7: hash mismatch", "chunk 7: authentication tag
  // mismatch (wrong key, or the chunk was altered)". Usage error when the
  // chunk needs the track key and none was given.
  // `hash_checked`: the caller has already compared SHA-256(stored) with the
  // manifest, so it is not computed twice.
  Result<Bytes> Open(uint64_t index, std::span<const uint8_t> stored, bool hash_checked = false);

 private:
  struct Impl;
  explicit ChunkOpener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Writes the whole plaintext to `fd` in order, reading chunks from `store`,
// and checks it against the manifest's source hash at the end.
Status AssembleTrack(const Manifest& manifest, const ChunkStore& store, const TrackKey* key,
                     int fd);

// The same into the file at `path`, which appears only when the whole track
// verified, or to stdout when `path` is "-".
Status AssembleTrackTo(const Manifest& manifest, const ChunkStore& store, const TrackKey* key,
                       const std::string& path);

}  // namespace digm
