#include "digm/live_fetch.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "digm/chunk_format.h"
#include "digm/crypto.h"
#include "digm/file.h"
#include "digm/http_client.h"
#include "digm/node_client.h"
#include "digm/proof.h"

namespace digm {
namespace {

using Steady = std::chrono::steady_clock;

// A gap of more chunks than this is caught up chunk by chunk, each checked
// against an inclusion proof, so no more than one chunk is held at a time.
constexpr uint64_t kBatch = 64;

struct Offer {
  size_t peer;
  Json doc;
};

// One thread per node, each long-polling the node's head of the stream and
// handing every new one to the listener. A poll asks for a head past both
// what the listener holds and what this node last offered, so a head comes
// once; a node that fails is asked again after a pause that grows to 2 s.
class HeadPollers {
 public:
  HeadPollers(std::string id, const std::vector<std::string>& peers, int wait_s,
              std::function<void(size_t, const std::string&)> error)
      : id_(std::move(id)), peers_(peers), wait_s_(wait_s), error_(std::move(error)) {
    dropped_ = std::make_unique<std::atomic<bool>[]>(peers_.size());
    for (size_t i = 0; i < peers_.size(); ++i) threads_.emplace_back([this, i] { Poll(i); });
  }
  ~HeadPollers() {
    stop_ = true;
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  void Known(uint64_t size) {
    known_ = size;
    joined_ = true;
  }
  void Drop(size_t peer) { dropped_[peer] = true; }
  bool Dropped(size_t peer) const { return dropped_[peer]; }
  size_t Left() const {
    size_t n = 0;
    for (size_t i = 0; i < peers_.size(); ++i) n += dropped_[i] ? 0 : 1;
    return n;
  }

  std::optional<Offer> Next(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, wait, [this] { return !offers_.empty() || stop_; });
    if (offers_.empty()) return std::nullopt;
    Offer o = std::move(offers_.front());
    offers_.pop_front();
    return o;
  }
  // When a node last answered at all.
  Steady::time_point LastAnswer() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_answer_;
  }

 private:
  void Poll(size_t peer) {
    HttpSession http;
    uint64_t offered = 0;  // the size this node last offered
    bool any = false;
    int failures = 0;
    Json last;
    while (!stop_ && !dropped_[peer]) {
      std::string url = peers_[peer] + "/streams/" + id_ + "/head?wait=" + std::to_string(wait_s_);
      if (joined_ || any) {
        url += "&after=" + std::to_string(std::max<uint64_t>(known_, any ? offered : 0));
      }
      auto r = http.Call("GET", url, "",
                         {.timeout_ms = (wait_s_ + 5) * 1000L,
                          .connect_timeout_ms = 2000,
                          .max_body = 64 << 10,
                          .cancel = &stop_});
      if (stop_) break;
      std::string why;
      if (!r.ok()) {
        why = r.status().message();
      } else if (r->status != 200) {
        why = "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 200);
      }
      auto doc = why.empty() ? ParseJson(r->body) : Result<Json>(Status::Network(why));
      if (!doc.ok()) {
        if (failures++ == 0) error_(peer, doc.status().message());
        Pause(std::chrono::milliseconds(std::min(2000, 250 << std::min(failures, 3))));
        continue;
      }
      failures = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_answer_ = Steady::now();
      }
      if (*doc == last) {  // nothing new (the wait ran out, or the stream has ended)
        Pause(std::chrono::milliseconds(250));
        continue;
      }
      last = *doc;
      any = true;
      offered = doc->is_object() ? static_cast<uint64_t>(NumberOr(*doc, "size", 0)) : 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        offers_.push_back({peer, std::move(*doc)});
      }
      cv_.notify_all();
    }
  }

  void Pause(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, d, [this] { return stop_.load(); });
  }

  std::string id_;
  std::vector<std::string> peers_;
  int wait_s_;
  std::function<void(size_t, const std::string&)> error_;
  std::unique_ptr<std::atomic<bool>[]> dropped_;
  std::atomic<bool> stop_{false}, joined_{false};
  std::atomic<uint64_t> known_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Offer> offers_;
  Steady::time_point last_answer_ = Steady::now();
  std::vector<std::thread> threads_;
};

// The listener: its log, where it writes, and how it asks nodes for chunks.
class Listener {
 public:
  Listener(const Stream& stream, int fd, const LiveFetchOptions& o)
      : o_(o), fd_(fd), log_(stream), sessions_(o.peers.size()) {
    if (o.key) gcm_.emplace(o.key->key);
    result_.stream = stream;
  }

  StreamLog& log() { return log_; }
  LiveFetchResult& result() { return result_; }

