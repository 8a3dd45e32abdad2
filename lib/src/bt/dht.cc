#include "digm/dht.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/kademlia/dht_storage.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/session_stats.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "bt/disk_io.h"
#include "bt/nodelay.h"
#include "bt/senders.h"
#include "digm/address.h"
#include "digm/file.h"

namespace digm {
namespace lt = libtorrent;
namespace {

// The public DHT's routers. libtorrent's default is the first alone; with the
// others, one router down does not keep a new node out of the DHT.
constexpr const char* kPublicRouters =
    "dht.libtorrent.org:25401,router.bittorrent.com:6881,router.utorrent.com:6881,dht."
    "transmissionbt.com:6881";

lt::sha1_hash InfoHash(const Hash256& root) {
  return lt::sha1_hash(reinterpret_cast<const char*>(root.data()));  // the first 20 bytes
}

// The compact form the DHT stores endpoints in: address bytes, then the port.
std::string Compact(const lt::tcp::endpoint& e) {
  std::string out;
  if (e.address().is_v4()) {
    auto b = e.address().to_v4().to_bytes();
    out.assign(b.begin(), b.end());
  } else {
    auto b = e.address().to_v6().to_bytes();
    out.assign(b.begin(), b.end());
  }
  out.push_back(static_cast<char>(e.port() >> 8));
  out.push_back(static_cast<char>(e.port() & 0xff));
  return out;
}

// libtorrent's own storage, except that an announcement is forgotten after
// `ttl` instead of libtorrent's fixed 45 minutes: lookups stop returning a
// node soon after it stops announcing (a shorter period makes tests fast).
class TtlStorage final : public lt::dht::dht_storage_interface {
 public:
  TtlStorage(const lt::settings_interface& settings, std::chrono::seconds ttl)
      : inner_(lt::dht::dht_default_storage_constructor(settings)), ttl_(ttl) {}

#if TORRENT_ABI_VERSION == 1
  size_t num_torrents() const override { return inner_->num_torrents(); }
  size_t num_peers() const override { return inner_->num_peers(); }
#endif
  void update_node_ids(std::vector<lt::dht::node_id> const& ids) override {
    inner_->update_node_ids(ids);
  }

  bool get_peers(lt::sha1_hash const& info_hash, bool noseed, bool scrape,
                 lt::address const& requester, lt::entry& peers) const override {
    bool r = inner_->get_peers(info_hash, noseed, scrape, requester, peers);
    lt::entry* values = peers.find_key("values");
    if (values && values->type() == lt::entry::list_t) {
      auto now = std::chrono::steady_clock::now();
      auto& list = values->list();
      list.erase(std::remove_if(list.begin(), list.end(),
                                [&](const lt::entry& v) {
                                  auto it = seen_.find({info_hash, v.string()});
                                  return it == seen_.end() || now - it->second > ttl_;
                                }),
                 list.end());
    }
    return r;
  }

  void announce_peer(lt::sha1_hash const& info_hash, lt::tcp::endpoint const& endp,
                     lt::string_view name, bool seed) override {
    seen_[{info_hash, Compact(endp)}] = std::chrono::steady_clock::now();
    if (seen_.size() > kMaxSeen) ForgetOldest();
    inner_->announce_peer(info_hash, endp, name, seed);
  }

  bool get_immutable_item(lt::sha1_hash const& target, lt::entry& item) const override {
    return inner_->get_immutable_item(target, item);
  }
  void put_immutable_item(lt::sha1_hash const& target, lt::span<char const> buf,
                          lt::address const& addr) override {
    inner_->put_immutable_item(target, buf, addr);
  }
  bool get_mutable_item_seq(lt::sha1_hash const& target,
                            lt::dht::sequence_number& seq) const override {
    return inner_->get_mutable_item_seq(target, seq);
  }
  bool get_mutable_item(lt::sha1_hash const& target, lt::dht::sequence_number seq, bool force_fill,
                        lt::entry& item) const override {
    return inner_->get_mutable_item(target, seq, force_fill, item);
  }
  void put_mutable_item(lt::sha1_hash const& target, lt::span<char const> buf,
                        lt::dht::signature const& sig, lt::dht::sequence_number seq,
                        lt::dht::public_key const& pk, lt::span<char const> salt,
                        lt::address const& addr) override {
    inner_->put_mutable_item(target, buf, sig, seq, pk, salt, addr);
  }
  int get_infohashes_sample(lt::entry& item) override {
    return inner_->get_infohashes_sample(item);
  }

  void tick() override {
    Forget(std::chrono::steady_clock::now() - ttl_);
    inner_->tick();
  }
  lt::dht::dht_storage_counters counters() const override { return inner_->counters(); }

 private:
  using Time = std::chrono::steady_clock::time_point;
  // A bound on the times kept, whatever is announced between ticks (libtorrent
  // bounds its own storage the same way, by dropping entries).
  static constexpr size_t kMaxSeen = 1 << 16;

