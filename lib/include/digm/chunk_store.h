// A content-addressed chunk directory: the bytes whose SHA-256 is H live at
// DIR/hh/H, where hh is H's first two hex digits, so `sha256sum` of a chunk
// file equals its name. Put is atomic (temp file, rename) and idempotent; all
// methods are safe to call from several threads at once.
#pragma once

#include <string>

#include "digm/hex.h"
#include "digm/status.h"

namespace digm {

class ChunkStore {
 public:
  struct Options {
    bool create = true;       // create DIR when missing
    bool fsync_each = false;  // fsync every chunk before its rename (nodes)
  };

  static Result<ChunkStore> Open(const std::string& dir, Options options);

  const std::string& dir() const { return dir_; }
  std::string PathFor(const Hash256& hash) const;

  // Stores `data` under `hash`. REQUIRES: hash == SHA-256(data); the caller has
  // just computed it. A chunk already present is left alone.
  Status Put(const Hash256& hash, std::span<const uint8_t> data) const;
  bool Has(const Hash256& hash) const;
  // Returns the stored bytes, NotFound as BadInput ("chunk … is not in 'DIR'").
  Result<Bytes> Get(const Hash256& hash) const;
  // Up to `length` bytes from `offset` (fewer at the end); BadInput when the
  // chunk is missing or shorter than `offset`.
  Result<Bytes> Read(const Hash256& hash, uint64_t offset, uint64_t length) const;
  // Flushes every chunk written so far to stable storage (one syncfs).
  Status Sync() const;

  // For a store used as a cache: marks the chunk used at `unix_ns` (its
  // mtime), for Trim. False when it is not here.
  bool Touch(const Hash256& hash, int64_t unix_ns) const;
  // Removes the chunks used longest ago (by mtime) until those left take at
  // most `max_bytes`; returns the bytes removed. Files not named as chunks
  // (a writer's temp file) are neither counted nor touched.
  Result<uint64_t> Trim(uint64_t max_bytes) const;

 private:
  ChunkStore(std::string dir, Options options) : dir_(std::move(dir)), options_(options) {}
  std::string dir_;
  Options options_;
};

}  // namespace digm
