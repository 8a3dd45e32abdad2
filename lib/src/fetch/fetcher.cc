#include "digm/fetcher.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "base/background.h"
#include "digm/assemble.h"
#include "digm/clock.h"
#include "digm/crypto.h"
#include "digm/dht.h"
#include "digm/file.h"
#include "digm/http_client.h"
#include "digm/node_client.h"
#include "digm/torrent.h"

namespace digm {
namespace {

double Now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

constexpr long kIdentityTimeoutMs = 3000;

struct Peer {
  std::string url;
  int in_flight = 0;
  double per_chunk = 0;    // measured seconds per chunk (latency and throughput), 0: not yet
  double oldest = 0;       // when its oldest request in flight started
  int failures = 0;        // in a row
  double retry_after = 0;  // backoff
  bool dropped = false;
  Delivery delivery;
  // What it charges (from its signed pong) and how it is paid.
  std::optional<Price> price;
  const Channel* channel = nullptr;
  bool spent = false;       // dropped as its channel could not pay for more
  uint64_t asked = 0;       // bytes asked of it this fetch, paid on top of
  int64_t base = 0;         // what the channel's vouchers had paid before this fetch
  uint64_t signed_for = 0;  // of `asked`, those the last voucher pays for
  uint64_t seq = 0;
  // The payment's request headers, whole ("Digm-Channel: {...}"): the
  // channel's made once, the voucher's when one is signed.
  std::string channel_header, voucher_header;
  // What it costs, to ask the cheapest first: its price per MB (free: 0);
  // when paying, one that did not prove who it is costs most.
  int64_t cost = 0;
};

struct ChunkState {
  // kCached: the cache holds it; read when the writer reaches it, so memory
  // stays bounded by the window however much is cached.
  enum { kPending, kInFlight, kDone, kCached } state = kPending;
  int requests = 0;          // in flight for it
  std::vector<bool> tried;   // per peer, failed for this chunk
  std::vector<bool> asking;  // per peer, a request for it in flight
  int rounds = 0;            // times every peer failed it
  bool swarm = false;        // asked of the swarm (counted in requests)
  double started = 0;
  std::string stored;  // verified stored bytes, until written
};

// The channel of `channels` that pays a node proven to be `id`, in the
// asset it charges in; null when it is free or none does.
const Channel* ChannelFor(const std::vector<Channel>& channels, const NodeProof& id) {
  if (!id.price || id.price->per_mb <= 0) return nullptr;
  const Channel* found = nullptr;
  for (const auto& c : channels) {
    if (c.payee == id.address && c.asset.name == id.price->asset.name) found = &c;
  }
  return found;
}

}  // namespace

// One peer's answers: who it is and, when a channel pays it, that
// channel's account at the node (GET /channels/ID, with the channel, which
// the node checks then: a channel it would not take is 402 here, before any
// content is asked).
struct PeerProbe {
  Result<NodeProof> id = Status::Network("not asked");
  std::string channel;  // the id asked about; empty: none
  Result<HttpResult> account = Status::Network("not asked");
};

class PeerProbes {
 public:
  std::vector<Background<PeerProbe>> each;
};

std::shared_ptr<PeerProbes> ProbePeers(const std::vector<std::string>& peers,
                                       const std::vector<Channel>& channels) {
  auto probes = std::make_shared<PeerProbes>();
  for (const auto& url : peers) {
    probes->each.emplace_back([url = BaseUrl(url), channels] {
      PeerProbe probe;
      probe.id = ProveNode(url, kIdentityTimeoutMs);
      const Channel* c = probe.id.ok() ? ChannelFor(channels, *probe.id) : nullptr;
      if (!c) return probe;
      probe.channel = c->id;
      probe.account =
          HttpCall("GET", url + "/channels/" + c->id, "",
                   {.timeout_ms = kIdentityTimeoutMs,
                    .connect_timeout_ms = kIdentityTimeoutMs,
                    .max_body = 64 << 10,
                    .headers = {std::string(kChannelHeader) + ": " + DumpDocument(c->doc)}});
      return probe;
    });
  }
  return probes;
}

namespace {

// Opens, hashes and writes verified chunks in order on a thread of its own,
// so decryption and the whole-track hash overlap the network.
class Writer {
 public:
  Writer(ChunkOpener& opener, int fd) : opener_(opener), fd_(fd), thread_([this] { Loop(); }) {}
  ~Writer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Queues the next chunk (blocks while kQueue are waiting). False after a failure.
  bool Push(size_t index, std::string stored) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < kQueue || !status_.ok(); });
    if (!status_.ok()) return false;
    queue_.emplace_back(index, std::move(stored));
    cv_.notify_all();
    return true;
  }

  // Waits until everything queued is written; the writer's status and the
  // SHA-256 of all the plaintext.
  Status Finish(Hash256* digest) {
    std::unique_lock<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return done_; });
    *digest = digest_;
    return status_;
  }

 private:
  static constexpr size_t kQueue = 16;

  void Loop() {
    Sha256Hasher source;
    StreamWriter out(fd_);
    for (;;) {
      std::pair<size_t, std::string> item;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || closed_; });
        if (queue_.empty() || !status_.ok()) break;
        item = std::move(queue_.front());
        queue_.pop_front();
        cv_.notify_all();
      }
      const std::string& stored = item.second;
      auto plain = opener_.Open(
          item.first, std::span(reinterpret_cast<const uint8_t*>(stored.data()), stored.size()),
          /*hash_checked=*/true);
      Status s = plain.ok() ? out.Write(*plain).Context("writing the track") : plain.status();
      if (plain.ok()) source.Update(*plain);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        status_ = s;
        cv_.notify_all();
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    digest_ = source.Final();
    done_ = true;
    cv_.notify_all();
  }

  ChunkOpener& opener_;
  int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<size_t, std::string>> queue_;
  bool closed_ = false, done_ = false;
  Status status_;
  Hash256 digest_{};
  std::thread thread_;
};

