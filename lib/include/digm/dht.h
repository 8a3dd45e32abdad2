// The process's one libtorrent session: discovery on the BitTorrent
// mainline DHT (SPEC §5, §6) and, when asked, BitTorrent itself (SPEC §11):
// seeding tracks' torrents from the chunk store, and downloading one from a
// swarm. No local service discovery, no UPnP or NAT-PMP unless asked. A track is announced under
// infohash = the first 20 bytes of its root, with the HTTP port of the node
// that serves it; a lookup turns what the DHT returns into node URLs.
// libtorrent stays behind this header. A Dht is safe to use from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "digm/hex.h"
#include "digm/torrent.h"

namespace digm {

struct DhtOptions {
  // UDP address and port; port 0: any free one. Empty: DefaultDhtListen of
  // the bootstrap nodes and default_port.
  std::string listen;
  int default_port = 6881;
  // HOST:PORT routers and first nodes. Empty: the public routers. Given, they
  // replace the public routers entirely and are also added as DHT nodes, so a
  // private DHT can be made of our own nodes. {"none"}: no bootstrap at all
  // (a node rejoining from its saved state).
  std::vector<std::string> bootstrap;
  std::string state_file;     // the DHT's state (its routing table), kept across runs
  int peer_ttl_s = 45 * 60;   // how long this node keeps others' announcements
  bool port_mapping = false;  // UPnP and NAT-PMP
  // A short-lived client that only looks things up (BEP 43): others answer it
  // but keep it out of their routing tables, where it would only leave a dead
  // entry behind that slows their lookups and announcements.
  bool read_only = false;
  // When set, libtorrent's DHT log, one line per call (from the DHT's thread).
  std::function<void(std::string_view)> log;
  bool dht = true;  // false: BitTorrent alone (peers from magnet links)
  // BitTorrent peers on TCP and uTP: at the DHT's address, and at each of
  // these HOST:PORT too (with neither: 0.0.0.0:6881 and 127.0.0.1:6881).
  // Off: no peer connections at all.
  bool bittorrent = false;
  std::vector<std::string> bt_listen;
  // libtorrent's tick, on which it connects peers and measures rates (its
  // own default is 500 ms). A download of seconds wants it short.
  int tick_ms = 100;
  // Whether the session may make TLS connections of its own, to HTTPS
  // trackers (web seeds are never its own). libtorrent loads the system's
  // CA certificates when a session starts, about 40 ms of CPU that delay a
  // fetch; false skips that, and an HTTPS tracker then fails validation.
  // Set false only while no other thread of the process reads its
  // environment: the load is skipped through it.
  bool https_trackers = true;
};

// A download of one track's torrent from BitTorrent peers, asked for and read
// in byte ranges of the track's stored bytes (the fetcher asks for chunks).
// Every piece is downloaded, the ranges asked for first, unless it came
// from elsewhere (Done).
// Pieces pass libtorrent's hash checks before they count as had; they are
// kept in an unlinked temporary file, and uploaded to others meanwhile.
// Thread-safe.
class Swarm {
 public:
  ~Swarm();  // leaves the swarm
  // Gives the pieces that cover the range the top priority.
  void Want(uint64_t offset, uint64_t size);
  // The range came from elsewhere: the pieces wholly inside it are not downloaded.
  void Done(uint64_t offset, uint64_t size);
  bool Has(uint64_t offset, uint64_t size);
  Result<std::string> Read(uint64_t offset, uint64_t size);
  // The peer ("IP:PORT") that took part in the pieces covering most of the
  // range (told once each piece passed its hash check); empty: unknown.
  std::string Sender(uint64_t offset, uint64_t size);
  size_t Peers();  // connected
  // Not ok once the torrent proves not to be the track (its file's size).
  Status status();
  // Peers libtorrent banned for corrupt pieces, with why.
  std::vector<std::pair<std::string, std::string>> Banned();
  // Called on libtorrent's alert thread each time a piece is in (or one is
  // banned), so a caller waiting on other sockets can wake up. It runs under
  // the swarm's lock, so it must be quick and not call the swarm; once
  // OnPiece(nullptr) returns it is not called again.
  void OnPiece(std::function<void()> wake);

  struct State;

 private:
  friend class Dht;
  explicit Swarm(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// The address to listen at when none is given: every address (0.0.0.0), or
// the loopback one when every bootstrap node is on loopback. libtorrent binds
// an unspecified address to each network device but the loopback one, so such
// a socket could not reach a private DHT on 127.0.0.1.
std::string DefaultDhtListen(const std::vector<std::string>& bootstrap, int port);

// BadInput naming the first listen address or bootstrap node that is not HOST:PORT.
Status CheckDhtOptions(const DhtOptions& options);

class Dht {
 public:
  // Network error when the address cannot be bound; BadInput for a bad
  // HOST:PORT. Loads the saved state when there is one.
  static Result<std::unique_ptr<Dht>> Start(const DhtOptions& options);
  ~Dht();  // saves the state (when a state file was given)

  std::string endpoint() const;  // "IP:PORT" it listens at
  // With BitTorrent: the "IP:PORT"s its TCP sockets listen at when it started
  // (a port of 0 is the one the system chose).
  std::vector<std::string> bt_endpoints() const;
  size_t saved_nodes() const;  // nodes read from the state file, tried first
  size_t RoutingTableSize();

  void Announce(const Hash256& root, uint16_t http_port);
  // The nodes announced for `root`, as "http://IP:PORT", looking for up to
  // `timeout`; after the first answers it collects others for as long again
  // as the first took, at least 0.1 s and at most `settle`.
  // `first_after` (when given and something was found): how long the first took.
  std::vector<std::string> FindPeers(
      const Hash256& root, std::chrono::milliseconds timeout,
      std::chrono::milliseconds settle = std::chrono::milliseconds(1000),
      std::chrono::milliseconds* first_after = nullptr);
  Status SaveState();

  // BitTorrent (with options.bittorrent). Seeds `torrent` (a track's, see
  // digm/torrent.h) from the chunk files of `layout`, hashing each piece
  // before its first upload; a torrent seeded already is left as it is.
  // BadInput for bytes that are not a torrent of `layout`.
  Status Seed(const std::string& torrent, const TorrentLayout& layout);
  void StopSeeding(const std::string& btih);
  std::vector<std::string> Seeding();  // btih of each
  // Announces the torrent seeded on the DHT now (libtorrent repeats it
  // every 15 minutes, but its first try finds no nodes in a DHT not yet joined).
  void AnnounceTorrent(const std::string& btih);
  // Joins the swarm of `source` for a track of `size` stored bytes; the
  // temporary file goes in `temp_dir`. BadInput for a bad link or torrent.
  Result<std::unique_ptr<Swarm>> Join(const TorrentSource& source, uint64_t size,
                                      const std::string& temp_dir);

  struct Impl;

 private:
  explicit Dht(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace digm
