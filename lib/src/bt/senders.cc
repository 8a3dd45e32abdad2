#include "bt/senders.h"

#include <algorithm>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/torrent_handle.hpp>

namespace digm::bt {

void PieceSenders::Add(int piece, std::string peer) {
  std::lock_guard lock(mu_);
  auto& peers = by_piece_[piece];
  if (std::find(peers.begin(), peers.end(), peer) == peers.end()) peers.push_back(std::move(peer));
}

std::string PieceSenders::Most(uint64_t offset, uint64_t size, uint64_t piece_length) {
  if (size == 0 || piece_length == 0) return "";
  std::map<std::string, uint64_t> bytes;
  std::lock_guard lock(mu_);
  auto first = static_cast<int>(offset / piece_length);
  auto last = static_cast<int>((offset + size - 1) / piece_length);
  for (auto it = by_piece_.lower_bound(first); it != by_piece_.end() && it->first <= last;) {
    uint64_t start = static_cast<uint64_t>(it->first) * piece_length;
    uint64_t end = start + piece_length;
    uint64_t overlap = std::min(end, offset + size) - std::max(start, offset);
    for (const auto& peer : it->second) bytes[peer] += overlap;
    it = start >= offset && end <= offset + size ? by_piece_.erase(it) : std::next(it);
  }
  std::string best;
  uint64_t most = 0;
  for (const auto& [peer, n] : bytes) {
    if (n > most) best = peer, most = n;
  }
  return best;
}

std::string EndpointText(const lt::tcp::endpoint& e) {
  std::string host = e.address().to_string();
  if (e.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(e.port());
}

namespace {

class PeerSenders final : public lt::peer_plugin {
 public:
  PeerSenders(std::shared_ptr<PieceSenders> book, std::string peer)
      : book_(std::move(book)), peer_(std::move(peer)) {}
  void on_piece_pass(lt::piece_index_t piece) override {
    book_->Add(static_cast<int>(piece), peer_);
  }

 private:
  std::shared_ptr<PieceSenders> book_;
  std::string peer_;
};

class TorrentSenders final : public lt::torrent_plugin {
 public:
  explicit TorrentSenders(std::shared_ptr<PieceSenders> book) : book_(std::move(book)) {}
  std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& pc) override {
    return std::make_shared<PeerSenders>(book_, EndpointText(pc.remote()));
  }

 private:
  std::shared_ptr<PieceSenders> book_;
};

class SessionSenders final : public lt::plugin {
 public:
  // Called while the torrent is added, which the caller's book outlives.
  std::shared_ptr<lt::torrent_plugin> new_torrent(const lt::torrent_handle&,
                                                  lt::client_data_t data) override {
    auto* book = data.get<PieceSenders>();
    if (!book) return nullptr;
    return std::make_shared<TorrentSenders>(book->shared_from_this());
  }
};

}  // namespace

std::shared_ptr<lt::plugin> SendersPlugin() { return std::make_shared<SessionSenders>(); }

}  // namespace digm::bt
