#include "bt/disk_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <libtorrent/disk_buffer_holder.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/io_context.hpp>
#include <libtorrent/storage_defs.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "digm/hex.h"

namespace digm::bt {
namespace {

bool PreadAll(int fd, uint64_t offset, char* buf, size_t size) {
  while (size > 0) {
    ssize_t n = pread(fd, buf, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;  // shorter than the layout says
      return false;
    }
    buf += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
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

bool PwriteAll(int fd, uint64_t offset, const char* buf, size_t size) {
  while (size > 0) {
    ssize_t n = pwrite(fd, buf, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

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

  std::shared_ptr<const PieceBytes> Settle(uint64_t piece, size_t) override {
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

lt::storage_error Failed(lt::operation_t op) {
  return lt::storage_error(lt::error_code(errno ? errno : EIO, lt::system_category()), op);
}

using Strand = boost::asio::strand<boost::asio::thread_pool::executor_type>;

// One torrent's storage, held by every job on it so a torrent removed while
// jobs run stays valid until they end. Its jobs run in the order they came,
// one at a time: libtorrent asks for a piece's hash once it has asked for
// the piece's writes, not once they are done.
struct Slot {
  Slot(Strand s, uint64_t g) : strand(std::move(s)), gen(g) {}
  Strand strand;
  uint64_t gen;  // never reused, unlike storage indices: names its cached pieces
  std::shared_ptr<Storage> storage;
  std::shared_ptr<void> torrent;  // keeps `files` alive
  const lt::file_storage* files = nullptr;
  uint64_t Offset(lt::piece_index_t piece, int start) const {
    return static_cast<uint64_t>(static_cast<int>(piece)) *
               static_cast<uint64_t>(files->piece_length()) +
           static_cast<uint64_t>(start);
  }
};

// The pieces last read or hashed whole, of every torrent, up to a budget,
// so a peer's block requests for a piece, which come one after another, are
// answered from memory on the network thread: a read and two thread
// hand-offs per 16 KiB block were most of what seeding cost. A piece written
// or cleared is forgotten, and a torrent's pieces when it is removed.
class PieceCache {
 public:
  using Piece = std::shared_ptr<const PieceBytes>;

  Piece Get(uint64_t slot, lt::piece_index_t piece) {
    std::lock_guard lock(mu_);
    for (auto it = pieces_.rbegin(); it != pieces_.rend(); ++it) {
      if (it->slot == slot && it->piece == piece) return it->bytes;
    }
    return nullptr;
  }
  void Keep(uint64_t slot, lt::piece_index_t piece, Piece bytes) {
    if (bytes->size > kBudget / 4) return;  // pieces this large are read as asked
    std::lock_guard lock(mu_);
    Drop([&](const Entry& e) { return e.slot == slot && e.piece == piece; });
    while (!pieces_.empty() && held_ + bytes->size > kBudget) {
      held_ -= pieces_.front().bytes->size;
      pieces_.pop_front();
    }
    held_ += bytes->size;
    pieces_.push_back({slot, piece, std::move(bytes)});
  }
  void Forget(uint64_t slot, lt::piece_index_t piece) {
    std::lock_guard lock(mu_);
    Drop([&](const Entry& e) { return e.slot == slot && e.piece == piece; });
  }
  void ForgetAll(uint64_t slot) {
    std::lock_guard lock(mu_);
    Drop([&](const Entry& e) { return e.slot == slot; });
  }

 private:
  static constexpr size_t kBudget = 16 << 20;
  struct Entry {
    uint64_t slot;
    lt::piece_index_t piece;
    Piece bytes;
  };
  template <typename F>
  void Drop(F match) {  // under mu_
    for (auto it = pieces_.begin(); it != pieces_.end();) {
      if (match(*it)) {
        held_ -= it->bytes->size;
        it = pieces_.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::mutex mu_;
  std::deque<Entry> pieces_;  // oldest first
  size_t held_ = 0;
};

class DiskIo final : public lt::disk_interface, public lt::buffer_allocator_interface {
 public:
  DiskIo(lt::io_context& ioc, StorageFinder find) : ioc_(ioc), find_(std::move(find)) {}
  ~DiskIo() override { pool_.join(); }

  lt::storage_holder new_torrent(const lt::storage_params& p,
                                 const std::shared_ptr<void>& torrent) override {
    std::lock_guard lock(mu_);
    lt::storage_index_t idx{static_cast<std::uint32_t>(slots_.size())};
    if (!free_.empty()) {
      idx = free_.back();
      free_.pop_back();
    } else {
      slots_.emplace_back();
    }
    auto slot = std::make_shared<Slot>(boost::asio::make_strand(pool_), ++slots_made_);
    slot->storage = find_ ? find_(p) : nullptr;
    slot->torrent = torrent;
    slot->files = &p.files;
    slots_[static_cast<std::uint32_t>(idx)] = slot;
    return lt::storage_holder(idx, *this);
  }

  void remove_torrent(lt::storage_index_t idx) override {
    std::lock_guard lock(mu_);
    auto& slot = slots_[static_cast<std::uint32_t>(idx)];
    if (slot) cache_.ForgetAll(slot->gen);  // a job still running may keep one: never asked for
    slot.reset();
    free_.push_back(idx);
  }

  void async_read(lt::storage_index_t idx, const lt::peer_request& r,
                  std::function<void(lt::disk_buffer_holder, const lt::storage_error&)> handler,
                  lt::disk_job_flags_t) override {
    auto slot = Get(idx);
    if (slot) {
      if (auto piece = cache_.Get(slot->gen, r.piece)) return Answer(*piece, r, std::move(handler));
    }
    boost::asio::post(
        On(slot), [work = Work(), this, slot, r, handler = std::move(handler)]() mutable {
          // The whole piece, kept for the blocks asked next; one that cannot
          // be read whole is read block by block, for the error.
          PieceCache::Piece piece = slot ? cache_.Get(slot->gen, r.piece) : nullptr;
          if (!piece) piece = ReadPiece(slot, r.piece);
          if (piece) return Answer(*piece, r, std::move(handler));
          char* buf = static_cast<char*>(std::malloc(static_cast<size_t>(std::max(r.length, 1))));
          lt::storage_error e;
          if (!buf || !ReadAt(slot, r.piece, r.start, buf, static_cast<size_t>(r.length)))
            e = Failed(lt::operation_t::file_read);
          boost::asio::post(ioc_, [this, buf, r, e, handler = std::move(handler)] {
            handler(lt::disk_buffer_holder(*this, buf, e ? 0 : r.length), e);
          });
        });
  }

  bool async_write(lt::storage_index_t idx, const lt::peer_request& r, const char* buf,
                   std::shared_ptr<lt::disk_observer>,
                   std::function<void(const lt::storage_error&)> handler,
                   lt::disk_job_flags_t) override {
    auto slot = Get(idx);
    if (slot) cache_.Forget(slot->gen, r.piece);
    if (slot && slot->storage && r.start >= 0 && r.length > 0 &&
        slot->storage->TakeBlock(
            slot->Offset(r.piece, 0), static_cast<size_t>(slot->files->piece_size(r.piece)),
            static_cast<size_t>(r.start), buf, static_cast<size_t>(r.length))) {
      Post([handler = std::move(handler)] { handler(lt::storage_error()); });
      return false;
    }
    std::string copy(buf, static_cast<size_t>(r.length));
    boost::asio::post(On(slot), [work = Work(), this, slot, r, copy = std::move(copy),
                                 handler = std::move(handler)]() mutable {
      lt::storage_error e;
      if (!slot || !slot->storage ||
          !slot->storage->Write(slot->Offset(r.piece, r.start), copy.data(), copy.size())) {
        e = Failed(lt::operation_t::file_write);
      }
      boost::asio::post(ioc_, [e, handler = std::move(handler)] { handler(e); });
    });
    return false;  // never a full queue: the copies are bounded by libtorrent's requests
  }

  void async_hash(
      lt::storage_index_t idx, lt::piece_index_t piece, lt::span<lt::sha256_hash> v2,
      lt::disk_job_flags_t,
      std::function<void(lt::piece_index_t, const lt::sha1_hash&, const lt::storage_error&)>
          handler) override {
    auto slot = Get(idx);
    boost::asio::post(
        On(slot), [work = Work(), this, slot, piece, v2, handler = std::move(handler)]() mutable {
          lt::storage_error e;
          lt::sha1_hash h1;
          // Kept for the reads that follow: a seed hashes each piece before its
          // first upload. (One that fails its hash is cleared, and forgotten.)
          if (auto bytes = ReadPiece(slot, piece)) {
            const char* buf = bytes->data.get();
            h1 = lt::hasher(buf, static_cast<int>(bytes->size)).final();
            int size2 = slot->files->piece_size2(piece);
            for (int k = 0; !v2.empty() && k < slot->files->blocks_in_piece2(piece); ++k) {
              int at = k * lt::default_block_size;
              v2[k] = lt::hasher256(buf + at, std::min(lt::default_block_size, size2 - at)).final();
            }
          } else {
            e = Failed(lt::operation_t::file_read);
          }
          boost::asio::post(
              ioc_, [piece, h1, e, handler = std::move(handler)] { handler(piece, h1, e); });
        });
  }

  void async_hash2(
      lt::storage_index_t idx, lt::piece_index_t piece, int offset, lt::disk_job_flags_t,
      std::function<void(lt::piece_index_t, const lt::sha256_hash&, const lt::storage_error&)>
          handler) override {
    auto slot = Get(idx);
    boost::asio::post(On(slot), [work = Work(), this, slot, piece, offset,
                                 handler = std::move(handler)]() mutable {
      lt::storage_error e;
      lt::sha256_hash h;
      int n = slot ? std::min(lt::default_block_size, slot->files->piece_size2(piece) - offset) : 0;
      std::vector<char> buf(static_cast<size_t>(std::max(n, 0)));
      if (n > 0 && ReadAt(slot, piece, offset, buf.data(), buf.size())) {
        h = lt::hasher256(buf.data(), n).final();
      } else {
        e = Failed(lt::operation_t::file_read);
      }
      boost::asio::post(ioc_,
                        [piece, h, e, handler = std::move(handler)] { handler(piece, h, e); });
    });
  }

  void async_move_storage(
      lt::storage_index_t, std::string p, lt::move_flags_t,
      std::function<void(lt::status_t, const std::string&, const lt::storage_error&)> handler)
      override {
    Post([p, handler = std::move(handler)] {
      handler(lt::status_t::fatal_disk_error, p,
              lt::storage_error(lt::error_code(ENOTSUP, lt::system_category()),
                                lt::operation_t::file_rename));
    });
  }

  void async_release_files(lt::storage_index_t, std::function<void()> handler) override {
    if (handler) Post(std::move(handler));
  }

  // Nothing to check: a node's chunk files are the store's (fsck checks
  // them) and its torrents are added in seed mode, which hashes each piece
  // before its first upload; a download starts from nothing.
  void async_check_files(
      lt::storage_index_t, const lt::add_torrent_params*,
      lt::aux::vector<std::string, lt::file_index_t>,
      std::function<void(lt::status_t, const lt::storage_error&)> handler) override {
    Post([handler = std::move(handler)] { handler(lt::status_t::no_error, lt::storage_error()); });
  }

  void async_stop_torrent(lt::storage_index_t, std::function<void()> handler) override {
    if (handler) Post(std::move(handler));
  }

  void async_rename_file(
      lt::storage_index_t, lt::file_index_t index, std::string name,
      std::function<void(const std::string&, lt::file_index_t, const lt::storage_error&)> handler)
      override {
    Post(
        [index, name, handler = std::move(handler)] { handler(name, index, lt::storage_error()); });
  }

  void async_delete_files(lt::storage_index_t, lt::remove_flags_t,
                          std::function<void(const lt::storage_error&)> handler) override {
    Post([handler = std::move(handler)] { handler(lt::storage_error()); });  // never the store
  }

  void async_set_file_priority(
      lt::storage_index_t, lt::aux::vector<lt::download_priority_t, lt::file_index_t> prio,
      std::function<void(const lt::storage_error&,
                         lt::aux::vector<lt::download_priority_t, lt::file_index_t>)>
          handler) override {
    Post([prio = std::move(prio), handler = std::move(handler)]() mutable {
      handler(lt::storage_error(), std::move(prio));
    });
  }

  void async_clear_piece(lt::storage_index_t idx, lt::piece_index_t index,
                         std::function<void(lt::piece_index_t)> handler) override {
    if (auto slot = Get(idx)) {
      cache_.Forget(slot->gen, index);
      if (slot->storage) slot->storage->Clear(slot->Offset(index, 0));
    }
    Post([index, handler = std::move(handler)] { handler(index); });
  }

  void update_stats_counters(lt::counters&) const override {}
  std::vector<lt::open_file_state> get_status(lt::storage_index_t) const override { return {}; }
  void abort(bool wait) override {
    if (wait) pool_.join();
  }
  void submit_jobs() override {}
  void settings_updated() override {}

  void free_disk_buffer(char* buf) override { std::free(buf); }

 private:
  // The whole piece read from storage, and kept; null when it cannot be read.
  PieceCache::Piece ReadPiece(const std::shared_ptr<Slot>& slot, lt::piece_index_t piece) {
    if (!slot) return nullptr;
    auto n = static_cast<size_t>(slot->files->piece_size(piece));
    if (slot->storage) {
      // A download's piece in memory is kept by its storage until taken.
      if (auto held = slot->storage->Settle(slot->Offset(piece, 0), n)) return held;
    }
    auto bytes = std::make_shared<PieceBytes>(
        PieceBytes{std::make_unique_for_overwrite<char[]>(std::max<size_t>(n, 1)), n});
    if (!ReadAt(slot, piece, 0, bytes->data.get(), n)) return nullptr;
    cache_.Keep(slot->gen, piece, bytes);
    return bytes;
  }

  // Completes a read of block `r` from its piece's bytes, on the network
  // thread (after the caller returns, as libtorrent expects).
  void Answer(const PieceBytes& piece, const lt::peer_request& r,
              std::function<void(lt::disk_buffer_holder, const lt::storage_error&)> handler) {
    lt::storage_error e;
    char* buf = nullptr;
    if (r.start < 0 || r.length < 0 ||
        static_cast<size_t>(r.start) + static_cast<size_t>(r.length) > piece.size) {
      e = lt::storage_error(lt::error_code(EINVAL, lt::system_category()),
                            lt::operation_t::file_read);
    } else {
      buf = static_cast<char*>(std::malloc(static_cast<size_t>(std::max(r.length, 1))));
      if (buf)
        std::memcpy(buf, piece.data.get() + r.start, static_cast<size_t>(r.length));
      else
        e = lt::storage_error(lt::error_code(ENOMEM, lt::system_category()),
                              lt::operation_t::alloc_cache_piece);
    }
    Post([this, buf, r, e, handler = std::move(handler)] {
      handler(lt::disk_buffer_holder(*this, buf, e ? 0 : r.length), e);
    });
  }

  // False when the torrent has no storage or the bytes cannot all be read.
  static bool ReadAt(const std::shared_ptr<Slot>& slot, lt::piece_index_t piece, int start,
                     char* buf, size_t size) {
    return slot && slot->storage && slot->storage->Read(slot->Offset(piece, start), buf, size);
  }
  // Where a job on `slot` runs.
  Strand& On(const std::shared_ptr<Slot>& slot) { return slot ? slot->strand : no_slot_; }

  std::shared_ptr<Slot> Get(lt::storage_index_t idx) {
    std::lock_guard lock(mu_);
    auto i = static_cast<std::uint32_t>(idx);
    return i < slots_.size() ? slots_[i] : nullptr;
  }
  // Keeps the session's io_context running while a job is on the pool (a
  // caller such as set_piece_hashes runs it only while it has work).
  boost::asio::executor_work_guard<lt::io_context::executor_type> Work() {
    return boost::asio::make_work_guard(ioc_);
  }
  // Completes on the network thread, after the caller returns.
  template <typename F>
  void Post(F&& f) {
    boost::asio::post(ioc_, std::forward<F>(f));
  }

  lt::io_context& ioc_;
  StorageFinder find_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Slot>> slots_;
  std::vector<lt::storage_index_t> free_;
  uint64_t slots_made_ = 0;
  PieceCache cache_;
  boost::asio::thread_pool pool_{2};
  Strand no_slot_{boost::asio::make_strand(pool_)};
};

}  // namespace

std::shared_ptr<Storage> ChunkFileStorage(TorrentLayout layout) {
  return std::make_shared<ChunkFiles>(std::move(layout));
}

std::shared_ptr<Storage> DownloadStorage(int fd, size_t budget) {
  return std::make_shared<Download>(fd, budget);
}

lt::disk_io_constructor_type DiskIoConstructor(StorageFinder find) {
  return [find = std::move(find)](lt::io_context& ioc, const lt::settings_interface&,
                                  lt::counters&) -> std::unique_ptr<lt::disk_interface> {
    return std::make_unique<DiskIo>(ioc, find);
  };
}

std::string Btih(const lt::info_hash_t& h) {
  return h.has_v1() ? HexEncode(std::span(reinterpret_cast<const uint8_t*>(h.v1.data()), 20)) : "";
}

std::string Btmh(const lt::info_hash_t& h) {
  return h.has_v2()
             ? "1220" + HexEncode(std::span(reinterpret_cast<const uint8_t*>(h.v2.data()), 32))
             : "";
}

int RealFiles(const lt::torrent_info& ti) {
  int n = 0;
  for (auto f : ti.files().file_range())
    if (!ti.files().pad_file_at(f)) ++n;
  return n;
}

}  // namespace digm::bt