struct Transfer {
  ~Transfer() { curl_slist_free_all(headers); }
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;  // the payment's, freed with the transfer
  size_t chunk = 0, peer = 0;
  double started = 0;
  std::string body;
  size_t limit = 0;  // the chunk's stored size: a longer answer is cut off
};

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  auto* t = static_cast<Transfer*>(out);
  if (t->body.size() + size * n > t->limit) return 0;  // CURLE_WRITE_ERROR
  t->body.append(data, size * n);
  return size * n;
}

// The swarm as a source: which chunks it is asked for, and who in it
// delivered what (peers known by their endpoint only, so never paid).
struct SwarmSource {
  Swarm* swarm = nullptr;
  std::vector<uint64_t> offsets;  // of each chunk in the torrent's file
  size_t asked = 0;               // chunks assigned to it, not yet had
  double last_progress = 0;       // when it last yielded a chunk (or joined)
  bool dropped = false;
  std::string reason;
  std::map<std::string, Delivery> deliveries;  // by bt:// URL
  size_t banned_seen = 0;
};

class Fetch {
 public:
  Fetch(const Manifest& m, const FetchOptions& o) : m_(m), o_(o) {
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(o.per_peer));
    for (const auto& url : o.peers) {
      Peer p;
      p.url = BaseUrl(url);
      p.delivery.url = p.url;
      peers_.push_back(std::move(p));
    }
    count_ = o.preview_only && m.encryption ? m.encryption->preview_chunks : m.chunks.size();
    if (o.swarm) {
      swarm_.swarm = o.swarm;
      swarm_.offsets = TrackLayout(m, nullptr).offsets;
      swarm_.last_progress = Now();
      o.swarm->OnPiece([multi = multi_] { curl_multi_wakeup(multi); });
    }
    chunks_.resize(count_);
    for (auto& c : chunks_) {
      c.tried.assign(peers_.size(), false);
      c.asking.assign(peers_.size(), false);
    }
  }

  ~Fetch() {
    if (swarm_.swarm) swarm_.swarm->OnPiece(nullptr);
    for (auto& t : transfers_) {
      curl_multi_remove_handle(multi_, t->easy);
      curl_easy_cleanup(t->easy);
    }
    curl_multi_cleanup(multi_);
  }

  Result<FetchResult> Run(int fd) {
    FetchResult result;
    result.started = UnixNow();
    // Who is who, for the receipt: each peer proves its key at its URL, in
    // parallel with the transfer (and, when the caller started the probes,
    // with resolving the manifest), so a free fetch never waits for it.
    std::shared_ptr<PeerProbes> probes = o_.probes;
    if (!probes || probes->each.size() != peers_.size())
      probes = ProbePeers(o_.peers, o_.payer ? o_.channels : std::vector<Channel>{});
    if (o_.payer) PlanPayments(*probes);
    DIGM_ASSIGN_OR_RETURN(ChunkOpener opener, ChunkOpener::Create(m_, o_.key));
    if (o_.cache) {
      for (size_t i = 0; i < count_; ++i) {
        if (o_.cache->Has(m_.chunks[i].hash)) chunks_[i].state = ChunkState::kCached;
      }
    }
    for (size_t i = 0; i < count_; ++i) progress_.total += m_.chunks[i].size;
    Writer writer(opener, fd);
    Hash256 digest;
    size_t next_write = 0;
    while (next_write < count_) {
      while (next_write < count_ && (chunks_[next_write].state == ChunkState::kDone ||
                                     chunks_[next_write].state == ChunkState::kCached)) {
        ChunkState& c = chunks_[next_write];
        if (c.state == ChunkState::kCached && !ReadCached(next_write, result)) {
          c.state = ChunkState::kPending;  // damaged or gone: fetch it
          break;
        }
        if (!writer.Push(next_write, std::move(chunks_[next_write].stored)))
          return writer.Finish(&digest);
        std::string().swap(chunks_[next_write].stored);
        ++next_write;
      }
      if (next_write == count_) break;
      DIGM_RETURN_IF_ERROR(Schedule(next_write));
      int running = 0;
      curl_multi_perform(multi_, &running);
      // Waits for the sockets only while every transfer is still running:
      // one that this perform finished is harvested now, not after the
      // poll's timeout (which, with nothing left to wait on, it would take).
      if (running >= static_cast<int>(transfers_.size())) {
        curl_multi_poll(multi_, nullptr, 0, 50, nullptr);
        curl_multi_perform(multi_, &running);
      }
      Harvest(result);
      DIGM_RETURN_IF_ERROR(PollSwarm(next_write));
      if (o_.progress) {
        progress_.peers =
            std::count_if(peers_.begin(), peers_.end(), [](const Peer& p) { return !p.dropped; });
        if (SwarmUsable()) progress_.peers += swarm_.swarm->Peers();
        o_.progress(progress_);
      }
    }
    // Every chunk is in and verified: the nodes are paid the rest while the
    // writer finishes and the caller commits the output, whatever becomes
    // of it (the payments were a round trip and a signature check on each
    // node after the last chunk, before the output's fsync).
    std::vector<Background<Result<HttpResult>>> settling;
    if (o_.payer) settling = Settle();
    Status written = writer.Finish(&digest);
    if (written.ok() && count_ == m_.chunks.size() && digest != m_.source_sha256)
      written = Status::Integrity("the fetched track does not match its source.sha256");
    if (written.ok() && o_.written) written = o_.written();
    for (auto& post : settling)
      (void)post.Get(std::chrono::milliseconds(kIdentityTimeoutMs + 1000));
    DIGM_RETURN_IF_ERROR(written);
    result.finished = UnixNow();
    result.cache_error = cache_error_;
    result.to_cache = to_cache_;
    for (size_t i = 0; i < peers_.size(); ++i) {
      Delivery d = peers_[i].delivery;
      // Only a peer that delivered is waited for (at most its timeout); one
      // that did not prove its key is named by URL alone and never paid.
      auto probe =
          probes->each[i].Get(std::chrono::milliseconds(d.chunks.empty() ? 0 : kIdentityTimeoutMs));
      if (probe && probe->id.ok()) d.node_id = AddressToString(probe->id->address);
      result.deliveries.push_back(std::move(d));
    }
    if (swarm_.swarm) {
      NoteBanned();
      for (auto& [url, d] : swarm_.deliveries) result.deliveries.push_back(std::move(d));
    }
    return result;
  }

 private:
  // Moves cached chunk `i` to kDone; false when the cache cannot give it whole.
  bool ReadCached(size_t i, FetchResult& result) {
    auto bytes = o_.cache->Get(m_.chunks[i].hash);
    if (!bytes.ok() || Sha256(*bytes) != m_.chunks[i].hash) return false;
    chunks_[i].state = ChunkState::kDone;
    chunks_[i].stored.assign(bytes->begin(), bytes->end());
    result.from_cache += m_.chunks[i].size;
    progress_.bytes += m_.chunks[i].size;
    return true;
  }

  // Starts requests for pending chunks in the window, and duplicates of the
  // oldest in flight when peers would otherwise idle near the end.
  Status Schedule(size_t next_write) {
    double now = Now();
    size_t end = std::min(count_, next_write + o_.window);
    bool pending_left = false;
    for (size_t i = next_write; i < end; ++i) {
      ChunkState& c = chunks_[i];
      if (c.state != ChunkState::kPending) continue;
      pending_left = true;
      int peer = PickPeer(c, now);
      if (peer < 0) {
        if (SwarmUsable()) continue;  // the swarm takes it
        if (!AnyPeerCanServe(c)) {
          if (++c.rounds > 10) {
            return Status::Network("no peer could serve chunk " + std::to_string(i) + " of " +
                                   HexEncode(*m_.root));
          }
          std::fill(c.tried.begin(), c.tried.end(), false);  // another round, after backoff
        }
        continue;
      }
      Start(i, static_cast<size_t>(peer));
    }
    AskSwarm(next_write);
    // Hedging: a request that has taken a few times what the best peer
    // takes per chunk goes to another peer too, so one slow peer cannot hold
    // back the writer (the first byte above all).
    if (double best = BestPerChunk(); best > 0) {
      for (size_t i = next_write; i < end; ++i) {
        ChunkState& c = chunks_[i];
        if (c.state != ChunkState::kInFlight || c.requests > 1) continue;
        // A chunk the writer waits for that the swarm still has to finish is
        // raced at once: every moment of that wait is the whole fetch's.
        bool waited = c.swarm && i == next_write && HttpUsable();
        if (!waited && now - c.started < kHedgeFactor * best + kHedgeSlack) continue;
        // The swarm keeps its chunks while it delivers, unless the writer waits.
        if (c.swarm && i != next_write && now - swarm_.last_progress < kSwarmStall) continue;
        int peer = PickPeer(c, now);
        if (peer >= 0) Start(i, static_cast<size_t>(peer));
      }
    }
    if (!pending_left) {
      // Long tail: a second request for the oldest chunk in flight.
      for (size_t i = next_write; i < end; ++i) {
        ChunkState& c = chunks_[i];
        if (c.state != ChunkState::kInFlight || c.requests > 1 || now - c.started < 0.5) continue;
        int peer = PickPeer(c, now);
        if (peer >= 0) Start(i, static_cast<size_t>(peer));
        break;
      }
    }
    if (transfers_.empty() && !SwarmUsable() &&
        std::all_of(peers_.begin(), peers_.end(), [](const Peer& p) { return p.dropped; })) {
      if (swarm_.swarm && peers_.empty()) {
        return Status::Network("the BitTorrent swarm cannot serve " + HexEncode(*m_.root) + ": " +
                               swarm_.reason);
      }
      Status s = Status::Network("no peer could serve " + HexEncode(*m_.root) + " (all " +
                                 std::to_string(peers_.size() + (swarm_.swarm ? 1 : 0)) +
                                 " failed: " + FailureList() + ")");
      bool unpaid = saw_402_unpaid_ || std::any_of(peers_.begin(), peers_.end(), [](const Peer& p) {
                      return p.price && !p.channel;
                    });
      if (unpaid) {
        return s.WithHint(
            "a node charges for its content: open a channel to it (digm-pay channel open) and "
            "add --pay CHANNEL --wallet WALLET");
      }
      if (saw_402_paid_) {
        return s.WithHint(
            "a node would not serve on what this fetch pays it (its words are above): fetch "
            "from other nodes, or pay it through a new channel (digm-pay channel open)");
      }
      std::string spent;
      size_t n = 0;
      for (const auto& p : peers_) {
        if (!p.spent) continue;
        spent += (n++ ? ", " : "") + p.channel->id;
      }
      if (n > 0) {
        return s.WithHint(std::string(n > 1 ? "the --pay channels " : "the --pay channel ") +
                          spent +
                          (n > 1 ? " are spent: open new ones (digm-pay channel open) and pass "
                                   "them with --pay"
                                 : " is spent: open a new one (digm-pay channel open) and pass "
                                   "it with --pay"));
      }
      return s;
    }
    return Status::Ok();
  }

  // Why a node answered 402, from its digm.invoice/1: a node this fetch
  // does not pay charges; one it pays either would not take the payment (the
  // invoice's error) or asked for more than it was paid (owed and paid).
  static std::string Why402(bool paying, const std::string& body) {
    auto doc = ParseJson(body);
    bool is_object = doc.ok() && doc->is_object();
    bool refused = is_object && doc->contains("error");
    std::string words;
    if (refused) {
      words = RefusalText(HttpResult{402, body});
    } else if (is_object) {
      std::string owed = StringOr(*doc, "owed", ""), paid = StringOr(*doc, "paid", "");
      std::string asset;
      if (auto price = doc->find("price"); price != doc->end() && price->is_object())
        asset = StringOr(*price, "asset", "");
      if (!asset.empty()) asset = " " + asset;
      if (!owed.empty() && !paid.empty()) words = "owed " + owed + asset + ", paid " + paid + asset;
      if (words.size() > 120) words.clear();
    }
    return std::string(!paying   ? "charges for its content"
                       : refused ? "would not take this fetch's payment"
                                 : "asked for more than it was paid") +
           " (HTTP 402" + (words.empty() ? "" : ": " + words) + ")";
  }

  // Why the peers failed, for the error that ends the fetch: the first
  // few, each once ("URL: why; URL: why; and N more").
  std::string FailureList() const {
    constexpr size_t kShown = 3;
    std::string out;
    size_t shown = 0;
    for (const auto& p : peers_) {
      if (shown == kShown) break;
      out += (shown++ ? "; " : "") + p.url + ": " +
             (p.delivery.reason.empty() ? "no answer" : p.delivery.reason);
    }
    if (swarm_.swarm && shown < kShown) {
      out += (shown++ ? "; " : "") + std::string("the BitTorrent swarm: ") +
             (swarm_.reason.empty() ? "no piece" : swarm_.reason);
    }
    size_t all = peers_.size() + (swarm_.swarm ? 1 : 0);
    if (all > shown) out += "; and " + std::to_string(all - shown) + " more";
    return out;
  }

  static constexpr double kSwarmStall = 1.0;  // seconds without a chunk: HTTP peers help

  // Keeps a verified chunk in the cache, until the cache first fails (its
  // disk full, say): then no more is written to it, and the caller is told.
  void Keep(const Hash256& hash, std::span<const uint8_t> bytes) {
    if (!o_.cache || !cache_error_.empty()) return;
    if (Status s = o_.cache->Put(hash, bytes); !s.ok()) {
      cache_error_ = s.message();
    } else {
      to_cache_ += bytes.size();
    }
  }

  bool SwarmUsable() const { return swarm_.swarm && !swarm_.dropped; }

  bool HttpUsable() const {
    return std::any_of(peers_.begin(), peers_.end(), [](const Peer& p) { return !p.dropped; });
  }

  // Asks the swarm for pending chunks: while HTTP peers serve the window, a
  // few from the far end of the next window, so that a swarm slower than
  // they are has them done before the writer comes to them (asked within
  // the window, the writer waited on them, a tenth of a mixed fetch); the
  // whole window without HTTP peers.
  // While HTTP peers serve, a chunk the swarm will not deliver costs the
  // writer a wait when it comes to it (then HTTP races it): so the swarm is
  // asked nothing while it has no peer connected, and one chunk at a time
  // once it has delivered nothing for a while. A magnet link whose one peer
  // could not be reached made the fetch from two HTTP nodes 38% slower.
  void AskSwarm(size_t next_write) {
    if (!SwarmUsable()) return;
    size_t limit = o_.window;
    if (HttpUsable()) {
      auto most = static_cast<size_t>(2 * o_.per_peer);
      if (swarm_.asked >= most || swarm_.swarm->Peers() == 0) return;
      limit = Now() - swarm_.last_progress < kSwarmStall ? most : 1;
    }
    size_t far = SwarmEnd(next_write);
    for (size_t i = far; i > next_write && swarm_.asked < limit; --i) {
      ChunkState& c = chunks_[i - 1];
      if (c.state != ChunkState::kPending) continue;
      c.swarm = true;
      c.state = ChunkState::kInFlight;
      c.started = Now();
      ++c.requests;
      ++swarm_.asked;
      swarm_.swarm->Want(swarm_.offsets[i - 1], m_.chunks[i - 1].size);
    }
  }

  // Where the swarm's chunks end: a window past the HTTP peers' with them.
  size_t SwarmEnd(size_t next_write) const {
    return std::min(count_, next_write + (HttpUsable() ? 2 : 1) * o_.window);
  }

  // Under a chunk done or given up by the swarm: no longer asked of it.
  void ReleaseSwarm(ChunkState& c) {
    if (!c.swarm) return;
    c.swarm = false;
    --c.requests;
    --swarm_.asked;
  }

  void DropSwarm(std::string reason) {
    swarm_.dropped = true;
    swarm_.reason = std::move(reason);
    for (auto& c : chunks_) {
      if (!c.swarm) continue;
      ReleaseSwarm(c);
      if (c.state == ChunkState::kInFlight && c.requests == 0) c.state = ChunkState::kPending;
    }
  }

  // Peers libtorrent banned for corrupt pieces, as dropped deliveries.
  void NoteBanned() {
    auto banned = swarm_.swarm->Banned();
    for (; swarm_.banned_seen < banned.size(); ++swarm_.banned_seen) {
      const auto& [who, why] = banned[swarm_.banned_seen];
      Delivery& d = swarm_.deliveries["bt://" + who];
      d.url = "bt://" + who;
      d.dropped = true;
      d.reason = why;
    }
  }

  // Takes every chunk in the window the swarm has whole, checked against the
  // manifest: pieces pass the torrent's hashes, but a torrent of other bytes
  // would pass those too.
  Status PollSwarm(size_t next_write) {
    if (!SwarmUsable()) return Status::Ok();
    if (Status s = swarm_.swarm->status(); !s.ok()) {
      DropSwarm(s.message());
      return Status::Ok();
    }
    NoteBanned();
    double now = Now();
    size_t end = SwarmEnd(next_write);
    for (size_t i = next_write; i < end; ++i) {
      ChunkState& c = chunks_[i];
      if (c.state == ChunkState::kDone || c.state == ChunkState::kCached) continue;
      const ChunkRef& ref = m_.chunks[i];
      uint64_t offset = swarm_.offsets[i];
      if (!swarm_.swarm->Has(offset, ref.size)) continue;
      auto bytes = swarm_.swarm->Read(offset, ref.size);
      if (!bytes.ok()) {
        DropSwarm(bytes.status().message());
        return Status::Ok();
      }
      auto span = std::span(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
      if (Sha256(span) != ref.hash) {
        DropSwarm("its bytes of chunk " + std::to_string(i) + " are not the manifest's");
        return Status::Ok();
      }
      ReleaseSwarm(c);
      c.state = ChunkState::kDone;
      Keep(ref.hash, span);
      c.stored = std::move(*bytes);
      std::string who = swarm_.swarm->Sender(offset, ref.size);
      std::string url = "bt://" + (who.empty() ? std::string("unknown") : who);
      Delivery& d = swarm_.deliveries[url];
      d.url = url;
      d.chunks.push_back(i);
      d.bytes += ref.size;
      progress_.bytes += ref.size;
      swarm_.last_progress = now;
    }
    if (!HttpUsable() && transfers_.empty() &&
        now - swarm_.last_progress > o_.swarm_stall_ms / 1000.0) {
      std::string banned;
      for (const auto& [who, _] : swarm_.swarm->Banned())
        banned += (banned.empty() ? "" : ", ") + who;
      DropSwarm("nothing came for " + std::to_string(o_.swarm_stall_ms / 1000) + " s from " +
                std::to_string(swarm_.swarm->Peers()) + " connected peers" +
                (banned.empty() ? "" : " (banned for corrupt pieces: " + banned + ")"));
    }
    return Status::Ok();
  }

  bool AnyPeerCanServe(const ChunkState& c) const {
    for (size_t p = 0; p < peers_.size(); ++p) {
      if (!peers_[p].dropped && !c.tried[p]) return true;
    }
    return false;
  }

  static constexpr double kHedgeFactor = 4;    // times the best peer's time per chunk
  static constexpr double kHedgeSlack = 0.05;  // seconds, against jitter on loopback

  // The fastest measured time per chunk among the peers in use; 0: none yet.
  double BestPerChunk() const {
    double best = 0;
    for (const auto& p : peers_) {
      if (!p.dropped && p.per_chunk > 0 && (best == 0 || p.per_chunk < best)) best = p.per_chunk;
    }
    return best;
  }

  // What a chunk from `p` is expected to take: its measured time, or as long
  // as its oldest request has been waiting if that is longer.
  double Expected(const Peer& p, double now) const {
    return std::max(p.per_chunk, p.in_flight > 0 ? now - p.oldest : 0.0);
  }

  // The usable peer expected to deliver the chunk soonest, counting what it
  // already has in flight; -1 if none now. A peer that is known to take more
  // than a few times the best one is left alone while that one can serve.
  int PickPeer(const ChunkState& c, double now) {
    // Cheapest first: a dearer peer is asked only when no cheaper one could
    // take the chunk (gone, failed it, backing off, or the one it stalls on);
    // a cheaper one that is merely busy is waited for.
    int64_t cheapest = INT64_MAX;
    for (size_t p = 0; p < peers_.size(); ++p) {
      const Peer& peer = peers_[p];
      if (peer.dropped || c.tried[p] || c.asking[p] || peer.retry_after > now) continue;
      cheapest = std::min(cheapest, peer.cost);
    }
    double best_time = BestPerChunk();
    int best = -1;
    double best_score = 0;
    for (size_t p = 0; p < peers_.size(); ++p) {
      const Peer& peer = peers_[p];
      if (peer.dropped || c.tried[p] || c.asking[p] || peer.in_flight >= o_.per_peer ||
          peer.retry_after > now || peer.cost > cheapest) {
        continue;
      }
      double expected = Expected(peer, now);
      if (best_time > 0 && expected > kHedgeFactor * best_time + kHedgeSlack) continue;
      double score = (peer.in_flight + 1) * std::max(expected, 1e-4);
      if (best < 0 || score < best_score) {
        best = static_cast<int>(p);
        best_score = score;
      }
    }
    return best;
  }

  // Paying: who each peer is and what it charges, before the first request.
  // A priced peer is paid through the channel to its address; one with none
  // (or a channel in another asset) is left out, named in the receipt.
  void PlanPayments(PeerProbes& probes) {
    for (size_t i = 0; i < peers_.size(); ++i) {
      Peer& p = peers_[i];
      auto probe = probes.each[i].Get(std::chrono::milliseconds(2 * kIdentityTimeoutMs));
      if (!probe || !probe->id.ok()) {
        p.cost = INT64_MAX;
        continue;
      }
      const NodeProof& id = *probe->id;
      if (!id.price || id.price->per_mb <= 0) continue;
      p.price = id.price;
      p.cost = p.price->per_mb;
      p.channel = ChannelFor(o_.channels, id);
      if (!p.channel) {
        Drop(p, "charges " + p.price->Text() + " and no --pay channel pays " +
                    AddressToString(id.address));
        continue;
      }
      p.channel_header = std::string(kChannelHeader) + ": " + DumpDocument(p.channel->doc);
      p.delivery.channel = p.channel->id;
      if (probe->channel != p.channel->id) continue;
      if (probe->account.ok() && probe->account->status == 402) {
        saw_402_paid_ = true;
        Drop(p, Why402(true, probe->account->body));
        continue;
      }
      Resume(p, probe->account);
    }
  }

  // A channel paid before (another fetch, another track) goes on from the
  // best voucher the node holds, which this payer signed: anything else it
  // answers is ignored, so a node can never make the payer pay twice.
  void Resume(Peer& p, const Result<HttpResult>& r) {
    if (!r.ok() || r->status != 200) return;
    auto doc = ParseJson(r->body);
    if (!doc.ok() || !doc->is_object()) return;
    auto it = doc->find("voucher");
    if (it == doc->end() || it->is_null()) return;
    auto v = ReadVoucher(*it, *p.channel);
    if (!v.ok()) return;
    p.base = v->amount;
    p.seq = v->seq;
    p.delivery.paid_text = FormatAmount(v->amount, p.channel->asset.decimals);
    // A fetch cut off (killed, or its last voucher lost) left the node owed
    // what it sent on credit: paid with the first voucher, but only up to
    // the credit, the most a node can have sent unpaid (so one that lies
    // about it gains at most that). A node that says it is owed more is not
    // paid it, and answers 402.
    uint64_t served = static_cast<uint64_t>(std::max(0.0, NumberOr(*doc, "served", 0)));
    uint64_t paid_for = BytesPaidBy(v->amount, p.price->per_mb);
    if (served > paid_for && served - paid_for <= p.price->credit)
      p.base += PriceOf(served - paid_for, p.price->per_mb);
  }

  void Drop(Peer& p, std::string why) {
    p.dropped = true;
    p.delivery.dropped = true;
    p.delivery.reason = std::move(why);
  }

  // Signs a voucher for everything asked of `p` with this chunk; false when
  // the channel cannot pay for it (the peer is then left out).
  //
  // A new voucher is signed only when what is asked would run ahead of the
  // last one by more than the node's credit, so with a 1 MiB credit one in
  // five 256 KiB requests carries a new one: the node has each request's
  // voucher (or a later one) when it arrives, so it never refuses. What the
  // credit covered at the end is paid by Settle.
  bool PayFor(Peer& p, uint64_t bytes) {
    uint64_t asked = p.asked + bytes;
    int64_t amount = p.base + PriceOf(asked, p.price->per_mb);
    if (amount > p.channel->amount) {
      p.spent = true;
      Drop(p, "its channel " + p.channel->id + " is spent");
      return false;
    }
    p.asked = asked;
    if (p.voucher_header.empty() || asked - p.signed_for > p.price->credit) Sign(p);
    return true;
  }

  // A voucher for everything asked of `p` so far.
  void Sign(Peer& p) {
    int64_t amount = p.base + PriceOf(p.asked, p.price->per_mb);
    p.voucher_header = std::string(kVoucherHeader) + ": " +
                       DumpDocument(MakeVoucher(*o_.payer, *p.channel, amount, ++p.seq,
                                                HexEncode(*m_.root), p.asked));
    p.signed_for = p.asked;
    p.delivery.paid_text = FormatAmount(amount, p.channel->asset.decimals);
  }

  // When the track is in: each paid node gets a voucher for all it was
  // asked, which the credit covered until now (POST /channels/ID).
  // The nodes are told at once, each on a thread of its own, which the
  // caller waits for.
  std::vector<Background<Result<HttpResult>>> Settle() {
    std::vector<Background<Result<HttpResult>>> posts;
    for (auto& p : peers_) {
      if (!p.channel || p.asked == p.signed_for) continue;
      Sign(p);
      posts.emplace_back([url = p.url + "/channels/" + p.channel->id,
                          headers = std::vector<std::string>{p.channel_header, p.voucher_header}] {
        return HttpCall("POST", url, "",
                        {.timeout_ms = kIdentityTimeoutMs,
                         .connect_timeout_ms = kIdentityTimeoutMs,
                         .max_body = 64 << 10,
                         .headers = headers});
      });
    }
    return posts;
  }

  void Start(size_t chunk, size_t peer) {
    Peer& payee = peers_[peer];
    if (payee.channel && !PayFor(payee, m_.chunks[chunk].size)) return;
    auto t = std::make_unique<Transfer>();
    t->chunk = chunk;
    t->peer = peer;
    t->body.reserve(m_.chunks[chunk].size);
    t->easy = curl_easy_init();
    std::string url = peers_[peer].url + "/content/" + HexEncode(m_.chunks[chunk].hash);
    curl_easy_setopt(t->easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, AppendBody);
    t->limit = m_.chunks[chunk].size;
    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, o_.timeout_ms);
    curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(t->easy, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(m_.chunks[chunk].size));
    curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (payee.channel) {
      t->headers = curl_slist_append(t->headers, payee.channel_header.c_str());
      t->headers = curl_slist_append(t->headers, payee.voucher_header.c_str());
      curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
    }
    curl_multi_add_handle(multi_, t->easy);
    t->started = Now();
    Peer& p = peers_[peer];
    if (p.in_flight++ == 0) p.oldest = t->started;
    ChunkState& c = chunks_[chunk];
    c.asking[peer] = true;
    if (c.state == ChunkState::kPending) c.started = t->started;
    c.state = ChunkState::kInFlight;
    ++c.requests;
    transfers_.push_back(std::move(t));
  }

  void Harvest(FetchResult& result) {
    CURLMsg* msg;
    int left = 0;
    while ((msg = curl_multi_info_read(multi_, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      long status = 0;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
      Finish(*t, msg->data.result, status, result);
      curl_multi_remove_handle(multi_, t->easy);
      curl_easy_cleanup(t->easy);
      transfers_.erase(std::find_if(transfers_.begin(), transfers_.end(),
                                    [t](const auto& p) { return p.get() == t; }));
    }
  }

  void Finish(Transfer& t, CURLcode code, long status, FetchResult& result) {
    Peer& peer = peers_[t.peer];
    ChunkState& c = chunks_[t.chunk];
    --peer.in_flight;
    --c.requests;
    c.asking[t.peer] = false;
    double now = Now();
    peer.oldest = now;  // of what it still has in flight, at most this old
    for (const auto& other : transfers_) {
      if (other.get() != &t && other->peer == t.peer)
        peer.oldest = std::min(peer.oldest, other->started);
    }
    result.downloaded += t.body.size();  // before the body moves on
    if (code == CURLE_OK && status == 200 && t.body.size() == m_.chunks[t.chunk].size) {
      double took = now - t.started;  // measured even when a duplicate won
      peer.per_chunk = peer.per_chunk == 0 ? took : 0.7 * peer.per_chunk + 0.3 * took;
    }
    if (c.state == ChunkState::kDone) return;  // a duplicate lost the race
    const ChunkRef& ref = m_.chunks[t.chunk];
    auto bytes = std::span(reinterpret_cast<const uint8_t*>(t.body.data()), t.body.size());
    if (code == CURLE_OK && status == 200) {
      if (t.body.size() == ref.size && Sha256(bytes) == ref.hash) {
        peer.failures = 0;
        ReleaseSwarm(c);
        if (swarm_.swarm) swarm_.swarm->Done(swarm_.offsets[t.chunk], ref.size);
        c.state = ChunkState::kDone;
        Keep(ref.hash, bytes);
        c.stored = std::move(t.body);
        peer.delivery.chunks.push_back(t.chunk);
        peer.delivery.bytes += ref.size;
        progress_.bytes += ref.size;
        return;
      }
      // A node that answers 200 with other bytes is lying or broken: never again.
      Drop(peer, "served bad bytes for chunk " + std::to_string(t.chunk));
    } else if (status == 402) {
      // It wants paying (more): not one this fetch pays, or one that asks
      // for more than the vouchers sent cover.
      (peer.channel ? saw_402_paid_ : saw_402_unpaid_) = true;
      Drop(peer, Why402(peer.channel != nullptr, t.body));
    } else {
      // Refused, missing, slow or cut off: try elsewhere, and back off this peer.
      ++peer.failures;
      peer.retry_after = Now() + std::min(2.0, 0.05 * (1 << std::min(peer.failures, 6)));
      if (peer.failures >= 8)
        Drop(peer, code != CURLE_OK ? curl_easy_strerror(code) : "HTTP " + std::to_string(status));
    }
    c.tried[t.peer] = true;
    if (c.requests == 0) c.state = ChunkState::kPending;
  }

  const Manifest& m_;
  const FetchOptions& o_;
  CURLM* multi_;
  std::vector<Peer> peers_;
  std::vector<ChunkState> chunks_;
  std::deque<std::unique_ptr<Transfer>> transfers_;
  size_t count_ = 0;
  FetchProgress progress_;
  SwarmSource swarm_;
  bool saw_402_unpaid_ = false;  // a node wanted paying, and no channel paid it
  bool saw_402_paid_ = false;    // a node wanted more than its channel's vouchers paid
  std::string cache_error_;      // the cache's first failure (Keep)
  uint64_t to_cache_ = 0;        // bytes Keep put in the cache
};

}  // namespace

