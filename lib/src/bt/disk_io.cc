#include "bt/disk_io.h"

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
#include <memory>
#include <mutex>
#include <vector>

#include "digm/hex.h"

namespace digm::bt {
namespace {

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
      if (auto held = slot->storage->Settle(slot->Offset(piece, 0))) return held;
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
