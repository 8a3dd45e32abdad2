#include "digm/dht.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/kademlia/dht_storage.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/session_stats.hpp>
#include <libtorrent/settings_pack.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

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

struct Dht::Impl {
  explicit Impl(lt::session_params params) : session(std::move(params)) {}

  lt::session session;
  std::string state_file;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false, listening = false;
  std::function<void(std::string_view)> log;  // libtorrent's DHT log lines, when set
  std::string listen_error, endpoint;
  std::map<lt::sha1_hash, std::set<lt::tcp::endpoint>> found;
  std::vector<std::pair<std::string, int>> bootstrap_nodes;  // only the loop thread touches these
  std::chrono::steady_clock::time_point next_rejoin =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  std::chrono::milliseconds rejoin_gap{500};
  size_t saved_nodes = 0;
  std::thread thread;

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
          if (l->socket_type == lt::socket_type_t::utp) {  // the UDP socket, which the DHT uses
            listening = true;
            endpoint = l->address.to_string() + ":" + std::to_string(l->port);
            if (l->address.is_v6())
              endpoint = "[" + l->address.to_string() + "]:" + std::to_string(l->port);
          }
        } else if (log && (a->category() & lt::alert_category::dht_log)) {
          log(a->message());
        } else if (auto* f = lt::alert_cast<lt::listen_failed_alert>(a)) {
          if (f->socket_type == lt::socket_type_t::utp && !listening) listen_error = f->message();
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
  DIGM_RETURN_IF_ERROR(ProbeUdpPort(listen));

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
  s.set_str(lt::settings_pack::listen_interfaces, listen);
  s.set_bool(lt::settings_pack::enable_dht, true);
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
                (o.log ? lt::alert_category::dht_log : lt::alert_category_t{}));
  s.set_bool(lt::settings_pack::dht_read_only, o.read_only);
  s.set_str(lt::settings_pack::user_agent, "digm");
  auto ttl = std::chrono::seconds(o.peer_ttl_s);
  params.dht_storage_constructor = [ttl](const lt::settings_interface& settings) {
    return std::unique_ptr<lt::dht::dht_storage_interface>(new TtlStorage(settings, ttl));
  };

  auto impl = std::make_unique<Impl>(std::move(params));
  impl->state_file = o.state_file;
  impl->log = o.log;
  for (const auto& n : nodes) impl->session.add_dht_node(n);
  impl->bootstrap_nodes = nodes;
  impl->saved_nodes = saved_nodes;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Loop(); });
  std::unique_ptr<Dht> dht(new Dht(std::move(impl)));
  std::unique_lock lock(raw->mu);
  raw->cv.wait_for(lock, std::chrono::seconds(10),
                   [raw] { return raw->listening || !raw->listen_error.empty(); });
  if (!raw->listening) {
    std::string why = raw->listen_error.empty() ? "timed out" : raw->listen_error;
    lock.unlock();
    return Status::Network("DHT: cannot listen on " + listen + ": " + why);
  }
  return dht;
}

Dht::~Dht() {
  if (!impl_) return;
  (void)SaveState();
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->thread.join();
}

size_t Dht::saved_nodes() const { return impl_->saved_nodes; }

std::string Dht::endpoint() const {
  std::lock_guard lock(impl_->mu);
  return impl_->endpoint;
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
  for (const auto& e : impl_->found[ih]) {
    std::string host = e.address().to_string();
    if (e.address().is_v6()) host = "[" + host + "]";
    urls.push_back("http://" + host + ":" + std::to_string(e.port()));
  }
  return urls;
}

Status Dht::SaveState() {
  if (impl_->state_file.empty()) return Status::Ok();
  lt::session_params p = impl_->session.session_state(lt::session_handle::save_dht_state);
  std::vector<char> buf = lt::write_session_params_buf(p, lt::session_handle::save_dht_state);
  return WriteOutput(impl_->state_file, std::string_view(buf.data(), buf.size()), 0600);
}

}  // namespace digm
