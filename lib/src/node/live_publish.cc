#include "digm/live_publish.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>

#include "digm/address.h"
#include "digm/chunk_format.h"
#include "digm/crypto.h"
#include "digm/http_client.h"
#include "digm/media.h"
#include "digm/node_client.h"
#include "digm/pin.h"

namespace digm {
namespace {

using Steady = std::chrono::steady_clock;

// Sends the stream to every node. A node that refuses it (400, 403) is
// dropped; one that cannot be reached or has lost its place (404, 409, 5xx:
// a restart, say) lags: it is asked again after a pause, and when it
// answers, it is told the stream again if it forgot it and sent the chunks
// it lacks from the resend buffer, each under a head of its size signed
// anew. A node that falls further behind than the buffer is dropped.
class Sender {
 public:
  struct Stream {
    std::string base;                                    // "/streams/ID"
    std::string doc;                                     // the digm.stream/1
    std::function<std::string(uint64_t size)> head_for;  // base64url of a head of that size
  };

  Sender(const std::vector<std::string>& nodes, Stream stream, size_t buffer_bytes,
         std::function<void(const std::string&)> on_error)
      : stream_(std::move(stream)), buffer_bytes_(buffer_bytes), on_error_(std::move(on_error)) {
    for (const auto& n : nodes) nodes_.push_back(Node{BaseUrl(n)});
  }

  // Network error unless some node takes the stream at once.
  Status Announce() {
    DIGM_RETURN_IF_ERROR(
        Each([&](Node& n) { return Call(n, "PUT", stream_.base, stream_.doc, ""); }, 0));
    for (const auto& n : nodes_) {
      if (!n.dropped && !n.lagging) return Status::Ok();
    }
    return Status::Network("no node took the stream");
  }

  Status SendChunk(uint64_t index, const Bytes& stored, const std::string& head) {
    std::string body(stored.begin(), stored.end());
    Status s = Each(
        [&](Node& n) {
          return Call(n, "PUT", stream_.base + "/" + std::to_string(index), body, head);
        },
        index);
    Keep(index, std::move(body));
    return s;
  }

  // A heartbeat or the final head, to every node that has every chunk.
  Status SendHead(const std::string& method, const std::string& path, const std::string& body,
                  uint64_t size) {
    return Each([&](Node& n) { return Call(n, method, path, body, ""); }, size);
  }

  // The nodes that hold every chunk sent.
  std::vector<std::string> Holding() const {
    std::vector<std::string> out;
    for (const auto& n : nodes_) {
      if (!n.dropped && !n.lagging) out.push_back(n.url);
    }
    return out;
  }

  // Chunk `index`'s stored bytes while the resend buffer holds them.
  const std::string* Kept(uint64_t index) const {
    if (kept_.empty() || index < kept_.front().first || index > kept_.back().first) return nullptr;
    return &kept_[index - kept_.front().first].second;
  }

  // The nodes still lagging at the end, named.
  void ReportLagging() {
    for (const auto& n : nodes_) {
      if (n.lagging && !n.dropped) Error(n.url + ": never caught up; it missed the stream's end");
    }
  }

 private:
  struct Node {
    std::string url;
    bool lagging = false, dropped = false;
    int failures = 0;
    Steady::time_point retry_at{};
  };
  enum class Outcome { kOk, kLag, kDrop };
  struct Answer {
    Outcome outcome;
    std::string why;
  };

  void Error(const std::string& e) {
    if (on_error_) on_error_(e);
  }

  Answer Call(Node& n, const std::string& method, const std::string& path, const std::string& body,
              const std::string& head) {
    HttpCallOptions o;
    o.timeout_ms = 5000;
    o.connect_timeout_ms = 2000;
    o.content_type = head.empty() ? "application/json" : "application/octet-stream";
    if (!head.empty()) o.headers = {"Digm-Tree-Head: " + head};
    auto r = HttpCall(method, n.url + path, body, o);
    if (r.ok() && r->status < 300) return {Outcome::kOk, ""};
    if (!r.ok()) return {Outcome::kLag, r.status().message()};
    std::string why = "HTTP " + std::to_string(r->status) + ": " + RefusalText(*r);
    bool refused = r->status == 400 || r->status == 403 || r->status == 413;
    return {refused ? Outcome::kDrop : Outcome::kLag, why};
  }

