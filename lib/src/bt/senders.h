// Who sent each piece of a download: the peers that took part in a piece
// that passed its hash check, as libtorrent tells a peer plugin on its
// network thread. A block_finished alert for every 16 KiB block told the
// same, at the cost of a wake-up of the alert thread per block (over half
// of a swarm download's thread switches). Only the BitTorrent translation
// units include this.
#pragma once

#include <libtorrent/extensions.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace digm::bt {

class PieceSenders : public std::enable_shared_from_this<PieceSenders> {
 public:
  void Add(int piece, std::string peer);
  // The peer ("IP:PORT") that took part in the pieces covering most of
  // [offset, offset + size) of a torrent of `piece_length`; empty: unknown.
  // Pieces wholly inside the range are forgotten.
  std::string Most(uint64_t offset, uint64_t size, uint64_t piece_length);

 private:
  std::mutex mu_;
  std::map<int, std::vector<std::string>> by_piece_;
};

// "IP:PORT", with brackets around an IPv6 address.
std::string EndpointText(const lt::tcp::endpoint& e);

// A session plugin that fills the PieceSenders a torrent was added with
// (add_torrent_params::userdata); torrents added without one are left alone.
std::shared_ptr<lt::plugin> SendersPlugin();

}  // namespace digm::bt