  // What ends the listening whatever the nodes do: the wrong key, or the
  // output failing.
  const Status& fatal() const { return fatal_; }

  // Fetches the chunks that take the log to `head` from `peer` (or, when
  // its chunks do not make the head's root, any other node), writes them,
  // and extends the log. A node whose chunks do not make the root is left,
  // unless it proves the head does not extend the log: a consistency proof
  // from a prefix of another root to the head's. Then `*fork` is that proof.
  Status Grow(size_t peer, const TreeHead& head, HeadPollers& pollers, Json* fork) {
    Status last = Status::Network("no node to fetch from");
    for (size_t c : Candidates(peer, pollers)) {
      Status s = head.size - log_.size() <= kBatch ? GrowBatch(c, head) : GrowOneByOne(c, head);
      if (s.ok() || !fatal_.ok()) return s;
      if (s.code() == Code::kIntegrity) {
        if (auto proof = ForkProof(c, head)) {
          *fork = std::move(*proof);
          return s;
        }
        Report(c, s.message());
        pollers.Drop(c);
      }
      last = s;
    }
    return last;
  }

  // Joins the stream at its edge: the newest chunk, checked against its
  // inclusion proof in `head`'s tree, is the first one written.
  Status Join(size_t peer, const TreeHead& head, HeadPollers& pollers) {
    if (head.size == 0) return log_.Extend({}, head);
    uint64_t i = head.size - 1;
    Status last = Status::Network("no node to fetch from");
    for (size_t c : Candidates(peer, pollers)) {
      auto chunk = Chunk(c, i);
      auto proof = chunk.ok() ? Proof(c, i, head.size) : Result<InclusionProofDoc>(chunk.status());
      if (!proof.ok()) {
        last = proof.status();
        continue;
      }
      Status s = log_.Join(head, Sha256(*chunk), proof->path);
      if (!s.ok()) {
        Report(c, s.message());
        pollers.Drop(c);
        last = s;
        continue;
      }
      result_.first = i;
      return Write(i, *chunk);  // the chunk verified: only the key or the output can fail
    }
    return last;
  }

  void Report(size_t peer, const std::string& why) {
    if (o_.on_peer_error) o_.on_peer_error(o_.peers[peer] + ": " + why);
  }

 private:
  // The node's proof that `head`'s tree does not start with the log's: its
  // first log_.size() leaves have another root. None unless it verifies.
  std::optional<Json> ForkProof(size_t peer, const TreeHead& head) {
    if (log_.size() == 0) return std::nullopt;
    auto doc = GetJson(peer, "/streams/" + HexEncode(result_.stream.id) + "/consistency?from=" +
                                 std::to_string(log_.size()) + "&to=" + std::to_string(head.size));
    if (!doc.ok()) return std::nullopt;
    auto p = ConsistencyProofFromJson(*doc);
    if (!p.ok() || p->size1 != log_.size() || p->size2 != head.size || p->root2 != head.root ||
        p->root1 == log_.root() || !VerifyProof(*p)) {
      return std::nullopt;
    }
    return ProofToJson(*p);
  }

  std::vector<size_t> Candidates(size_t first, HeadPollers& pollers) {
    std::vector<size_t> c;
    if (!pollers.Dropped(first)) c.push_back(first);
    for (size_t i = 0; i < o_.peers.size(); ++i) {
      if (i != first && !pollers.Dropped(i)) c.push_back(i);
    }
    return c;
  }

  HttpSession& Session(size_t peer) {
    if (!sessions_[peer]) sessions_[peer] = std::make_unique<HttpSession>();
    return *sessions_[peer];
  }

  Result<Json> GetJson(size_t peer, const std::string& path) {
    DIGM_ASSIGN_OR_RETURN(HttpResult r,
                          Session(peer).Call("GET", o_.peers[peer] + path, "",
                                             {.timeout_ms = o_.timeout_ms, .max_body = 1 << 20}));
    if (r.status != 200) return Status::Network(path + ": HTTP " + std::to_string(r.status));
    return ParseJson(r.body);
  }

  Result<Bytes> Chunk(size_t peer, uint64_t i) {
    std::string path = "/streams/" + HexEncode(result_.stream.id) + "/" + std::to_string(i);
    DIGM_ASSIGN_OR_RETURN(HttpResult r, Session(peer).Call("GET", o_.peers[peer] + path, "",
                                                           {.timeout_ms = o_.timeout_ms,
                                                            .max_body = kMaxStreamChunk}));
    if (r.status != 200) return Status::Network(path + ": HTTP " + std::to_string(r.status));
    return Bytes(r.body.begin(), r.body.end());
  }

