#include "digm/seed_node.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "digm/chunk_store.h"
#include "digm/file.h"
#include "digm/http_client.h"
#include "digm/node_client.h"
#include "digm/node_store.h"
#include "digm/node_torrent.h"
#include "digm/pin.h"
#include "digm/rendezvous.h"
#include "digm/seed_api.h"
#include "digm/stream_api.h"
#include "digm/stream_store.h"

namespace digm {
namespace {

// Runs `round` on a thread of its own until destroyed, waiting between rounds
// as long as each round asks; destruction wakes the wait and joins. Declare it
// last in its owner, so it stops before the members its rounds use go away.
class Periodic {
 public:
  explicit Periodic(std::function<std::chrono::milliseconds()> round)
      : round_(std::move(round)), thread_([this] { Loop(); }) {}
  ~Periodic() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      std::chrono::milliseconds wait;
      try {
        wait = round_();
      } catch (const std::exception&) {
        // A round that failed in a way its code did not foresee is dropped;
        // the next one runs. (Rounds report what they foresee themselves.)
        wait = std::chrono::seconds(1);
      }
      lock.lock();
      cv_.wait_for(lock, wait, [this] { return stop_; });
    }
  }

  std::function<std::chrono::milliseconds()> round_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

uint32_t Seed(const RandomSource& random) {
  uint32_t seed = 0;
  random(std::span(reinterpret_cast<uint8_t*>(&seed), sizeof seed));
  return seed;
}

// Gossip and replication, every --gossip-interval.
class Maintainer {
 public:
  Maintainer(SeedApi& api, const SeedOptions& o, const std::function<void(const std::string&)>& log)
      : api_(api), o_(o), log_(log) {}

 private:
  std::chrono::milliseconds Round() {
    WatchRoom();
    Gossip();
    Replicate();
    return std::chrono::seconds(o_.gossip_interval_s);
  }

  void Gossip() {
    NodeStore& store = api_.store();
    int64_t now = o_.clock();
    store.ForgetPeersBefore(now - o_.peer_ttl_s);
    std::vector<std::string> targets;
    for (const auto& b : o_.bootstrap) targets.push_back(BaseUrl(b));
    auto peers = store.ListPeers(now - o_.peer_ttl_s);
    std::shuffle(peers.begin(), peers.end(), rng_);
    for (size_t i = 0; i < peers.size() && i < o_.fanout; ++i)
      targets.push_back(BaseUrl(peers[i].url));
    std::sort(targets.begin(), targets.end());
    targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
    StreamApi* streams = api_.options().streams;
    Json ask{{"peer", api_.SelfRecordWithTracks()}};
    if (streams) ask["streams"] = streams->Gossip();
    std::string body = DumpDocument(ask);
    for (const auto& url : targets) {
      if (url == BaseUrl(api_.options().url)) continue;
      auto r =
          HttpCall("POST", url + "/discover", body,
                   {.timeout_ms = 5000, .connect_timeout_ms = 2000, .max_body = kMaxGossipReply});
      if (!r.ok() || r->status != 200) continue;
      auto reply = ParseJson(r->body);
      if (!reply.ok() || !reply->is_object()) continue;
      if (auto it = reply->find("peer"); it != reply->end()) api_.LearnPeer(*it);
      if (auto it = reply->find("peers"); it != reply->end() && it->is_array()) {
        for (const auto& p : *it) api_.LearnPeer(p);
      }
      if (auto it = reply->find("streams"); streams && it != reply->end()) streams->Learn(*it);
    }
  }