  void Forget(Time before) {
    for (auto it = seen_.begin(); it != seen_.end();)
      it = it->second < before ? seen_.erase(it) : std::next(it);
  }
  // Expired ones first; then, if still too many, the older half.
  void ForgetOldest() {
    Forget(std::chrono::steady_clock::now() - ttl_);
    if (seen_.size() <= kMaxSeen) return;
    std::vector<Time> times;
    times.reserve(seen_.size());
    for (const auto& [key, t] : seen_) times.push_back(t);
    auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
    std::nth_element(times.begin(), mid, times.end());
    Forget(*mid);
  }

  std::unique_ptr<lt::dht::dht_storage_interface> inner_;
  std::chrono::seconds ttl_;
  mutable std::map<std::pair<lt::sha1_hash, std::string>, std::chrono::steady_clock::time_point>
      seen_;
};

// libtorrent binds with SO_REUSEADDR, which lets a second UDP socket share a
// port already in use; a plain bind first turns that into an error.
Status ProbeUdpPort(const std::string& listen) {
  auto hp = ParseHostPort(listen, true);
  if (!hp.ok() || hp->port == 0) return Status::Ok();
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  addrinfo* ai = nullptr;
  if (getaddrinfo(hp->host.c_str(), std::to_string(hp->port).c_str(), &hints, &ai) != 0) {
    return Status::Ok();  // a device name: libtorrent's to resolve
  }
  int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
  int err = fd < 0 ? errno : (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno);
  if (fd >= 0) close(fd);
  freeaddrinfo(ai);
  if (err == EADDRINUSE)
    return Status::Network("DHT: cannot listen on " + listen + ": address in use");
  return Status::Ok();
}

}  // namespace

std::string DefaultDhtListen(const std::vector<std::string>& bootstrap, int port) {
  bool v4 = true, v6 = true;
  for (const auto& b : bootstrap) {
    auto hp = ParseHostPort(b);
    std::string host = hp.ok() ? hp->host : "";
    v4 = v4 && host.rfind("127.", 0) == 0;
    v6 = v6 && host == "::1";
  }
  std::string host = bootstrap.empty() || (!v4 && !v6) ? "0.0.0.0" : v4 ? "127.0.0.1" : "[::1]";
  return host + ":" + std::to_string(port);
}

Status CheckDhtOptions(const DhtOptions& o) {
  if (!o.listen.empty())
    DIGM_RETURN_IF_ERROR(ParseHostPort(o.listen, true).status().Context("DHT listen address"));
  if (o.bootstrap.size() == 1 && o.bootstrap[0] == "none") return Status::Ok();
  for (const auto& b : o.bootstrap)
    DIGM_RETURN_IF_ERROR(ParseHostPort(b).status().Context("DHT bootstrap node"));
  return Status::Ok();
}

namespace {

// The storage of each torrent the session holds, by the 20 bytes libtorrent
// names its storage by (the v1 infohash, or the truncated v2 one of a
// hybrid torrent: both are kept).
struct Storages {
  std::mutex mu;
  std::map<lt::sha1_hash, std::shared_ptr<bt::Storage>> by_hash;

  // False (and nothing changed) when a torrent of these hashes has one.
  bool Add(const lt::info_hash_t& ih, std::shared_ptr<bt::Storage> s) {
    std::lock_guard lock(mu);
    if ((ih.has_v1() && by_hash.count(ih.v1)) ||
        (ih.has_v2() && by_hash.count(ih.get(lt::protocol_version::V2)))) {
      return false;
    }
    if (ih.has_v1()) by_hash[ih.v1] = s;
    if (ih.has_v2()) by_hash[ih.get(lt::protocol_version::V2)] = s;
    return true;
  }
  void Remove(const lt::info_hash_t& ih) {
    std::lock_guard lock(mu);
    if (ih.has_v1()) by_hash.erase(ih.v1);
    if (ih.has_v2()) by_hash.erase(ih.get(lt::protocol_version::V2));
  }
  std::shared_ptr<bt::Storage> Find(const lt::sha1_hash& h) {
    std::lock_guard lock(mu);
    auto it = by_hash.find(h);
    return it == by_hash.end() ? nullptr : it->second;
  }
};

// Sets an environment variable for its lifetime, then puts back what was
// there (or nothing).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

struct Swarm::State {
  Dht::Impl* impl = nullptr;
  lt::torrent_handle handle;
  lt::info_hash_t hashes;
  std::mutex mu;
  uint64_t size = 0;
  int piece_length = 0;  // 0 until the metadata is in
  std::vector<bool> have;
  std::vector<std::pair<uint64_t, uint64_t>> wanted;  // before the metadata
  std::shared_ptr<bt::PieceSenders> senders = std::make_shared<bt::PieceSenders>();
  std::vector<std::pair<std::string, std::string>> banned;
  Status status;
  std::shared_ptr<bt::Storage> storage;
  size_t peers = 0;
  std::chrono::steady_clock::time_point peers_at{};
  std::function<void()> wake;  // set before the first piece can come