  // Runs `send` on every node that holds the first `size` chunks, first
  // catching up the lagging ones that are due another try.
  template <typename F>
  Status Each(F send, uint64_t size) {
    auto now = Steady::now();
    for (auto& n : nodes_) {
      if (n.dropped) continue;
      if (n.lagging) {
        if (now < n.retry_at) continue;
        Answer a = CatchUp(n, size);
        if (a.outcome != Outcome::kOk) {
          Fail(n, a);
          continue;
        }
      }
      Answer a = send(n);
      if (a.outcome != Outcome::kOk) Fail(n, a);
    }
    for (const auto& n : nodes_) {
      if (!n.dropped) return Status::Ok();
    }
    return Status::Network("every node refused the stream or fell behind");
  }

  void Fail(Node& n, const Answer& a) {
    if (a.outcome == Outcome::kDrop) {
      n.dropped = true;
      Error(n.url + ": " + a.why + "; left out");
      return;
    }
    if (!n.lagging) Error(n.url + ": " + a.why + "; trying again");
    n.lagging = true;
    ++n.failures;
    n.retry_at =
        Steady::now() + std::chrono::milliseconds(std::min(4000, 250 << std::min(n.failures, 4)));
  }

  // Brings a lagging node to `size` chunks: it says how many it holds (or
  // that it forgot the stream), and gets the rest.
  Answer CatchUp(Node& n, uint64_t size) {
    auto r = HttpCall("GET", n.url + stream_.base + "/head", "",
                      {.timeout_ms = 5000, .connect_timeout_ms = 2000, .max_body = 64 << 10});
    if (!r.ok()) return {Outcome::kLag, r.status().message()};
    uint64_t held = 0;
    if (r->status == 404) {
      // It forgot the stream, or holds it with no chunk yet.
      Answer a = Call(n, "PUT", stream_.base, stream_.doc, "");
      if (a.outcome != Outcome::kOk && a.why.find("HTTP 409") == std::string::npos) return a;
    } else if (r->status == 200) {
      auto head = ParseJson(r->body);
      held = head.ok() && head->is_object() ? static_cast<uint64_t>(NumberOr(*head, "size", 0)) : 0;
    } else {
      return {Outcome::kLag, "HTTP " + std::to_string(r->status) + " for its head"};
    }
    if (held > size) return {Outcome::kDrop, "it holds more chunks than were sent"};
    for (uint64_t i = held; i < size; ++i) {
      const std::string* bytes = Kept(i);
      if (!bytes) {
        return {Outcome::kDrop,
                "it holds " + std::to_string(held) + " chunks, and the resend buffer starts later"};
      }
      Answer a =
          Call(n, "PUT", stream_.base + "/" + std::to_string(i), *bytes, stream_.head_for(i + 1));
      if (a.outcome != Outcome::kOk) return a;
    }
    n.lagging = false;
    n.failures = 0;
    if (held < size)
      Error(n.url + ": caught up from chunk " + std::to_string(held));
    else
      Error(n.url + ": back");
    return {Outcome::kOk, ""};
  }

  void Keep(uint64_t index, std::string bytes) {
    kept_bytes_ += bytes.size();
    kept_.emplace_back(index, std::move(bytes));
    while (kept_bytes_ > buffer_bytes_ && kept_.size() > 1) {
      kept_bytes_ -= kept_.front().second.size();
      kept_.pop_front();
    }
  }