  void Replicate() {
    NodeStore& store = api_.store();
    int64_t now = o_.clock();
    auto peers = store.ListPeers(now - o_.peer_ttl_s);
    std::erase_if(no_room_, [&](const auto& e) { return e.second <= now; });
    for (const auto& pin : store.ListPins(now)) {  // expired pins are left to gc
      if (!store.TrackComplete(pin.root)) continue;
      // A peer whose disk had no room for a track it lacks is passed over a
      // while: the next in rendezvous order takes the copy instead.
      std::vector<std::string> live = {api_.node_id()};
      for (const auto& p : peers) {
        bool holds = std::find(p.roots.begin(), p.roots.end(), pin.root) != p.roots.end();
        if (holds || !no_room_.count(p.node_id)) live.push_back(p.node_id);
      }
      uint64_t replicas = pin.pin.value("desired_replicas", 1);
      for (const auto& node : ReplicaSet(pin.root, pin.origin, live, replicas)) {
        if (node == api_.node_id()) continue;
        auto peer = std::find_if(peers.begin(), peers.end(),
                                 [&](const PeerRow& p) { return p.node_id == node; });
        if (peer == peers.end()) continue;
        if (std::find(peer->roots.begin(), peer->roots.end(), pin.root) != peer->roots.end())
          continue;
        if (Push(pin, *peer)) {
          auto roots = peer->roots;
          roots.push_back(pin.root);
          store.SetPeerRoots(peer->node_id, roots);
          peer->roots = roots;
          log_("replicated " + pin.root + " to " + peer->node_id + " (" + peer->url + ")");
        }
      }
    }
  }

  // Says when the disk fills past the reserve, or the store to its
  // --max-storage (no room for another chunk of the usual size), and when
  // each has room again.
  void WatchRoom() {
    NodeStore& store = api_.store();
    auto free = store.FreeBytes();
    bool disk_full = free && *free < NodeStore::kReserveBytes;
    if (disk_full && !said_disk_full_) {
      log_("the disk is full: " + std::to_string(*free) + " bytes free, under the " +
           std::to_string(NodeStore::kReserveBytes) +
           " kept for the index; new tracks and chunks are refused (507) until gc or the operator "
           "frees room");
    }
    if (!disk_full && said_disk_full_) log_("the disk has room again");
    said_disk_full_ = disk_full;
    uint64_t max = store.max_bytes();
    uint64_t held = max ? store.StoredBytes() : 0;
    bool store_full = max && (held > max || max - held < kDefaultChunkSize);
    if (store_full && !said_store_full_) {
      log_("the store is full: it holds " + std::to_string(held) + " of the " +
           std::to_string(max) +
           " bytes of --max-storage; new tracks and chunks are refused (507) until gc frees room");
    }
    if (!store_full && said_store_full_) log_("the store has room again");
    said_store_full_ = store_full;
  }

  bool Push(const NodeStore::PinRow& pin, const PeerRow& peer) {
    NodeStore& store = api_.store();
    auto manifest = store.GetManifest(pin.root);
    if (!manifest) return false;
    int refused = 0;
    auto sent = UploadTrack(peer.url, *manifest, pin.pin, store.chunks(), &refused);
    if (!sent.ok()) {
      log_("replication of " + pin.root + " to " + peer.url + ": " + sent.status().message());
      if (refused == 507) no_room_[peer.node_id] = o_.clock() + kNoRoomPassOver;
    }
    return sent.ok();
  }

  SeedApi& api_;
  const SeedOptions& o_;
  const std::function<void(const std::string&)>& log_;
  std::mt19937 rng_{Seed(o_.random)};
  bool said_disk_full_ = false, said_store_full_ = false;
  // Peers that answered 507 (no room) to a push, and until when they are
  // passed over for tracks they lack (then asked again).
  static constexpr int64_t kNoRoomPassOver = 600;
  std::map<std::string, int64_t> no_room_;
  Periodic thread_{[this] { return Round(); }};
};

// Has peers heard of at new URLs prove their keys there (SeedApi::LearnPeer),
// a few at a time, on a thread of its own so no request waits on it.
class PeerProver {
 public:
  explicit PeerProver(SeedApi& api) : api_(api) {}

 private:
  std::chrono::milliseconds Round() {
    api_.ProvePending(16);
    return std::chrono::milliseconds(api_.PendingPeers() ? 0 : 200);
  }