  // Pieces [first, last] covering a range (piece_length known).
  std::pair<int, int> Pieces(uint64_t offset, uint64_t n) const {
    auto pl = static_cast<uint64_t>(piece_length);
    return {static_cast<int>(offset / pl),
            static_cast<int>((offset + std::max<uint64_t>(n, 1) - 1) / pl)};
  }
  // Under mu: raises the covering pieces' priority.
  void Prioritize(uint64_t offset, uint64_t n) {
    auto [first, last] = Pieces(offset, n);
    for (int p = first; p <= last && p < static_cast<int>(have.size()); ++p) {
      if (!have[static_cast<size_t>(p)])
        handle.piece_priority(lt::piece_index_t(p), lt::top_priority);
    }
  }
  // Under mu, once the metadata is known: the torrent must be the track's.
  // Once only: a second time would forget the pieces had since.
  void Metadata(const lt::torrent_info& ti) {
    if (piece_length || !status.ok()) return;
    if (bt::RealFiles(ti) != 1 || static_cast<uint64_t>(ti.total_size()) != size) {
      status = Status::Integrity(
          "the torrent is not this track: " + std::to_string(bt::RealFiles(ti)) + " files of " +
          std::to_string(ti.total_size()) + " bytes, not " + std::to_string(size));
      handle.pause();
      return;
    }
    piece_length = ti.piece_length();
    have.assign(static_cast<size_t>(ti.num_pieces()), false);
    // Only the pieces asked for: pieces downloaded unasked (at a low
    // priority) filled the request queue ahead of the asked ones, which the
    // writer then waited for, and took CPU the HTTP nodes' chunks needed.
    handle.prioritize_pieces(std::vector<lt::download_priority_t>(
        static_cast<size_t>(ti.num_pieces()), lt::dont_download));
    for (const auto& [o, n] : wanted) Prioritize(o, n);
    wanted.clear();
  }
};

struct Dht::Impl {
  explicit Impl(lt::session_params params, std::shared_ptr<Storages> st)
      : storages(std::move(st)), session(std::move(params)) {}

  std::shared_ptr<Storages> storages;

  lt::session session;
  std::string state_file;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false, listening = false;
  std::function<void(std::string_view)> log;  // libtorrent's DHT log lines, when set
  std::string listen_error, endpoint;
  // BitTorrent's TCP sockets: where they listen, and why one could not.
  std::vector<std::string> tcp_endpoints;
  std::string tcp_error;
  std::map<lt::sha1_hash, std::set<lt::tcp::endpoint>> found;
  std::vector<std::pair<std::string, int>> bootstrap_nodes;  // only the loop thread touches these
  std::chrono::steady_clock::time_point next_rejoin =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  std::chrono::milliseconds rejoin_gap{500};
  size_t saved_nodes = 0;
  bool bittorrent = false;
  std::map<std::string, lt::torrent_handle> seeds;  // btih -> its torrent
  std::map<lt::torrent_handle, std::shared_ptr<Swarm::State>> swarms;
  std::thread thread;

  // Under mu: what a torrent alert tells a swarm.
  void OnTorrentAlert(lt::alert* a) {
    auto* ta = dynamic_cast<lt::torrent_alert*>(a);
    if (!ta) return;
    auto it = swarms.find(ta->handle);
    if (it == swarms.end()) return;
    Swarm::State& s = *it->second;
    std::lock_guard lock(s.mu);
    if (auto* p = lt::alert_cast<lt::piece_finished_alert>(a)) {
      auto i = static_cast<size_t>(static_cast<int>(p->piece_index));
      if (i < s.have.size()) s.have[i] = true;
    } else if (auto* ban = lt::alert_cast<lt::peer_ban_alert>(a)) {
      std::string who = bt::EndpointText(ban->endpoint);
      bool known = std::any_of(s.banned.begin(), s.banned.end(),
                               [&](const auto& b) { return b.first == who; });
      if (!known) s.banned.emplace_back(who, "sent pieces that failed their hash");
    } else if (lt::alert_cast<lt::metadata_received_alert>(a)) {
      if (auto ti = s.handle.torrent_file()) s.Metadata(*ti);
    }
    if (s.wake) s.wake();
  }

  // The routing table's size comes from libtorrent's DHT stats, asked for
  // every quarter second: counts only, unlike the whole saved state.
  std::map<std::string, size_t> table_by_socket;  // one DHT node per listen socket
  size_t table_size = 0;
  uint64_t stats_seen = 0;
  std::chrono::steady_clock::time_point next_stats{};