namespace {

// The manifest of `root` from one peer, checked against the root.
Result<Manifest> ManifestFrom(const std::string& peer, const std::string& root) {
  auto r =
      HttpCall("GET", peer + "/tracks/" + root, "",
               {.timeout_ms = 5000, .connect_timeout_ms = 2000, .max_body = kMaxManifestBytes});
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return Status::Network(peer + " does not have " + root + " (HTTP " + std::to_string(r->status) +
                           ")");
  }
  auto m = ParseManifest(r->body);
  if (!m.ok()) {  // the peer's fault, not the user's: a network error
    return Status::Network("the manifest from " + peer + ": " + m.status().message());
  }
  if (HexEncode(m->ComputeRoot()) != root || (m->root && HexEncode(*m->root) != root)) {
    return Status::Integrity("the manifest from " + peer + " does not hash to " + root);
  }
  m->root = m->ComputeRoot();
  return m;
}

}  // namespace

Result<Manifest> ResolveManifest(const std::string& root, const std::vector<std::string>& peers) {
  if (peers.empty()) return Status::Network("no peer was given");
  // Four peers at a time, the first good answer winning, so a slow peer
  // delays nothing (and at most four manifests are in memory at once); the
  // next four only when all of those failed. Without one, the last error.
  constexpr size_t kAtOnce = 4;
  Status last = Status::Network("no peer was given");
  for (size_t from = 0; from < peers.size(); from += kAtOnce) {
    size_t n = std::min(kAtOnce, peers.size() - from);
    std::vector<Background<Result<Manifest>>> asked;
    for (size_t i = 0; i < n; ++i) {
      asked.emplace_back(
          [peer = BaseUrl(peers[from + i]), root] { return ManifestFrom(peer, root); });
    }
    std::vector<std::optional<Result<Manifest>>> got(n);
    for (size_t done = 0; done < n;) {
      done = 0;
      for (size_t i = 0; i < n; ++i) {
        if (!got[i]) got[i] = asked[i].Get(std::chrono::milliseconds(0));
        if (!got[i]) continue;
        if (got[i]->ok()) return std::move(*got[i]);
        ++done;
      }
      if (done < n) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    last = got[n - 1]->status();
  }
  return last;
}

Result<FetchResult> FetchTrack(const Manifest& manifest, const FetchOptions& options, int fd) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  Manifest m = manifest;
  m.root = m.ComputeRoot();
  if (options.peers.empty() && !options.cache && !options.swarm)
    return Status::Network("no peer to fetch from");
  Fetch fetch(m, options);
  return fetch.Run(fd);
}

