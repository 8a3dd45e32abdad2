// Where a torrent's bytes are, for digm's disk I/O (bt/disk_io.h): a node's
// chunk files, or a download's memory and temporary file. Free of
// libtorrent, so tests can use it alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "digm/torrent.h"

namespace digm::bt {

// A piece's bytes.
struct PieceBytes {
  std::unique_ptr<char[]> data;
  size_t size;
};

// A torrent's bytes: whole reads and writes at file offsets. Thread-safe.
// Pieces are named by their offset.
class Storage {
 public:
  virtual ~Storage() = default;
  // False (errno set) when the bytes cannot all be read or written.
  virtual bool Read(uint64_t offset, char* buf, size_t size) = 0;
  virtual bool Write(uint64_t offset, const char* buf, size_t size) = 0;

  // A storage that gathers pieces in memory takes the block at `start` of
  // the piece at `piece` (of `piece_size` bytes) at once, on the caller's
  // thread, and is true; false: the caller writes it.
  virtual bool TakeBlock(uint64_t /*piece*/, size_t /*piece_size*/, size_t /*start*/,
                         const char* /*buf*/, size_t /*size*/) {
    return false;
  }
  // Puts every byte written to the piece in storage, and returns the piece
  // when memory holds it whole; null: read it.
  virtual std::shared_ptr<const PieceBytes> Settle(uint64_t /*piece*/) { return nullptr; }
  // The piece failed its hash: what memory holds of it is forgotten.
  virtual void Clear(uint64_t /*piece*/) {}
  // The bytes in [offset, offset + size) are not wanted from memory again.
  virtual void Release(uint64_t /*offset*/, uint64_t /*size*/) {}
};

// Read-only, over the chunk files of `layout`; a write fails with EROFS.
std::shared_ptr<Storage> ChunkFileStorage(TorrentLayout layout);
// A download's, over an open file it takes over (and closes): pieces are
// gathered in memory (up to a budget; past it, blocks go to the file),
// written to the file whole once settled, and held until released.
std::shared_ptr<Storage> DownloadStorage(int fd, size_t budget = 32 << 20);

}  // namespace digm::bt