  size_t TableSize() {
    std::lock_guard lock(mu);
    return table_size;
  }

  // libtorrent pings a node added with add_dht_node once; if that node was not
  // up yet (nodes started together) the table stays empty, and with no routers
  // nothing would ever be retried. So while the table is empty, the bootstrap
  // nodes are added again after 0.5 s, then twice as long each time, at most
  // every minute.
  void Rejoin(std::chrono::steady_clock::time_point now) {
    if (bootstrap_nodes.empty() || now < next_rejoin) return;
    if (TableSize() == 0) {
      for (const auto& n : bootstrap_nodes) session.add_dht_node(n);
      rejoin_gap = std::min(rejoin_gap * 2, std::chrono::milliseconds(60000));
    } else {
      rejoin_gap = std::chrono::milliseconds(500);
    }
    next_rejoin = now + rejoin_gap;
  }

  void Loop() {
    std::vector<lt::alert*> alerts;
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stop) return;
      }
      auto now = std::chrono::steady_clock::now();
      if (now >= next_stats) {
        session.post_dht_stats();
        next_stats = now + std::chrono::milliseconds(250);
      }
      Rejoin(now);
      session.wait_for_alert(std::chrono::milliseconds(200));
      session.pop_alerts(&alerts);
      std::lock_guard lock(mu);
      for (lt::alert* a : alerts) {
        if (auto* st = lt::alert_cast<lt::dht_stats_alert>(a)) {
          size_t n = 0;
          for (const auto& bucket : st->routing_table) n += static_cast<size_t>(bucket.num_nodes);
          std::ostringstream socket;
          socket << st->local_endpoint;
          table_by_socket[socket.str()] = n;
          table_size = 0;
          for (const auto& [_, count] : table_by_socket) table_size += count;
          ++stats_seen;
        } else if (auto* r = lt::alert_cast<lt::dht_get_peers_reply_alert>(a)) {
          auto& set = found[r->info_hash];
          for (const auto& e : r->peers()) set.insert(e);
        } else if (auto* l = lt::alert_cast<lt::listen_succeeded_alert>(a)) {
          std::string at = bt::EndpointText(lt::tcp::endpoint(l->address, l->port));
          if (l->socket_type == lt::socket_type_t::utp) {  // the UDP socket, which the DHT uses
            listening = true;
            endpoint = at;
          } else if (l->socket_type == lt::socket_type_t::tcp &&
                     std::find(tcp_endpoints.begin(), tcp_endpoints.end(), at) ==
                         tcp_endpoints.end()) {
            tcp_endpoints.push_back(at);  // once each, however often the sockets reopen
          }
        } else if (!swarms.empty() && (lt::alert_cast<lt::piece_finished_alert>(a) ||
                                       lt::alert_cast<lt::peer_ban_alert>(a) ||
                                       lt::alert_cast<lt::metadata_received_alert>(a))) {
          OnTorrentAlert(a);
        } else if (log && (a->category() & lt::alert_category::dht_log)) {
          log(a->message());
        } else if (auto* f = lt::alert_cast<lt::listen_failed_alert>(a)) {
          if (f->socket_type == lt::socket_type_t::utp && !listening) listen_error = f->message();
          if (f->socket_type == lt::socket_type_t::tcp && tcp_error.empty())
            tcp_error = f->message();
        }
      }
      cv.notify_all();
    }
  }
};