  SeedApi& api_;
  Periodic thread_{[this] { return Round(); }};
};

// Announces the tracks the node holds complete, and the live streams it
// holds (under the first 20 bytes of the stream id, and then itself under
// StreamDirectoryKey()), on the DHT. A track is
// announced as soon as it is complete (published, replicated, imported), seen
// within a poll of the index; again after 4 s, 16 s, 64 s and so on, in case
// an early announcement found few nodes to take it; then every interval. A
// track removed with `digm-seed rm` is not announced again, and the DHT
// forgets the node for it when the announcement's lifetime runs out.
class DhtAnnouncer {
 public:
  DhtAnnouncer(Dht& dht, NodeStore& store, StreamApi& streams, uint16_t port, int interval_s,
               const std::function<void(const std::string&)>& log)
      : dht_(dht),
        store_(store),
        streams_(streams),
        port_(port),
        interval_(std::chrono::seconds(interval_s)),
        log_(log) {}

 private:
  using Clock = std::chrono::steady_clock;
  struct Due {
    Clock::time_point at;
    Clock::duration gap;
  };

  std::chrono::milliseconds Round() {
    // An announcement needs a node to go to: with none known yet (nodes
    // started together, a bootstrap node down) it waits and tries again
    // after 1 s, then twice as long each time, up to the interval.
    if (dht_.RoutingTableSize() == 0) {
      if (!said_alone_) log_("dht: no other DHT node answers yet; announcing once one does");
      said_alone_ = true;
      due_.clear();  // start over once a node answers
      auto wait = retry_;
      retry_ = std::min<std::chrono::milliseconds>(retry_ * 2, interval_);
      return wait;
    }
    said_alone_ = false;
    retry_ = std::chrono::seconds(1);
    auto now = Clock::now();
    std::map<std::string, Due> held;
    auto announce = [&](const std::string& hex) {
      auto key = HexDecodeArray<32>(hex);
      if (!key.ok()) return;
      auto it = due_.find(hex);
      Due d = it != due_.end() ? it->second : Due{now, std::chrono::seconds(1)};
      if (now >= d.at) {
        dht_.Announce(*key, port_);
        d.gap = std::min<Clock::duration>(d.gap * 4, interval_);
        d.at = now + d.gap;
      }
      held.emplace(hex, d);
    };
    size_t tracks = 0, live = 0;
    for (const auto& t : store_.ListTracks()) {
      if (!t.complete) continue;  // what it holds whole, it can serve
      announce(t.root);
      ++tracks;
    }
    for (const auto& id : streams_.HeldLive()) {
      announce(id);
      ++live;
    }
    // A node with live streams is a directory: found by `digm-live ls --dht`.
    if (live) announce(HexEncode(StreamDirectoryKey()));
    due_ = std::move(held);
    if (tracks != last_ || live != last_live_) {
      log_("dht: announcing " + std::to_string(tracks) + (tracks == 1 ? " track" : " tracks") +
           (live ? " and " + std::to_string(live) + (live == 1 ? " live stream" : " live streams")
                 : ""));
    }
    last_ = tracks;
    last_live_ = live;
    if (now >= next_save_) {
      next_save_ = now + interval_;
      (void)dht_.SaveState();
    }
    return std::min<std::chrono::milliseconds>(std::chrono::seconds(2),
                                               interval_);  // the index poll
  }

  Dht& dht_;
  NodeStore& store_;
  StreamApi& streams_;
  uint16_t port_;
  std::chrono::milliseconds interval_;
  const std::function<void(const std::string&)>& log_;
  std::map<std::string, Due> due_;  // root -> its next announcement
  size_t last_ = SIZE_MAX, last_live_ = 0;
  bool said_alone_ = false;
  std::chrono::milliseconds retry_{1000};
  Clock::time_point next_save_{};  // saved once a node is known, then every interval
  Periodic thread_{[this] { return Round(); }};
};

// Seeds every track the node holds complete over BitTorrent (SPEC §11), from
// its chunk files, within a poll of the index (2 s); stops seeding a track
// removed. With the DHT, a new torrent is announced at once, again after 4 s,
// 16 s and 64 s (a DHT being joined takes the first tries poorly); libtorrent
// goes on every 15 minutes.
class BtSeeder {
 public:
  BtSeeder(Dht& dht, NodeStore& store, std::string data_dir, bool announce,
           const std::function<void(const std::string&)>& log)
      : dht_(dht), store_(store), data_dir_(std::move(data_dir)), announce_(announce), log_(log) {}

