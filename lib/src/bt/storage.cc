#include "bt/storage.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

namespace digm::bt {
namespace {

// Runs `io` (pread or pwrite) until all `size` bytes at `offset` are done;
// false (errno set) on an error, or on a file shorter than the range.
template <typename Buf, typename Io>
bool AllAt(Io io, int fd, uint64_t offset, Buf* buf, size_t size) {
  while (size > 0) {
    ssize_t n = io(fd, buf, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    buf += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

bool PreadAll(int fd, uint64_t offset, char* buf, size_t size) {
  return AllAt(pread, fd, offset, buf, size);
}

bool PwriteAll(int fd, uint64_t offset, const char* buf, size_t size) {
  return AllAt(pwrite, fd, offset, buf, size);
}

class ChunkFiles final : public Storage {
 public:
  explicit ChunkFiles(TorrentLayout layout) : layout_(std::move(layout)) {}

  bool Read(uint64_t offset, char* buf, size_t size) override {
    if (offset + size > layout_.size) {
      errno = EINVAL;
      return false;
    }
    const auto& starts = layout_.offsets;
    size_t i = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), offset) -
                                   starts.begin()) -
               1;
    while (size > 0) {
      uint64_t at = offset - starts[i];
      size_t n = static_cast<size_t>(std::min<uint64_t>(size, layout_.sizes[i] - at));
      int fd = open(layout_.paths[i].c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return false;
      bool ok = PreadAll(fd, at, buf, n);
      int saved = errno;
      close(fd);
      if (!ok) {
        errno = saved;
        return false;
      }
      buf += n;
      size -= n;
      offset += n;
      ++i;
    }
    return true;
  }

  bool Write(uint64_t, const char*, size_t) override {
    errno = EROFS;
    return false;
  }

 private:
  TorrentLayout layout_;
};

// A download: libtorrent's 16 KiB blocks are copied into their piece's
// buffer on its network thread, not written one system call and two thread
// hand-offs each; the piece is hashed from memory, written to the file
// whole when settled, and read from memory by the fetch. The file holds
// what memory does not: pieces past the budget, and pieces released. Once a
// write to the file fails (a full disk), every read that needs the file
// fails with that error.
class Download final : public Storage {
 public:
  Download(int fd, size_t budget) : fd_(fd), budget_(budget) {}
  ~Download() override { close(fd_); }

  bool Read(uint64_t offset, char* buf, size_t size) override {
    std::unique_lock lock(mu_);
    while (size > 0) {
      // The held piece the range starts in, if any, and how much of the
      // range lies in it.
      auto it = pieces_.upper_bound(offset);
      const Piece* p = nullptr;
      if (it != pieces_.begin() &&
          offset < std::prev(it)->first + std::prev(it)->second.bytes->size)
        p = &std::prev(it)->second;
      size_t n;
      if (p) {
        uint64_t piece = std::prev(it)->first;
        size_t at = static_cast<size_t>(offset - piece);
        size_t block = at / kBlock;
        n = std::min(size, std::min((block + 1) * kBlock, p->bytes->size) - at);
        if (p->has[block]) {
          std::memcpy(buf, p->bytes->data.get() + at, n);
        } else if (!ReadFile(offset, buf, n)) {
          return false;
        }
      } else {
        n = it == pieces_.end() ? size
                                : static_cast<size_t>(std::min<uint64_t>(size, it->first - offset));
        if (!ReadFile(offset, buf, n)) return false;
      }
      buf += n;
      size -= n;
      offset += n;
    }
    return true;
  }

  bool Write(uint64_t offset, const char* buf, size_t size) override {
    std::lock_guard lock(mu_);
    return WriteFile(offset, buf, size);
  }

  bool TakeBlock(uint64_t piece, size_t piece_size, size_t start, const char* buf,
                 size_t size) override {
    // Whole blocks only (as libtorrent writes them), which `has` counts.
    if (start % kBlock != 0 || start + size > piece_size ||
        (size != kBlock && start + size != piece_size))
      return false;
    std::lock_guard lock(mu_);
    auto it = pieces_.find(piece);
    if (it == pieces_.end()) {
      if (held_ + piece_size > budget_) return false;
      Piece p;
      auto bytes = std::make_shared<PieceBytes>(
          PieceBytes{std::make_unique_for_overwrite<char[]>(piece_size), piece_size});
      p.bytes = std::move(bytes);
      p.has.assign((piece_size + kBlock - 1) / kBlock, false);
      it = pieces_.emplace(piece, std::move(p)).first;
      held_ += piece_size;
    } else if (it->second.settled) {
      Drop(it);  // written anew after it passed (never seen): the file takes it
      return false;
    }
    Piece& p = it->second;
    std::memcpy(p.bytes->data.get() + start, buf, size);
    for (size_t b = start / kBlock; b * kBlock < start + size; ++b) p.has[b] = true;
    return true;
  }

  std::shared_ptr<const PieceBytes> Settle(uint64_t piece) override {
    std::lock_guard lock(mu_);
    auto it = pieces_.find(piece);
    if (it == pieces_.end()) return nullptr;
    Piece& p = it->second;
    if (p.settled) return p.bytes;
    if (!std::all_of(p.has.begin(), p.has.end(), [](bool b) { return b; })) {
      // Some of it went to the file: the file gets the rest, and is read.
      Flush(piece, p);
      Drop(it);
      return nullptr;
    }
    // Hashed from memory even if the write fails: the failure is the file's.
    WriteFile(piece, p.bytes->data.get(), p.bytes->size);
    p.settled = true;
    return p.bytes;
  }

  void Clear(uint64_t piece) override {
    std::lock_guard lock(mu_);
    if (auto it = pieces_.find(piece); it != pieces_.end()) Drop(it);
  }

  void Release(uint64_t offset, uint64_t size) override {
    std::lock_guard lock(mu_);
    auto it = pieces_.upper_bound(offset);
    if (it != pieces_.begin()) --it;
    while (it != pieces_.end() && it->first < offset + size) {
      auto next = std::next(it);
      if (it->first + it->second.bytes->size > offset) {
        if (!it->second.settled) Flush(it->first, it->second);
        Drop(it);
      }
      it = next;
    }
  }

 private:
  static constexpr size_t kBlock = 16 << 10;  // libtorrent's block
  struct Piece {
    std::shared_ptr<PieceBytes> bytes;
    std::vector<bool> has;  // by block
    bool settled = false;   // in the file too
  };
  // Under mu_: the blocks memory has of an unsettled piece, to the file.
  void Flush(uint64_t piece, const Piece& p) {
    for (size_t b = 0; b < p.has.size(); ++b) {
      if (!p.has[b]) continue;
      size_t at = b * kBlock;
      WriteFile(piece + at, p.bytes->data.get() + at, std::min(kBlock, p.bytes->size - at));
    }
  }
  // Under mu_: the file's bytes, false (errno set) once a write has failed.
  bool WriteFile(uint64_t offset, const char* buf, size_t size) {
    if (!error_ && !PwriteAll(fd_, offset, buf, size)) error_ = errno ? errno : EIO;
    errno = error_;
    return !error_;
  }
  bool ReadFile(uint64_t offset, char* buf, size_t size) {
    errno = error_;
    return !error_ && PreadAll(fd_, offset, buf, size);
  }
  void Drop(std::map<uint64_t, Piece>::iterator it) {
    held_ -= it->second.bytes->size;
    pieces_.erase(it);
  }

  int fd_;
  size_t budget_;
  std::mutex mu_;
  int error_ = 0;                     // of the first write to the file that failed
  std::map<uint64_t, Piece> pieces_;  // by offset
  size_t held_ = 0;
};

}  // namespace

std::shared_ptr<Storage> ChunkFileStorage(TorrentLayout layout) {
  return std::make_shared<ChunkFiles>(std::move(layout));
}

std::shared_ptr<Storage> DownloadStorage(int fd, size_t budget) {
  return std::make_shared<Download>(fd, budget);
}

}  // namespace digm::bt