Dht::Dht(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Dht>> Dht::Start(const DhtOptions& o) {
  DIGM_RETURN_IF_ERROR(CheckDhtOptions(o));
  const std::string listen =
      o.listen.empty() ? DefaultDhtListen(o.bootstrap, o.default_port) : o.listen;
  bool none = o.bootstrap.size() == 1 && o.bootstrap[0] == "none";
  std::vector<std::pair<std::string, int>> nodes;
  if (!none) {
    for (const auto& b : o.bootstrap) {
      DIGM_ASSIGN_OR_RETURN(auto hp, ParseHostPort(b));
      nodes.emplace_back(hp.host, hp.port);
    }
  }
  if (o.dht) DIGM_RETURN_IF_ERROR(ProbeUdpPort(listen));
  std::string interfaces = o.dht ? listen : "";
  for (const auto& b : o.bt_listen) {
    DIGM_RETURN_IF_ERROR(ParseHostPort(b, true).status().Context("BitTorrent listen address"));
    if (("," + interfaces + ",").find("," + b + ",") == std::string::npos)
      interfaces += (interfaces.empty() ? "" : ",") + b;
  }
  // libtorrent binds 0.0.0.0 to every device but the loopback one.
  if (interfaces.empty()) interfaces = "0.0.0.0:6881,127.0.0.1:6881";

  lt::session_params params;
  size_t saved_nodes = 0;
  if (!o.state_file.empty()) {
    if (auto saved = ReadWholeFile(o.state_file); saved.ok()) {
      lt::session_params loaded = lt::read_session_params(
          lt::span<char const>(saved->data(), static_cast<std::ptrdiff_t>(saved->size())),
          lt::session_handle::save_dht_state);
      // libtorrent bootstraps from the saved nodes only when its socket is
      // open before the DHT starts, which is not the order a session opens
      // them in; so they are added like bootstrap nodes, and tried again
      // with them while the routing table is empty.
      for (const auto* list : {&loaded.dht_state.nodes, &loaded.dht_state.nodes6}) {
        for (const auto& e : *list) nodes.emplace_back(e.address().to_string(), e.port());
        saved_nodes += list->size();
      }
      params.dht_state = std::move(loaded.dht_state);
    }
  }
  lt::settings_pack& s = params.settings;
  s.set_str(lt::settings_pack::listen_interfaces, interfaces);
  // A port that is taken is an error, as for --listen: libtorrent would
  // otherwise try the next ten, then one the system picks, and the node
  // would be found at none of the ports its operator opened or its magnet
  // links name.
  s.set_int(lt::settings_pack::max_retry_port_bind, 0);
  s.set_bool(lt::settings_pack::listen_system_port_fallback, false);
  s.set_bool(lt::settings_pack::enable_dht, o.dht);
  s.set_bool(lt::settings_pack::enable_lsd, false);
  s.set_bool(lt::settings_pack::enable_upnp, o.port_mapping);
  s.set_bool(lt::settings_pack::enable_natpmp, o.port_mapping);
  // Given nodes replace the public routers; they are also added as DHT nodes,
  // since libtorrent keeps routers out of its routing table and a private DHT
  // has no other members to start from.
  if (none || !o.bootstrap.empty()) {
    s.set_str(lt::settings_pack::dht_bootstrap_nodes, "");
  } else {
    s.set_str(lt::settings_pack::dht_bootstrap_nodes, kPublicRouters);
  }
  // Nodes of one machine or network share an address; the public DHT's
  // defences against that (one node per IP, BEP 42 ids) would keep a private
  // DHT from forming, and reject the loopback and private ranges.
  if (none || !o.bootstrap.empty()) {
    s.set_bool(lt::settings_pack::dht_restrict_routing_ips, false);
    s.set_bool(lt::settings_pack::dht_restrict_search_ips, false);
    s.set_bool(lt::settings_pack::dht_prefer_verified_node_ids, false);
    s.set_bool(lt::settings_pack::dht_ignore_dark_internet, false);
    // All of a private DHT's nodes may share one address: the per-IP packet
    // limit (5/s, then a 5-minute block) would cut them off from each other.
    s.set_int(lt::settings_pack::dht_block_ratelimit, 1000000);
    s.set_int(lt::settings_pack::dht_upload_rate_limit, 1000000);
  }
  s.set_int(lt::settings_pack::alert_mask,
            lt::alert_category::dht | lt::alert_category::dht_operation |
                lt::alert_category::status | lt::alert_category::error |
                (o.log ? lt::alert_category::dht_log : lt::alert_category_t{}) |
                (o.bittorrent ? lt::alert_category::peer | lt::alert_category::piece_progress
                              : lt::alert_category_t{}));
  if (o.bittorrent) {
    // Peers of one machine (a node's clients, the nodes of a test) share an
    // address; a download that wants nothing yet stays connected to seeds.
    s.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
    s.set_bool(lt::settings_pack::close_redundant_connections, false);
    s.set_bool(lt::settings_pack::enable_lsd, false);
    s.set_int(lt::settings_pack::active_seeds, -1);
    s.set_int(lt::settings_pack::active_limit, -1);
    // A piece from one peer, as soon as its rate is known: a piece that
    // fails its hash then names its sender, and an honest peer that shared
    // pieces with a lying one is not banned with it.
    s.set_int(lt::settings_pack::whole_pieces_threshold, 1000);
    // Out over TCP, which every client speaks: libtorrent tries uTP first,
    // and a peer without it (aria2, for one) then costs a 3 s timeout before
    // the first byte. uTP still comes in.
    s.set_bool(lt::settings_pack::enable_outgoing_utp, false);
    s.set_int(lt::settings_pack::tick_interval, o.tick_ms);
  }
  s.set_bool(lt::settings_pack::dht_read_only, o.read_only);
  s.set_str(lt::settings_pack::user_agent, "digm");
  auto ttl = std::chrono::seconds(o.peer_ttl_s);
  params.dht_storage_constructor = [ttl](const lt::settings_interface& settings) {
    return std::unique_ptr<lt::dht::dht_storage_interface>(new TtlStorage(settings, ttl));
  };

  if (o.bittorrent) {
    params.extensions.push_back(bt::NoDelayPlugin());
    params.extensions.push_back(bt::SendersPlugin());
  }
  auto storages = std::make_shared<Storages>();
  params.disk_io_constructor = bt::DiskIoConstructor(
      [storages](const lt::storage_params& p) { return storages->Find(p.info_hash); });
  std::unique_ptr<Impl> impl;
  {
    // The session's own TLS context loads the CA file OpenSSL's environment
    // variable names (SSL_CERT_FILE), once, while it starts.
    std::optional<ScopedEnv> no_ca;
    if (!o.https_trackers) no_ca.emplace(X509_get_default_cert_file_env(), "/dev/null");
    impl = std::make_unique<Impl>(std::move(params), storages);
  }
  impl->bittorrent = o.bittorrent;
  impl->state_file = o.state_file;
  impl->log = o.log;
  for (const auto& n : nodes) impl->session.add_dht_node(n);
  impl->bootstrap_nodes = nodes;
  impl->saved_nodes = saved_nodes;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Loop(); });
  std::unique_ptr<Dht> dht(new Dht(std::move(impl)));
  std::unique_lock lock(raw->mu);
  // BitTorrent needs its TCP port as well as the UDP one (uTP and the DHT):
  // a port another process holds for TCP alone would leave the node
  // announcing a swarm that TCP clients cannot reach.
  raw->cv.wait_for(lock, std::chrono::seconds(10), [raw, &o] {
    bool tcp_done = !o.bittorrent || !raw->tcp_endpoints.empty();
    return !raw->listen_error.empty() || (o.bittorrent && !raw->tcp_error.empty()) ||
           (raw->listening && tcp_done);
  });
  std::string who = "BitTorrent", why;
  if (o.bittorrent && !raw->tcp_error.empty()) {
    why = raw->tcp_error;
  } else if (!raw->listening) {
    if (o.dht) who = "DHT";  // the UDP socket, which the DHT listens on
    why = raw->listen_error.empty() ? "timed out" : raw->listen_error;
  } else if (o.bittorrent && raw->tcp_endpoints.empty()) {
    why = "timed out";
  }
  lock.unlock();
  if (!why.empty()) return Status::Network(who + ": cannot listen on " + interfaces + ": " + why);
  return dht;
}