 private:
  using Clock = std::chrono::steady_clock;
  struct Seeded {
    std::vector<std::string> btih;  // the hybrid torrent's, the BEP 3 one's
    Clock::time_point next;
    Clock::duration gap = std::chrono::seconds(1);
  };

  std::chrono::milliseconds Round() {
    auto now = Clock::now();
    std::set<std::string> held;
    for (const auto& t : store_.ListTracks()) {
      if (t.complete) held.insert(t.root);
    }
    for (const auto& root : held) {
      if (seeded_.count(root) || failed_.count(root)) continue;
      auto started = Start(root);
      if (!started.ok()) {
        failed_.insert(root);  // tried again once it leaves and comes back
        log_("bittorrent: cannot seed " + root + ": " + started.status().message());
        continue;
      }
      seeded_[root] = Seeded{*started, now};
      log_("bittorrent: seeding " + root + " as " + (*started)[0] +
           " (v1 torrent: " + (*started)[1] + ")");
    }
    for (auto it = seeded_.begin(); it != seeded_.end();) {
      if (held.count(it->first)) {
        if (announce_ && now >= it->second.next && it->second.gap <= std::chrono::seconds(64)) {
          for (const auto& b : it->second.btih) dht_.AnnounceTorrent(b);
          it->second.gap *= 4;
          it->second.next = now + it->second.gap;
        }
        ++it;
        continue;
      }
      for (const auto& b : it->second.btih) dht_.StopSeeding(b);
      for (const char* kind : {".torrent", ".v1.torrent"})
        unlink((data_dir_ + "/torrents/" + it->first + kind).c_str());
      log_("bittorrent: no longer seeding " + it->first);
      it = seeded_.erase(it);
    }
    for (auto it = failed_.begin(); it != failed_.end();) {
      it = held.count(*it) ? std::next(it) : failed_.erase(it);
    }
    return std::chrono::seconds(2);
  }

  // Seeds the hybrid torrent and the BEP 3 one (for older clients) from
  // the same chunk files.
  Result<std::vector<std::string>> Start(const std::string& root) {
    std::optional<Manifest> m = store_.GetManifest(root);
    if (!m) return Status::BadInput("removed meanwhile");
    TorrentLayout layout = TrackLayout(*m, &store_.chunks());
    std::vector<std::string> seeded;
    for (bool v1_only : {false, true}) {
      auto t = NodeTorrent(store_, data_dir_, root, v1_only);
      Status s = t.ok() ? dht_.Seed(t->bytes, layout) : t.status();
      if (!s.ok()) {
        for (const auto& b : seeded) dht_.StopSeeding(b);
        return s;
      }
      seeded.push_back(t->btih);
    }
    return seeded;
  }