  Stream stream_;
  size_t buffer_bytes_;
  std::function<void(const std::string&)> on_error_;
  std::vector<Node> nodes_;
  std::deque<std::pair<uint64_t, std::string>> kept_;
  size_t kept_bytes_ = 0;
};

// The ended stream as a track: what a manifest of its chunks says, with the
// media the stream document declared (bitrate in kbit/s, as SPEC §2 has
// it) and the format sniffed from its first bytes.
Manifest SealedManifest(const StreamInfo& info, const LivePublishResult& out, uint64_t chunk_size,
                        std::span<const uint8_t> first_bytes) {
  Manifest m;
  m.size = out.size;
  m.chunk_size = chunk_size;
  m.source_sha256 = out.source_sha256;
  m.media.format = SniffMedia(first_bytes).format;
  m.media.mime = info.mime;
  if (!info.title.empty()) m.media.title = info.title;
  if (!info.artist.empty()) m.media.artist = info.artist;
  if (info.bitrate >= 1000) m.media.bitrate = static_cast<int>((info.bitrate + 500) / 1000);
  m.encryption = info.encryption;
  m.stream = out.id;
  m.chunks = out.chunks;
  m.root = out.root;
  return m;
}

// Has each node that holds the whole stream keep it as a track: the sealed
// manifest under a pin (after the node proves its key, as digm-seed publish
// does); it asks for no chunk, or for one the resend buffer still holds.
std::vector<std::string> StoreSealed(const Manifest& sealed, const std::vector<std::string>& nodes,
                                     const Sender& sender, const Wallet& publisher,
                                     const LivePublishOptions& o) {
  std::string root = HexEncode(*sealed.root);
  auto get = [&](const Hash256& h) -> Result<Bytes> {
    for (size_t i = sealed.chunks.size(); i-- > 0;) {
      if (sealed.chunks[i].hash != h) continue;
      const std::string* kept = sender.Kept(i);
      if (kept) return Bytes(kept->begin(), kept->end());
      if (o.store) return o.store->Get(h);
      break;
    }
    return Status::BadInput("chunk " + HexEncode(h) + " is no longer at hand");
  };
  std::vector<std::string> stored;
  for (const auto& node : nodes) {
    Status s = [&]() -> Status {
      DIGM_ASSIGN_OR_RETURN(Address origin, ProveIdentity(node, 5000));
      Json pin = MakePin(root, o.replicas, o.pin_days, origin, publisher, o.clock());
      return UploadTrack(node, sealed, pin, get).status();
    }();
    if (s.ok()) {
      stored.push_back(node);
    } else if (o.on_node_error) {
      o.on_node_error(node + ": did not store the sealed track: " + s.message());
    }
  }
  return stored;
}

}  // namespace

Result<LivePublishResult> PublishLive(int fd, const Wallet& publisher, const LivePublishOptions& o,
                                      const std::atomic<bool>* stop) {
  if (o.nodes.empty()) return Status::Usage("no node to publish to");
  if (o.info.part_ms == 0) return Status::Usage("part_ms must be above 0");
  DIGM_RETURN_IF_ERROR(CheckChunkSize(o.max_chunk));
  StreamInfo info = o.info;
  info.publisher = publisher.address;
  if (info.created_ms == 0) info.created_ms = UnixNowMs();
  std::optional<Aes256Gcm> gcm;
  if (o.key) {
    Encryption e;
    e.key_id = o.key->id;
    RandomBytes(e.nonce_prefix);
    info.encryption = e;
    gcm.emplace(o.key->key);
  }
  LivePublishResult out;
  out.stream = MakeStreamDocument(info, publisher);
  out.id = StreamId(out.stream);
  std::string base = "/streams/" + HexEncode(out.id);
  MerkleFrontier frontier;
  Sha256Hasher source, chunk_hash;
  int64_t last_time = 0;
  // A head of an earlier size, for a node catching up: its root from the
  // chunk hashes, its time now.
  auto head_for = [&](uint64_t size) {
    std::vector<Hash256> prefix;
    prefix.reserve(size);
    for (uint64_t i = 0; i < size; ++i) prefix.push_back(out.chunks[i].hash);
    last_time = std::max(last_time, o.clock());
    std::string text =
        DumpDocument(MakeTreeHead(out.id, size, MerkleRoot(prefix), last_time, false, publisher));
    return Base64UrlEncode(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  };
  Sender sender(o.nodes, {base, DumpDocument(out.stream), head_for}, o.resend_buffer,
                o.on_node_error);
  DIGM_RETURN_IF_ERROR(sender.Announce());
  if (o.on_announce) o.on_announce(out.stream, out.id);

  // The next head, as signed and as a value (what this publisher says needs
  // no verifying).
  auto head = [&](bool ended) {
    last_time = std::max(last_time, o.clock());
    Hash256 root = frontier.Root();
    Json doc = MakeTreeHead(out.id, frontier.size(), root, last_time, ended, publisher);
    return TreeHead{out.id, frontier.size(), root, last_time, ended, std::move(doc)};
  };
  auto report = [&](const TreeHead& h) {
    if (o.on_head) o.on_head(h);
  };
  Bytes buf;
  buf.reserve(o.max_chunk + kGcmTagSize);
  Bytes first_bytes;  // the input's first bytes, for the sealed manifest's format
  auto close_chunk = [&]() -> Status {
    uint64_t index = frontier.size();
    uint64_t plain = buf.size();
    if (index == 0) first_bytes.assign(buf.begin(), buf.begin() + std::min<uint64_t>(plain, 64));
    if (gcm) {
      buf.resize(plain + kGcmTagSize);
      auto aad = ChunkAad(index, plain, false);
      gcm->Seal(ChunkNonce(info.encryption->nonce_prefix, index), aad,
                std::span<const uint8_t>(buf.data(), plain), buf);
    }
    Hash256 hash = chunk_hash.Digest(buf);
    if (o.store) DIGM_RETURN_IF_ERROR(o.store->Put(hash, buf));
    frontier.Append(hash);
    out.chunks.push_back({hash, buf.size(), plain, false});
    TreeHead h = head(false);
    std::string text = DumpDocument(h.doc);
    DIGM_RETURN_IF_ERROR(sender.SendChunk(
        index, buf,
        Base64UrlEncode(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()))));
    report(h);
    buf.clear();
    return Status::Ok();
  };

  auto part = std::chrono::milliseconds(o.info.part_ms);
  Steady::time_point chunk_start{}, last_sent = Steady::now();
  uint8_t tmp[16384];
  bool eof = false;
  while (!eof && !(stop && stop->load())) {
    int timeout = 200;
    if (!buf.empty()) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(chunk_start + part - Steady::now());
      timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, timeout);
    if (ready < 0 && errno != EINTR)
      return Status::BadInput(std::string("reading input: ") + std::strerror(errno));
    if (ready > 0) {
      size_t room = o.max_chunk - buf.size();
      ssize_t n = read(fd, tmp, std::min(room, sizeof tmp));
      if (n < 0 && errno != EINTR && errno != EAGAIN) {
        return Status::BadInput(std::string("reading input: ") + std::strerror(errno));
      }
      if (n == 0) eof = true;
      if (n > 0) {
        if (buf.empty()) chunk_start = Steady::now();
        std::span<const uint8_t> got(tmp, static_cast<size_t>(n));
        source.Update(got);
        out.size += got.size();
        buf.insert(buf.end(), got.begin(), got.end());
      }
    }
    bool full = buf.size() >= o.max_chunk;
    bool due = !buf.empty() && Steady::now() >= chunk_start + part;
    if (full || due || (eof && !buf.empty())) {
      DIGM_RETURN_IF_ERROR(close_chunk());
      last_sent = Steady::now();
    } else if (Steady::now() - last_sent >= std::chrono::seconds(o.heartbeat_s)) {
      DIGM_RETURN_IF_ERROR(sender.SendHead("POST", base + "/heartbeat",
                                           DumpDocument(head(false).doc), frontier.size()));
      last_sent = Steady::now();
    }
  }
  if (!buf.empty()) DIGM_RETURN_IF_ERROR(close_chunk());
  if (o.store) DIGM_RETURN_IF_ERROR(o.store->Sync());
  TreeHead final_head = head(true);
  DIGM_RETURN_IF_ERROR(
      sender.SendHead("DELETE", base, DumpDocument(final_head.doc), frontier.size()));
  sender.ReportLagging();
  report(final_head);
  out.source_sha256 = source.Final();
  out.root = frontier.Root();
  if (out.chunks.empty()) return out;  // nothing to seal
  out.sealed = SealedManifest(info, out, o.max_chunk, first_bytes);
  out.stored_on = StoreSealed(*out.sealed, sender.Holding(), sender, publisher, o);
  return out;
}

}  // namespace digm
