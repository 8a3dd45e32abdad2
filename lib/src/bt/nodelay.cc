#include "bt/nodelay.h"

#include <libtorrent/peer_connection.hpp>
#include <libtorrent/peer_connection_handle.hpp>

namespace digm::bt {
namespace {

// Under libtorrent's network thread: TCP_NODELAY on the connection's socket
// when it is a plain TCP one (uTP has its own pacing); errors are ignored,
// the connection works either way.
void NoDelay(const lt::peer_connection_handle& pc) {
  auto conn = pc.native_handle();
  if (!conn) return;
  if (auto* tcp = boost::get<lt::tcp::socket>(&conn->get_socket())) {
    lt::error_code ec;
    tcp->set_option(lt::tcp::no_delay(true), ec);
  }
}

// Set again once the handshake is in: an outgoing socket may not have been
// connected when the connection was made.
class PeerNoDelay final : public lt::peer_plugin {
 public:
  explicit PeerNoDelay(lt::peer_connection_handle pc) : pc_(std::move(pc)) {}
  bool on_handshake(lt::span<char const>) override {
    NoDelay(pc_);
    return true;
  }

 private:
  lt::peer_connection_handle pc_;
};

class TorrentNoDelay final : public lt::torrent_plugin {
 public:
  std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& pc) override {
    NoDelay(pc);
    return std::make_shared<PeerNoDelay>(pc);
  }
};

class SessionNoDelay final : public lt::plugin {
 public:
  std::shared_ptr<lt::torrent_plugin> new_torrent(const lt::torrent_handle&,
                                                  lt::client_data_t) override {
    return std::make_shared<TorrentNoDelay>();
  }
};

}  // namespace

std::shared_ptr<lt::plugin> NoDelayPlugin() { return std::make_shared<SessionNoDelay>(); }

}  // namespace digm::bt
