// Splitting a stream into content-addressed chunks (SPEC §2): read in order,
// compressed, encrypted and hashed by a pool of worker threads, stored, and
// gathered back in order into a manifest. The calling thread reads and hashes
// the whole input (a serial step) and helps with chunks when it would wait;
// threads − 1 more do chunks only. Memory is bounded by the chunks in flight
// (2 × threads + 2), whatever the input size.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "digm/chunk_format.h"
#include "digm/chunk_store.h"
#include "digm/crypto.h"
#include "digm/manifest.h"
#include "digm/track_key.h"

namespace digm {

struct ChunkOptions {
  uint64_t chunk_size = kDefaultChunkSize;
  bool compress = false;
  int compress_level = 3;
  std::optional<TrackKey> key;        // encrypt when set
  uint64_t preview_chunks = 0;        // with key: chunks under a fresh preview key
  int threads = 1;                    // threads in all, the calling one included
  const ChunkStore* store = nullptr;  // where chunks go; none: only the manifest
  // Called from the calling thread as input is read; total is 0 when unknown.
  std::function<void(uint64_t bytes_read, uint64_t total)> progress;
};

// Chunks everything readable from `fd`. The manifest's size, chunks, source
// hash and encryption are filled in, and media holds what the first bytes
// tell (SniffMedia); a caller with a path probes for more. Store write errors
// stop the run.
Result<Manifest> ChunkStream(int fd, const ChunkOptions& options);

// Chunks the file at `path` ("-" is stdin): probes its media with TagLib when
// it is a regular file (stdin too, when redirected from one), turns
// `preview_seconds` into a preview chunk count (BadInput when the duration is
// unknown), names the source after the file, and flushes `options.store`.
Result<Manifest> ChunkFile(const std::string& path, ChunkOptions options,
                           double preview_seconds = 0);

// How many chunks cover the first `seconds` of a track of `duration` seconds
// and `size` bytes, assuming a constant byte rate; at most all of them.
uint64_t PreviewChunkCount(double seconds, double duration, uint64_t size, uint64_t chunk_size);

}  // namespace digm
