#include "digm/live_publish.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "digm/address.h"
#include "digm/chunk_format.h"
#include "digm/crypto.h"
#include "digm/http_client.h"

namespace digm {
namespace {

using Steady = std::chrono::steady_clock;

class Sender {
 public:
  Sender(const std::vector<std::string>& nodes, std::function<void(const std::string&)> on_error)
      : on_error_(std::move(on_error)) {
    for (const auto& n : nodes) nodes_.push_back(BaseUrl(n));
  }

  // Sends to every node still in use; drops the ones that fail.
  Status Send(const std::string& method, const std::string& path, const std::string& body,
              const std::string& head_header = "") {
    HttpCallOptions o;
    o.content_type = head_header.empty() ? "application/json" : "application/octet-stream";
    o.headers = head_header.empty() ? std::vector<std::string>{}
                                    : std::vector<std::string>{"Digm-Tree-Head: " + head_header};
    for (size_t i = 0; i < nodes_.size();) {
      auto r = HttpCall(method, nodes_[i] + path, body, o);
      if (r.ok() && r->status < 300) {
        ++i;
        continue;
      }
      std::string why = r.ok() ? "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 200)
                               : r.status().message();
      if (on_error_) on_error_(nodes_[i] + ": " + why);
      nodes_.erase(nodes_.begin() + static_cast<long>(i));
    }
    if (nodes_.empty()) return Status::Network("every node refused the stream or is unreachable");
    return Status::Ok();
  }

 private:
  std::vector<std::string> nodes_;
  std::function<void(const std::string&)> on_error_;
};

}  // namespace

Result<LivePublishResult> PublishLive(int fd, const Wallet& publisher, const LivePublishOptions& o,
                                      const std::atomic<bool>* stop) {
  if (o.nodes.empty()) return Status::Usage("no node to publish to");
  if (o.info.part_ms == 0 || o.max_chunk == 0) return Status::Usage("part_ms and max_chunk > 0");
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
  Sender sender(o.nodes, o.on_node_error);
  DIGM_RETURN_IF_ERROR(sender.Send("PUT", base, DumpDocument(out.stream)));
  if (o.on_announce) o.on_announce(out.stream, out.id);

  MerkleFrontier frontier;
  Sha256Hasher source, chunk_hash;
  int64_t last_time = 0;
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
  auto close_chunk = [&]() -> Status {
    uint64_t index = frontier.size();
    uint64_t plain = buf.size();
    if (gcm) {
      buf.resize(plain + kGcmTagSize);
      auto aad = ChunkAad(index, plain, false);
      gcm->Seal(ChunkNonce(info.encryption->nonce_prefix, index), aad,
                std::span<const uint8_t>(buf.data(), plain), buf);
    }
    Hash256 hash = chunk_hash.Digest(buf);
    frontier.Append(hash);
    out.chunks.push_back({hash, buf.size(), plain, false});
    TreeHead h = head(false);
    std::string text = DumpDocument(h.doc);
    DIGM_RETURN_IF_ERROR(sender.Send(
        "PUT", base + "/" + std::to_string(index), std::string(buf.begin(), buf.end()),
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
      DIGM_RETURN_IF_ERROR(sender.Send("POST", base + "/heartbeat", DumpDocument(head(false).doc)));
      last_sent = Steady::now();
    }
  }
  if (!buf.empty()) DIGM_RETURN_IF_ERROR(close_chunk());
  TreeHead final_head = head(true);
  DIGM_RETURN_IF_ERROR(sender.Send("DELETE", base, DumpDocument(final_head.doc)));
  report(final_head);
  out.source_sha256 = source.Final();
  out.root = frontier.Root();
  return out;
}

}  // namespace digm
