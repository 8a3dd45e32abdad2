// A running storage node (SPEC §5): its store, its HTTP server, and the loop
// that gossips with peers and keeps every pinned track at its replica count.
// Also the publisher's side: a signed pin and the uploads. RunSeed blocks
// until SIGTERM or SIGINT; everything else is a plain call.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "digm/channel.h"
#include "digm/clock.h"
#include "digm/crypto.h"
#include "digm/dht.h"
#include "digm/http_server.h"
#include "digm/manifest.h"
#include "digm/wallet.h"

namespace digm {

struct SeedOptions {
  std::string data_dir;
  std::string listen = "127.0.0.1:7070";
  std::string url;                     // advertised; default http://LISTEN
  std::vector<std::string> bootstrap;  // --peer URLs
  std::vector<Address> allowed_publishers;
  ServerLimits limits;
  int gossip_interval_s = 30;
  int peer_ttl_s = 300;
  size_t fanout = 3;  // peers asked per gossip round, besides bootstrap ones
  // The mainline DHT: announce every track held complete (state in DATA/dht.state).
  bool dht = false;
  DhtOptions dht_options;
  int dht_announce_interval_s = 15 * 60;
  // BitTorrent (SPEC §11): seed every complete track's torrent from the chunk
  // store, on the DHT's socket (with --dht) and at each of bt_listen.
  bool bittorrent = false;
  std::vector<std::string> bt_listen;
  int stream_stale_after_s = 120;  // a live stream unheard this long leaves GET /streams
  // Charging per byte (SPEC §12), with its credit: vouchers kept in DATA/vouchers.db.
  std::optional<Price> price;
  // With a price: whether a channel holds what its payer signed for (see
  // SeedApi::Options::check_channel); without it no channel is taken.
  std::function<Status(const Channel&)> check_channel;
  // Chunk bytes held at most (0: as many as the disk takes beside its reserve).
  uint64_t max_storage = 0;
  Clock clock = UnixNow;              // the node's "now"
  RandomSource random = RandomBytes;  // seeds the choice of gossip partners
};

// Creates DATA, its wallet (kept if present) and index; returns the identity.
Result<Wallet> InitSeed(const std::string& data_dir);

// Serves until a signal; returns 0 after SIGTERM, 130 after SIGINT. `log`
// receives one line per notable event (start, repair, replication).
Result<int> RunSeed(const SeedOptions& options, const std::function<void(const std::string&)>& log);

// The set of nodes that should hold `root` with `replicas` copies: the origin
// (the node the publisher chose) and the first replicas−1 of the other live
// nodes by rendezvous hashing; without a live origin, the first `replicas`.
std::vector<std::string> ReplicaSet(const std::string& root, const std::string& origin,
                                    std::vector<std::string> live, size_t replicas);

struct PublishResult {
  std::string root;
  uint64_t uploaded = 0, already = 0;
};

// Signs a digm.pin/1 for the manifest with `wallet`, sends the manifest and
// pin to `node`, then uploads the chunks it lacks from `from_dir`.
Result<PublishResult> Publish(const Manifest& manifest, const std::string& from_dir,
                              const std::string& node, const Wallet& wallet, uint64_t replicas,
                              uint64_t duration_days);

// digm-seed's offline commands over a data folder, each with its one document:
// add imports a track and its chunks (digm.added/1); publish signs a pin
// with the wallet at `wallet_path` and sends the track to `node`
// (digm.published/1); gc removes tracks whose pins all expired (digm.gc/1);
// peers lists the peers seen in the last 5 minutes, each record with the
// roots it holds.
Result<Json> AddTrackOffline(const std::string& data_dir, const std::string& manifest_path,
                             const std::string& from_dir);
Result<Json> PublishTrack(const std::string& manifest_path, const std::string& from_dir,
                          const std::string& node, const std::string& wallet_path,
                          uint64_t replicas, uint64_t duration_days);
Result<Json> CollectGarbage(const std::string& data_dir, int64_t now);
Result<Json> PeerList(const std::string& data_dir, int64_t now);
// The best voucher of each channel the node was paid through (SPEC §12),
// for digm-pay channel redeem, each after its digm.channel/1 when
// `with_channels` (so a payee's own ledger can learn channels opened on a
// chain by others); BadInput when the node never charged.
Result<std::vector<Json>> BestVouchers(const std::string& data_dir, bool with_channels = false);

}  // namespace digm