  Result<InclusionProofDoc> Proof(size_t peer, uint64_t i, uint64_t size) {
    DIGM_ASSIGN_OR_RETURN(Json doc, GetJson(peer, "/streams/" + HexEncode(result_.stream.id) +
                                                      "/proof?index=" + std::to_string(i) +
                                                      "&size=" + std::to_string(size)));
    auto p = ProofFromJson(doc);
    if (!p.ok())
      return Status::Integrity("an inclusion proof that does not read: " + p.status().message());
    return p;
  }

  Status GrowBatch(size_t peer, const TreeHead& head) {
    std::vector<Bytes> chunks;
    std::vector<Hash256> hashes;
    for (uint64_t i = log_.size(); i < head.size; ++i) {
      DIGM_ASSIGN_OR_RETURN(Bytes b, Chunk(peer, i));
      hashes.push_back(Sha256(b));
      chunks.push_back(std::move(b));
    }
    StreamLog grown = log_;
    DIGM_RETURN_IF_ERROR(grown.Extend(hashes, head));
    uint64_t first = log_.size();
    log_ = std::move(grown);
    for (size_t k = 0; k < chunks.size(); ++k) DIGM_RETURN_IF_ERROR(Write(first + k, chunks[k]));
    return Status::Ok();
  }

  // A long catch-up: the head must extend the log (a consistency proof),
  // then each chunk is written once its inclusion proof holds.
  Status GrowOneByOne(size_t peer, const TreeHead& head) {
    std::string base = "/streams/" + HexEncode(result_.stream.id);
    if (log_.size() > 0) {
      DIGM_ASSIGN_OR_RETURN(
          Json doc, GetJson(peer, base + "/consistency?from=" + std::to_string(log_.size()) +
                                      "&to=" + std::to_string(head.size)));
      auto p = ConsistencyProofFromJson(doc);
      if (!p.ok() || !VerifyConsistency(log_.size(), head.size, log_.root(), head.root, p->path)) {
        return Status::Integrity("no proof that the head of size " + std::to_string(head.size) +
                                 " extends the log of " + std::to_string(log_.size()));
      }
    }
    std::vector<Hash256> hashes;
    for (uint64_t i = log_.size(); i < head.size; ++i) {
      DIGM_ASSIGN_OR_RETURN(Bytes b, Chunk(peer, i));
      DIGM_ASSIGN_OR_RETURN(InclusionProofDoc p, Proof(peer, i, head.size));
      Hash256 h = Sha256(b);
      if (!VerifyInclusion(h, i, head.size, p.path, head.root)) {
        return Status::Integrity("chunk " + std::to_string(i) + " is not in the head's tree");
      }
      DIGM_RETURN_IF_ERROR(Write(i, b));
      hashes.push_back(h);
    }
    // The chunks written so far stay written: each was in the head's tree,
    // and the head extends what came before.
    return log_.Extend(hashes, head);
  }

  Status Write(uint64_t index, Bytes& stored) {
    const auto& enc = result_.stream.info.encryption;
    std::span<const uint8_t> out(stored);
    if (enc) {
      if (stored.size() < kGcmTagSize) {
        return Status::Integrity("chunk " + std::to_string(index) + " is shorter than its tag");
      }
      uint64_t plain = stored.size() - kGcmTagSize;
      auto aad = ChunkAad(index, plain, false);
      Status s = gcm_->Open(ChunkNonce(enc->nonce_prefix, index), aad, stored, stored);
      if (!s.ok()) {
        // The chunk is the one the publisher signed: it was sealed otherwise.
        fatal_ =
            Status::Integrity("chunk " + std::to_string(index) + " does not open with the key");
        return fatal_;
      }
      out = std::span<const uint8_t>(stored.data(), plain);
    }
    if (Status s = WriteAll(fd_, out); !s.ok()) {
      fatal_ = s;
      return s;
    }
    ++result_.chunks;
    result_.bytes += out.size();
    return Status::Ok();
  }

  const LiveFetchOptions& o_;
  int fd_;
  StreamLog log_;
  std::optional<Aes256Gcm> gcm_;
  std::vector<std::unique_ptr<HttpSession>> sessions_;
  LiveFetchResult result_;
  Status fatal_ = Status::Ok();
};