  Dht& dht_;
  NodeStore& store_;
  std::string data_dir_;
  bool announce_;
  const std::function<void(const std::string&)>& log_;
  std::map<std::string, Seeded> seeded_;  // root -> its torrent
  std::set<std::string> failed_;
  Periodic thread_{[this] { return Round(); }};
};

// An exclusive flock(2) on DATA/lock, released when the process ends however
// it ends (a kill -9 included), so a stale lock never blocks a restart.
class DataLock {
 public:
  static Result<DataLock> Take(const std::string& data_dir) {
    std::string path = data_dir + "/lock";
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Status::BadInput("cannot open '" + path + "': " + std::strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      std::string pid;
      if (auto text = ReadWholeFile(data_dir + "/serving.pid"); text.ok()) {
        pid = " (pid " + text->substr(0, text->find('\n')) + ")";
      }
      return Status::Usage("'" + data_dir + "' is served by another digm-seed" + pid +
                           "; one process per data folder");
    }
    return DataLock(fd);
  }
  DataLock(DataLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  DataLock& operator=(DataLock&&) = delete;
  ~DataLock() {
    if (fd_ >= 0) close(fd_);
  }

 private:
  explicit DataLock(int fd) : fd_(fd) {}
  int fd_;
};

// The port of a URL, or `fallback` when it names none.
uint16_t UrlPort(const std::string& url, uint16_t fallback) {
  size_t colon = url.rfind(':');
  if (colon == std::string::npos || url.find("//") > colon) return fallback;
  long p = std::strtol(url.c_str() + colon + 1, nullptr, 10);
  return p > 0 && p < 65536 ? static_cast<uint16_t>(p) : fallback;
}

}  // namespace

std::vector<std::string> ReplicaSet(const std::string& root, const std::string& origin,
                                    std::vector<std::string> live, size_t replicas) {
  bool origin_live = std::find(live.begin(), live.end(), origin) != live.end();
  std::vector<std::string> set;
  if (origin_live) {
    set.push_back(origin);
    live.erase(std::remove(live.begin(), live.end(), origin), live.end());
  }
  for (auto& id : RendezvousRank(root, std::move(live))) {
    if (set.size() >= replicas) break;
    set.push_back(std::move(id));
  }
  return set;
}

Result<Wallet> InitSeed(const std::string& data_dir) {
  DIGM_ASSIGN_OR_RETURN(auto store, NodeStore::Open(data_dir, true));
  std::string path = data_dir + "/node.wallet";
  if (access(path.c_str(), F_OK) == 0) return ReadWalletFile(path);
  Wallet w = Wallet::Generate();
  DIGM_RETURN_IF_ERROR(WriteWalletFile(path, w));
  return w;
}

Result<int> RunSeed(const SeedOptions& o_in, const std::function<void(const std::string&)>& log) {
  SeedOptions o = o_in;
  o.url = BaseUrl(o.url);
  std::string host = o.listen.substr(0, o.listen.rfind(':'));
  if (o.url.empty() && (host == "0.0.0.0" || host == "[::]" || host == "::")) {
    return Status::Usage("listening on " + o.listen + ", the node cannot tell other nodes " +
                         "where to reach it: give --url http://ADDRESS:PORT");
  }
  DIGM_ASSIGN_OR_RETURN(auto store, NodeStore::Open(o.data_dir, false, o.clock));
  store->LimitBytes(o.max_storage);
  // One process per data folder (SPEC §5): held until this process ends.
  DIGM_ASSIGN_OR_RETURN(DataLock lock, DataLock::Take(o.data_dir));
  DIGM_ASSIGN_OR_RETURN(auto streams, StreamStore::Open(*store, o.clock));
  DIGM_ASSIGN_OR_RETURN(Wallet identity, ReadWalletFile(o.data_dir + "/node.wallet"));
  // A run that did not stop cleanly may have left a chunk half-written or the
  // index behind the files: check every chunk before serving any.
  std::string marker = o.data_dir + "/serving.pid";
  if (access(marker.c_str(), F_OK) == 0) {
    log("the last run did not stop cleanly; checking the store");
    DIGM_ASSIGN_OR_RETURN(FsckReport report, store->Fsck(true));
    log("fsck: " + DumpDocument(report.ToJson()));
  }
  DIGM_RETURN_IF_ERROR(WriteOutput(marker, std::to_string(getpid()) + "\n"));
  // The libtorrent session starts before the node's first thread (the stream
  // sweeper's), so it may skip loading the system's CA certificates: a
  // node's torrents name no trackers, so the session never makes TLS
  // connections of its own.
  std::unique_ptr<Dht> dht;
  if (o.dht || o.bittorrent) {
    DhtOptions d = o.dht_options;
    d.state_file = o.dht ? o.data_dir + "/dht.state" : "";
    d.dht = o.dht;
    d.bittorrent = o.bittorrent;
    d.bt_listen = o.bt_listen;
    d.https_trackers = false;
    auto started = Dht::Start(d);
    if (!started.ok()) {
      unlink(marker.c_str());
      return started.status();
    }
    dht = std::move(*started);
  }
  std::unique_ptr<SeedApi> api;
  auto server = HttpServer::Bind(
      o.listen, [&api](const HttpRequest& r) { return api->Handle(r); }, o.limits,
      [&api](const HttpRequest& head) { return api->Admit(head); });
  if (!server.ok()) {
    unlink(marker.c_str());
    return server.status();
  }
  if (o.url.empty()) {  // "--listen 127.0.0.1:0" learns its port only now
    o.url = "http://" + o.listen.substr(0, o.listen.rfind(':')) + ":" +
            std::to_string((*server)->port());
  }
  StreamApi stream_api(*streams, store->chunks(),
                       StreamApi::Options{.url = o.url,
                                          .allowed_publishers = o.allowed_publishers,
                                          .stale_after = o.stream_stale_after_s,
                                          .clock = o.clock,
                                          .log = log});
  std::unique_ptr<VoucherBook> vouchers;
  if (o.price && o.price->per_mb > 0) {
    auto book = VoucherBook::Open(o.data_dir + "/vouchers.db");
    if (!book.ok()) {
      unlink(marker.c_str());
      return book.status();
    }
    vouchers = std::move(*book);
  }
  api = std::make_unique<SeedApi>(*store, identity,
                                  SeedApi::Options{.url = o.url,
                                                   .allowed_publishers = o.allowed_publishers,
                                                   .peer_ttl = o.peer_ttl_s,
                                                   .clock = o.clock,
                                                   .streams = &stream_api,
                                                   .price = o.price,
                                                   .vouchers = vouchers.get(),
                                                   .check_channel = o.check_channel,
                                                   .log = log});
  if (vouchers) {
    log("charging " + o.price->Text() + ", " + std::to_string(o.price->credit) +
        " bytes of credit; a channel is refused from " + std::to_string(o.price->channel_margin) +
        " seconds before it expires: redeem its vouchers by then");
  }
  if (o.max_storage) {
    log("holding at most " + std::to_string(o.max_storage) + " bytes of chunks (" +
        std::to_string(store->StoredBytes()) + " held)");
  }
  log("serving " + o.data_dir + " at " + o.url + " as " + api->node_id());
  if (dht) {
    std::string from = o.dht_options.bootstrap.empty() ? "the public routers" : "";
    if (dht->saved_nodes()) {
      from += (from.empty() ? "" : " and ") + std::to_string(dht->saved_nodes()) +
              " nodes saved in dht.state";
    }
    if (o.dht) {
      log("dht listening on " + dht->endpoint() +
          (from.empty() ? "" : " (joining through " + from + ")"));
    }
    if (o.bittorrent) {
      std::string at;
      for (const auto& b : dht->bt_endpoints()) at += (at.empty() ? "" : ", ") + b;
      log("bittorrent listening on " + at);
      // BitTorrent has no way to pay: what the node charges over HTTP it
      // gives to BitTorrent peers. Said, as the operator may not know.
      if (vouchers)
        log("bittorrent: BitTorrent peers do not pay --price-per-mb: the tracks seeded are free "
            "to them");
    }
  }
  int sig;
  {
    Maintainer maintainer(*api, o, log);
    PeerProver prover(*api);
    std::unique_ptr<DhtAnnouncer> announcer;
    std::unique_ptr<BtSeeder> seeder;
    if (o.bittorrent) seeder = std::make_unique<BtSeeder>(*dht, *store, o.data_dir, o.dht, log);
    if (o.dht) {
      announcer = std::make_unique<DhtAnnouncer>(*dht, *store, stream_api,
                                                 UrlPort(o.url, (*server)->port()),
                                                 o.dht_announce_interval_s, log);
    }
    (*server)->OnDrain([&stream_api, &api] {
      stream_api.AnswerWaiters();
      api->AnswerFundingWaiters();
    });
    sig = (*server)->Run();
    api->StopFunding();
  }
  dht.reset();  // saves its state
  unlink(marker.c_str());
  log("stopped");
  return sig == SIGINT ? 130 : 0;
}

Result<PublishResult> Publish(const Manifest& manifest, const std::string& from_dir,
                              const std::string& node_in, const Wallet& wallet, uint64_t replicas,
                              uint64_t duration_days) {
  std::string node = BaseUrl(node_in);
  DIGM_ASSIGN_OR_RETURN(ChunkStore from, ChunkStore::Open(from_dir, {.create = false}));
  PublishResult result;
  result.root = HexEncode(manifest.ComputeRoot());
  // Every chunk must be at hand before the node is asked to pin anything.
  for (const auto& c : manifest.chunks) {
    if (!from.Has(c.hash))
      return Status::BadInput("chunk " + HexEncode(c.hash) + " is not in '" + from_dir + "'");
  }
  // The node anchors the replica set; the pin names it under the publisher's
  // signature, once the node has proven its key at its URL.
  DIGM_ASSIGN_OR_RETURN(Address origin, ProveIdentity(node, 10000));
  Json pin = MakePin(result.root, replicas, duration_days, origin, wallet, UnixNow());
  Manifest sealed = manifest;
  sealed.root = manifest.ComputeRoot();
  DIGM_ASSIGN_OR_RETURN(UploadResult sent, UploadTrack(node, sealed, pin, from));
  result.uploaded = sent.uploaded;
  result.already = sent.already;
  return result;
}

Result<Json> AddTrackOffline(const std::string& data_dir, const std::string& manifest_path,
                             const std::string& from_dir) {
  DIGM_ASSIGN_OR_RETURN(auto store, NodeStore::Open(data_dir, false));
  DIGM_ASSIGN_OR_RETURN(Manifest m, ReadManifest(manifest_path, false));
  DIGM_ASSIGN_OR_RETURN(ChunkStore chunks, ChunkStore::Open(from_dir, {.create = false}));
  DIGM_RETURN_IF_ERROR(store->ImportTrack(m, chunks));
  return Json{{"schema", "digm.added/1"},
              {"root", HexEncode(m.ComputeRoot())},
              {"chunks", m.chunks.size()}};
}

Result<Json> PublishTrack(const std::string& manifest_path, const std::string& from_dir,
                          const std::string& node, const std::string& wallet_path,
                          uint64_t replicas, uint64_t duration_days) {
  DIGM_ASSIGN_OR_RETURN(Manifest m, ReadManifest(manifest_path, false));
  DIGM_ASSIGN_OR_RETURN(Wallet w, ReadWalletFile(wallet_path));
  DIGM_ASSIGN_OR_RETURN(PublishResult p, Publish(m, from_dir, node, w, replicas, duration_days));
  return Json{{"schema", "digm.published/1"}, {"root", p.root},         {"node", node},
              {"replicas", replicas},         {"uploaded", p.uploaded}, {"already", p.already}};
}

Result<Json> CollectGarbage(const std::string& data_dir, int64_t now) {
  DIGM_ASSIGN_OR_RETURN(auto store, NodeStore::Open(data_dir, false));
  DIGM_ASSIGN_OR_RETURN(auto removed, store->CollectGarbage(now));
  return Json{{"schema", "digm.gc/1"}, {"removed", removed.tracks}, {"streams", removed.streams}};
}

Result<Json> PeerList(const std::string& data_dir, int64_t now) {
  DIGM_ASSIGN_OR_RETURN(auto store, NodeStore::Open(data_dir, false));
  Json out = Json::array();
  for (const auto& p : store->ListPeers(now - 300)) {
    Json record = p.record;
    record["available_tracks"] = p.roots;
    out.push_back(record);
  }
  return out;
}

Result<std::vector<Json>> BestVouchers(const std::string& data_dir, bool with_channels) {
  std::string path = data_dir + "/vouchers.db";
  auto book = VoucherBook::Open(path, false);
  if (!book.ok()) {
    return Status::BadInput("no vouchers in " + data_dir + ": the node never charged")
        .WithHint("serve with --price-per-mb P to charge");
  }
  return (*book)->Best(with_channels);
}

}  // namespace digm