Dht::~Dht() {
  if (!impl_) return;
  (void)SaveState();
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
  }
  // An alert wakes the loop from its wait at once, not up to 200 ms later.
  impl_->session.post_session_stats();
  impl_->thread.join();
}

size_t Dht::saved_nodes() const { return impl_->saved_nodes; }

std::string Dht::endpoint() const {
  std::lock_guard lock(impl_->mu);
  return impl_->endpoint;
}

std::vector<std::string> Dht::bt_endpoints() const {
  std::lock_guard lock(impl_->mu);
  return impl_->tcp_endpoints;
}

size_t Dht::RoutingTableSize() {
  // Fresh: asks for the stats and waits for them (the loop's own are at most
  // a quarter second old).
  std::unique_lock lock(impl_->mu);
  uint64_t seen = impl_->stats_seen;
  lock.unlock();
  impl_->session.post_dht_stats();
  lock.lock();
  impl_->cv.wait_for(lock, std::chrono::seconds(1), [&] { return impl_->stats_seen > seen; });
  return impl_->table_size;
}

void Dht::Announce(const Hash256& root, uint16_t http_port) {
  impl_->session.dht_announce(InfoHash(root), http_port);
}

std::vector<std::string> Dht::FindPeers(const Hash256& root, std::chrono::milliseconds timeout,
                                        std::chrono::milliseconds settle,
                                        std::chrono::milliseconds* first_after) {
  using Clock = std::chrono::steady_clock;
  auto ih = InfoHash(root);
  auto start = Clock::now(), deadline = start + timeout;
  std::unique_lock lock(impl_->mu);
  impl_->found.erase(ih);
  auto have = [&] { return !impl_->found[ih].empty(); };
  std::optional<Clock::time_point> first;
  // A lookup started before the routing table holds a node ends at once, so
  // a new one starts after 50 ms, then after twice as long each time (at
  // most a second): a fresh node answers fast and a slow DHT is not flooded.
  std::chrono::milliseconds gap(50);
  // Once the first answers are in, others are collected for as long as the
  // first took (at least 0.1 s, at most `settle`): answers from other nodes
  // come on the same time scale, fast on a LAN, slower on the internet.
  Clock::time_point settled = deadline;
  while (Clock::now() < std::min(deadline, settled)) {
    lock.unlock();
    impl_->session.dht_get_peers(ih);
    lock.lock();
    auto until = std::min({deadline, settled, Clock::now() + gap});
    gap = std::min(gap * 2, std::chrono::milliseconds(1000));
    impl_->cv.wait_until(lock, until, [&] { return !first && have(); });
    if (!first && have()) {
      first = Clock::now();
      Clock::duration most = settle,
                      least = std::min<Clock::duration>(std::chrono::milliseconds(100), most);
      settled = *first + std::clamp<Clock::duration>(*first - start, least, most);
    }
  }
  if (first_after && first)
    *first_after = std::chrono::duration_cast<std::chrono::milliseconds>(*first - start);
  std::vector<std::string> urls;
  for (const auto& e : impl_->found[ih]) urls.push_back("http://" + bt::EndpointText(e));
  return urls;
}