// The stream's document from the first node that serves one that verifies.
Result<Stream> FindStream(const std::string& id, const LiveFetchOptions& o) {
  std::string why;
  std::vector<std::string> without;  // the peers that answered they have no such stream
  for (const auto& peer : o.peers) {
    auto r =
        HttpCall("GET", peer + "/streams/" + id, "",
                 {.timeout_ms = o.timeout_ms, .connect_timeout_ms = 3000, .max_body = 1 << 20});
    std::string fail;
    if (!r.ok()) {
      fail = r.status().message();
    } else if (r->status != 200) {
      fail = "HTTP " + std::to_string(r->status);
      if (r->status == 404) without.push_back(peer);
    } else if (auto j = ParseJson(r->body); !j.ok() || !j->is_object()) {
      fail = "not a stream entry";
    } else if (auto s = ReadStreamDocument(j->value("stream", Json())); !s.ok()) {
      fail = s.status().message();
    } else if (HexEncode(s->id) != id) {
      fail = "a document of stream " + HexEncode(s->id);
    } else {
      return s;
    }
    why += (why.empty() ? "" : "; ") + peer + ": " + fail;
    if (o.on_peer_error) o.on_peer_error(peer + ": " + fail);
  }
  Status none = Status::Network("no node serves stream " + id + " (" + why + ")");
  // A track's root given for a stream id: a node that has the track says so.
  if (AnyPeerAnswers(without, "/tracks/" + id))
    return none.WithHint(id + " is a track's root, not a live stream's id: drop --live");
  return none;
}

}  // namespace

Result<LiveFetchResult> FetchLive(const Hash256& id, int fd, const LiveFetchOptions& o,
                                  const std::atomic<bool>* stop, Json* evidence) {
  if (o.peers.empty()) return Status::Usage("no node to listen from");
  std::string hex = HexEncode(id);
  DIGM_ASSIGN_OR_RETURN(Stream stream, FindStream(hex, o));
  if (const auto& enc = stream.info.encryption) {
    if (!o.key) {
      return Status::Usage("stream " + hex + " is encrypted: give its track key with --key FILE");
    }
    if (o.key->id != enc->key_id) {
      return Status::Integrity("the key " + HexEncode(o.key->id) + " is not the stream's (" +
                               HexEncode(enc->key_id) + ")");
    }
  }
  if (o.on_stream) o.on_stream(stream);
  Listener listener(stream, fd, o);
  HeadPollers pollers(hex, o.peers, o.wait_s,
                      [&](size_t peer, const std::string& why) { listener.Report(peer, why); });
  StreamLog& log = listener.log();
  auto stopped = [&] { return stop && stop->load(); };
  while (!stopped()) {
    auto offer = pollers.Next(std::chrono::milliseconds(200));
    if (!offer) {
      if (Steady::now() - pollers.LastAnswer() > std::chrono::seconds(o.give_up_s)) {
        return Status::Network("no node has answered for " + std::to_string(o.give_up_s) + " s");
      }
      if (pollers.Left() == 0) return Status::Network("every node was left for serving lies");
      continue;
    }
    auto head = ReadTreeHead(offer->doc, stream);
    if (!head.ok()) {
      listener.Report(offer->peer, "a head that does not verify: " + head.status().message());
      pollers.Drop(offer->peer);
      continue;
    }
    Status s = Status::Ok();
    Json fork;
    if (!log.head()) {
      // A stream that has ended has no live edge: it is heard from its start.
      s = o.from_start || head->ended ? listener.Grow(offer->peer, *head, pollers, &fork)
                                      : listener.Join(offer->peer, *head, pollers);
    } else if (head->size < log.size()) {
      continue;  // older news
    } else if (head->size == log.size()) {
      s = log.Heartbeat(*head);
      if (!s.ok() && !log.Evidence().is_null()) {
        if (evidence) *evidence = log.Evidence();
        return s;
      }
      if (!s.ok()) listener.Report(offer->peer, s.message());
      s = Status::Ok();
    } else {
      TreeHead accepted = *log.head();
      s = listener.Grow(offer->peer, *head, pollers, &fork);
      if (!fork.is_null()) {
        if (evidence) *evidence = Json::array({accepted.doc, head->doc, fork});
        return Status::Integrity("fork: the publisher signed a head of size " +
                                 std::to_string(head->size) + " whose tree does not start " +
                                 "with its signed head of size " + std::to_string(accepted.size) +
                                 " (" + o.peers[offer->peer] + " proves it)");
      }
    }
    if (!listener.fatal().ok()) return listener.fatal();
    if (!s.ok()) continue;  // each node's failure is named where it happened
    if (log.head()) {
      pollers.Known(log.size());
      if (o.on_head) o.on_head(*log.head());
      if (log.head()->ended) {
        listener.result().ended = true;
        break;
      }
    }
  }
  listener.result().head = log.head();
  return listener.result();
}

}  // namespace digm