// A delivery's proven identity, or null (SPEC §6: never paid).
static Json NodeId(const Delivery& d) {
  return d.node_id.empty() ? Json(nullptr) : Json(d.node_id);
}

Json MakeReceipt(const Manifest& manifest, const FetchResult& r, const Wallet& listener) {
  Json deliveries = Json::array();
  Json dropped = Json::array();
  for (const auto& d : r.deliveries) {
    if (!d.chunks.empty()) {
      Json one{{"node_id", NodeId(d)}, {"url", d.url}, {"chunks", d.chunks}, {"bytes", d.bytes}};
      if (!d.channel.empty()) {
        one["channel"] = d.channel;
        one["paid"] = d.paid_text;
      }
      deliveries.push_back(std::move(one));
    }
    if (d.dropped)
      dropped.push_back({{"node_id", NodeId(d)}, {"url", d.url}, {"reason", d.reason}});
  }
  Json receipt{{"schema", "digm.receipt/1"},
               {"root", HexEncode(manifest.ComputeRoot())},
               {"listener", AddressToString(listener.address)},
               {"started", Rfc3339(r.started)},
               {"finished", Rfc3339(r.finished)},
               {"deliveries", deliveries},
               {"dropped", dropped}};
  SignDocument(receipt, listener);
  return receipt;
}

}  // namespace digm