Status Dht::SaveState() {
  if (impl_->state_file.empty()) return Status::Ok();
  lt::session_params p = impl_->session.session_state(lt::session_handle::save_dht_state);
  std::vector<char> buf = lt::write_session_params_buf(p, lt::session_handle::save_dht_state);
  return WriteOutput(impl_->state_file, std::string_view(buf.data(), buf.size()), 0600);
}

Status Dht::Seed(const std::string& torrent, const TorrentLayout& layout) {
  if (!impl_->bittorrent) return Status::Usage("this session does not speak BitTorrent");
  lt::error_code ec;
  auto ti =
      std::make_shared<lt::torrent_info>(torrent.data(), static_cast<int>(torrent.size()), ec);
  if (ec) return Status::BadInput("not a torrent: " + ec.message());
  if (bt::RealFiles(*ti) != 1 || static_cast<uint64_t>(ti->total_size()) != layout.size ||
      !ti->info_hashes().has_v1()) {
    return Status::BadInput("the torrent is not the track's " + std::to_string(layout.size) +
                            " stored bytes");
  }
  std::string btih = bt::Btih(ti->info_hashes());
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->seeds.count(btih)) return Status::Ok();
  }
  if (!impl_->storages->Add(ti->info_hashes(), bt::ChunkFileStorage(layout)))
    return Status::BadInput("the torrent is in this session already");
  lt::add_torrent_params atp;
  atp.ti = ti;
  atp.save_path = ".";
  // Seed mode: every piece is taken as had, and hashed before its first
  // upload, so a damaged chunk file is never sent.
  atp.flags = lt::torrent_flags::seed_mode | lt::torrent_flags::override_web_seeds |
              lt::torrent_flags::disable_lsd;
  lt::torrent_handle h = impl_->session.add_torrent(std::move(atp), ec);
  if (ec) {
    impl_->storages->Remove(ti->info_hashes());
    return Status::BadInput("cannot seed " + btih + ": " + ec.message());
  }
  std::lock_guard lock(impl_->mu);
  impl_->seeds[btih] = h;
  return Status::Ok();
}

namespace {
// The torrent seeded under `btih` (invalid when none), taken off the list
// when `forget`.
lt::torrent_handle SeedHandle(Dht::Impl& impl, const std::string& btih, bool forget) {
  std::lock_guard lock(impl.mu);
  auto it = impl.seeds.find(btih);
  if (it == impl.seeds.end()) return {};
  lt::torrent_handle h = it->second;
  if (forget) impl.seeds.erase(it);
  return h;
}
}  // namespace

void Dht::StopSeeding(const std::string& btih) {
  lt::torrent_handle h = SeedHandle(*impl_, btih, true);
  if (!h.is_valid()) return;
  lt::info_hash_t hashes = h.info_hashes();
  impl_->session.remove_torrent(h);
  impl_->storages->Remove(hashes);
}

std::vector<std::string> Dht::Seeding() {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> out;
  for (const auto& [btih, _] : impl_->seeds) out.push_back(btih);
  return out;
}

void Dht::AnnounceTorrent(const std::string& btih) {
  if (lt::torrent_handle h = SeedHandle(*impl_, btih, false); h.is_valid()) h.force_dht_announce();
}

Result<std::unique_ptr<Swarm>> Dht::Join(const TorrentSource& source, uint64_t size,
                                         const std::string& temp_dir) {
  if (!impl_->bittorrent) return Status::Usage("this session does not speak BitTorrent");
  lt::add_torrent_params atp;
  lt::error_code ec;
  if (!source.magnet.empty()) {
    lt::parse_magnet_uri(source.magnet, atp, ec);
    if (ec) return Status::BadInput("not a magnet link: " + ec.message());
  } else {
    atp.ti = std::make_shared<lt::torrent_info>(source.torrent.data(),
                                                static_cast<int>(source.torrent.size()), ec);
    if (ec) return Status::BadInput("not a torrent: " + ec.message());
  }
  // Web seeds are the fetcher's HTTP nodes, asked under its own rules.
  atp.url_seeds.clear();
  atp.flags = lt::torrent_flags::override_web_seeds | lt::torrent_flags::disable_lsd;
  // Nothing is downloaded until it is asked for: a magnet link's torrent
  // would otherwise fetch pieces at the default priority from when its
  // metadata comes until the alert loop has set them (a small track whole).
  atp.file_priorities = {lt::dont_download};
  atp.save_path = temp_dir;
  std::string path = temp_dir + "/.digm-bt-XXXXXX";
  int fd = mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) {
    return Status::BadInput("cannot create a temporary file in '" + temp_dir +
                            "': " + std::strerror(errno));
  }
  unlink(path.c_str());  // gone however the process ends
  auto state = std::make_shared<Swarm::State>();
  state->impl = impl_.get();
  state->size = size;
  state->storage = bt::DownloadStorage(fd);
  state->hashes = atp.ti ? atp.ti->info_hashes() : atp.info_hashes;
  auto ti = atp.ti;
  atp.userdata = lt::client_data_t(state->senders.get());  // filled by bt::SendersPlugin
  if (!impl_->storages->Add(state->hashes, state->storage))
    return Status::BadInput("the torrent is in this session already");
  {
    // Known to the alert loop before it can see the torrent's alerts: the
    // metadata's comes once, and Has and Want wait for it.
    std::lock_guard lock(impl_->mu);
    lt::torrent_handle h = impl_->session.add_torrent(std::move(atp), ec);
    if (ec) {
      impl_->storages->Remove(state->hashes);
      return Status::BadInput("cannot join the swarm: " + ec.message());
    }
    state->handle = h;
    impl_->swarms[h] = state;
  }
  if (ti) {
    std::lock_guard lock(state->mu);
    state->Metadata(*ti);
  }
  return std::unique_ptr<Swarm>(new Swarm(state));
}

Swarm::Swarm(std::shared_ptr<State> state) : state_(std::move(state)) {}

Swarm::~Swarm() {
  Dht::Impl* impl = state_->impl;
  impl->session.remove_torrent(state_->handle);
  {
    std::lock_guard lock(impl->mu);
    impl->swarms.erase(state_->handle);
  }
  impl->storages->Remove(state_->hashes);
}

void Swarm::Want(uint64_t offset, uint64_t size) {
  std::lock_guard lock(state_->mu);
  if (state_->piece_length == 0) {
    state_->wanted.emplace_back(offset, size);
  } else {
    state_->Prioritize(offset, size);
  }
}

void Swarm::Done(uint64_t offset, uint64_t size) {
  state_->storage->Release(offset, size);
  std::lock_guard lock(state_->mu);
  if (state_->piece_length == 0 || size == 0) return;
  auto pl = static_cast<uint64_t>(state_->piece_length);
  // The pieces wholly inside the range; the last piece may be short.
  uint64_t first = (offset + pl - 1) / pl;
  uint64_t end = std::min<uint64_t>(offset + size, state_->size);
  for (uint64_t p = first; p < state_->have.size(); ++p) {
    uint64_t piece_end = std::min((p + 1) * pl, state_->size);
    if (piece_end > end) break;
    if (!state_->have[p])
      state_->handle.piece_priority(lt::piece_index_t(static_cast<int>(p)), lt::dont_download);
  }
}

bool Swarm::Has(uint64_t offset, uint64_t size) {
  std::lock_guard lock(state_->mu);
  if (state_->piece_length == 0 || offset + size > state_->size) return false;
  auto [first, last] = state_->Pieces(offset, size);
  for (int p = first; p <= last; ++p) {
    if (!state_->have[static_cast<size_t>(p)]) return false;
  }
  return true;
}

Result<std::string> Swarm::Read(uint64_t offset, uint64_t size) {
  std::string out(size, '\0');
  if (!state_->storage->Read(offset, out.data(), out.size()))
    return Status::BadInput(std::string("reading the swarm's temporary file: ") +
                            std::strerror(errno));
  state_->storage->Release(offset, size);
  return out;
}

std::string Swarm::Sender(uint64_t offset, uint64_t size) {
  uint64_t piece_length;
  {
    std::lock_guard lock(state_->mu);
    piece_length = static_cast<uint64_t>(state_->piece_length);
  }
  return state_->senders->Most(offset, size, piece_length);
}

size_t Swarm::Peers() {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(state_->mu);
    if (now - state_->peers_at < std::chrono::milliseconds(250)) return state_->peers;
  }
  auto st = state_->handle.status({});
  std::lock_guard lock(state_->mu);
  state_->peers = static_cast<size_t>(std::max(st.num_peers, 0));
  state_->peers_at = now;
  return state_->peers;
}

void Swarm::OnPiece(std::function<void()> wake) {
  std::lock_guard lock(state_->mu);
  state_->wake = std::move(wake);
}

Status Swarm::status() {
  std::lock_guard lock(state_->mu);
  return state_->status;
}

std::vector<std::pair<std::string, std::string>> Swarm::Banned() {
  std::lock_guard lock(state_->mu);
  return state_->banned;
}

}  // namespace digm
