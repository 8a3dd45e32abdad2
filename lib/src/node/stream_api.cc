#include "digm/stream_api.h"

#include <charconv>

#include "digm/crypto.h"
#include "digm/proof.h"

namespace digm {
namespace {

using Steady = std::chrono::steady_clock;

std::optional<uint64_t> Number(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// How a refusal of the store reads over HTTP: a head or chunk at odds with
// the log is a conflict (409); anything malformed is 400.
HttpResponse Refused(const Status& s) {
  return HttpResponse::Error(s.code() == Code::kIntegrity ? 409 : 400, s.message());
}

Result<Json> HeadOfHeader(const HttpRequest& req) {
  std::string text = req.Header("digm-tree-head");
  if (text.empty()) return Status::BadInput("expected the Digm-Tree-Head header (base64url)");
  DIGM_ASSIGN_OR_RETURN(Bytes raw, Base64UrlDecode(text));
  return ParseJson(std::string(raw.begin(), raw.end()));
}

}  // namespace

StreamApi::StreamApi(StreamStore& store, const ChunkStore& chunks, Options options)
    : store_(store), chunks_(chunks), options_(std::move(options)) {
  sweeper_ = std::thread([this] { Sweep(); });
}

StreamApi::~StreamApi() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  sweeper_.join();
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, _] : waiters_) ids.push_back(id);
  }
  for (const auto& id : ids) Wake(id, true);
}

size_t StreamApi::Waiting() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [_, w] : waiters_) n += w.size();
  return n;
}

HttpResponse StreamApi::Handle(const HttpRequest& req, const std::vector<std::string>& s) {
  const std::string& m = req.method;
  bool get = m == "GET" || m == "HEAD";
  if (s.size() == 1) {
    if (!get) return MethodNotAllowed("GET, HEAD");
    return List(req);
  }
  const std::string& id = s[1];
  if (!IsHash(id)) return HttpResponse::Error(400, "expected a 64-hex-digit stream id");
  if (s.size() == 2) {
    if (m == "PUT") return Announce(req, id);
    if (m == "DELETE") return Accept(req, id, true);
    if (!get) return MethodNotAllowed("GET, HEAD, PUT, DELETE");
    auto row = store_.Row(id);
    if (!row) return HttpResponse::Error(404, "no stream " + id);
    return HttpResponse::Json(200, DumpDocument(row->ToJson()));
  }
  if (s.size() != 3) return HttpResponse::Error(404, "not found");
  if (s[2] == "heartbeat") {
    if (m != "POST") return MethodNotAllowed("POST");
    return Accept(req, id, false);
  }
  if (s[2] == "head") {
    if (!get) return MethodNotAllowed("GET, HEAD");
    return Head(req, id);
  }
  if (s[2] == "consistency") {
    if (!get) return MethodNotAllowed("GET, HEAD");
    return Consistency(req, id);
  }
  if (m == "PUT") return Append(req, id, s[2]);
  if (!get) return MethodNotAllowed("GET, HEAD, PUT");
  return Chunk(id, s[2]);
}

HttpResponse StreamApi::List(const HttpRequest& req) {
  Json out = Json::array();
  for (const auto& row :
       store_.ListLive(options_.clock() - options_.stale_after, QueryParam(req.target, "q"))) {
    Json j = row.ToJson();
    j["holders"] = Json::array({options_.url});
    out.push_back(std::move(j));
  }
  return HttpResponse::Json(200, DumpDocument(out));
}

HttpResponse StreamApi::Announce(const HttpRequest& req, const std::string& id) {
  auto doc = ParseJson(req.body);
  if (!doc.ok()) return HttpResponse::Error(400, doc.status().message());
  auto stream = ReadStreamDocument(*doc);
  if (!stream.ok()) {
    return HttpResponse::Error(stream.status().code() == Code::kIntegrity ? 403 : 400,
                               stream.status().message());
  }
  if (HexEncode(stream->id) != id) {
    return HttpResponse::Error(400, "the stream document's id is " + HexEncode(stream->id));
  }
  const auto& allowed = options_.allowed_publishers;
  if (!allowed.empty() &&
      std::find(allowed.begin(), allowed.end(), stream->info.publisher) == allowed.end()) {
    return HttpResponse::Error(
        403, AddressToString(stream->info.publisher) + " may not publish on this node");
  }
  if (auto row = store_.Row(id); row && row->ended) {
    return HttpResponse::Error(409, "stream " + id +
                                        " has ended; a new stream needs a new document (a new "
                                        "\"created\")");
  }
  if (Status s = store_.Announce(*stream); !s.ok()) return HttpResponse::Error(500, s.message());
  return HttpResponse::Json(201, DumpDocument(Json{{"id", id}}));
}

Result<TreeHead> StreamApi::ReadHead(const std::string& id, const Json& doc,
                                     HttpResponse* refusal) {
  auto head = store_.ReadHead(id, doc);
  if (!head.ok()) {
    // An unknown stream is 404; a head this stream's publisher did not sign
    // for this stream (Integrity) is 403; a malformed one 400.
    bool unknown = !store_.Get(id);
    int status = unknown ? 404 : head.status().code() == Code::kIntegrity ? 403 : 400;
    *refusal = HttpResponse::Error(status, head.status().message());
  }
  return head;
}

HttpResponse StreamApi::Append(const HttpRequest& req, const std::string& id,
                               const std::string& index_text) {
  auto index = Number(index_text);
  if (!index) return HttpResponse::Error(404, "not found");
  auto doc = HeadOfHeader(req);
  if (!doc.ok()) return HttpResponse::Error(400, doc.status().message());
  HttpResponse refusal;
  auto head = ReadHead(id, *doc, &refusal);
  if (!head.ok()) return refusal;
  Status s = store_.Append(
      id, *index, std::span(reinterpret_cast<const uint8_t*>(req.body.data()), req.body.size()),
      *head);
  // The stream exists and its publisher signed the head: what the store
  // still refuses (a chunk out of order, a root the chunk does not make, a
  // fork) is at odds with the log.
  if (!s.ok()) return HttpResponse::Error(409, s.message());
  Wake(id, false);
  return HttpResponse::Json(201, DumpDocument(Json{{"size", *index + 1}}));
}

HttpResponse StreamApi::Accept(const HttpRequest& req, const std::string& id, bool ending) {
  auto doc = ParseJson(req.body);
  if (!doc.ok()) return HttpResponse::Error(400, doc.status().message());
  HttpResponse refusal;
  auto head = ReadHead(id, *doc, &refusal);
  if (!head.ok()) return refusal;
  Status s = ending ? store_.End(id, *head) : store_.Heartbeat(id, *head);
  if (!s.ok()) return Refused(s);
  Wake(id, ending);
  return HttpResponse::Json(200, DumpDocument(Json{{"id", id}, {"ended", ending}}));
}

HttpResponse StreamApi::Head(const HttpRequest& req, const std::string& id) {
  auto row = store_.Row(id);
  if (!row) return HttpResponse::Error(404, "no stream " + id);
  std::string after_text = QueryParam(req.target, "after"),
              wait_text = QueryParam(req.target, "wait");
  // No "after": the head now. "after" with no "wait": the head now too.
  auto after = Number(after_text.empty() ? "0" : after_text);
  auto wait = Number(wait_text.empty() ? "0" : wait_text);
  if (!after || !wait) return HttpResponse::Error(400, "after and wait are whole numbers");
  uint64_t size = row->head.is_null() ? 0 : static_cast<uint64_t>(NumberOr(row->head, "size", 0));
  bool ready = after_text.empty() || size > *after || row->ended;
  if (ready || *wait == 0) {
    if (row->head.is_null()) return HttpResponse::Error(404, "no head yet");
    return HttpResponse::Json(200, DumpDocument(row->head));
  }
  auto seconds = std::min<uint64_t>(*wait, static_cast<uint64_t>(options_.max_wait_s));
  HttpResponse r;
  r.defer = [this, id, after = *after, seconds](std::function<void(HttpResponse)> reply) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      waiters_[id].push_back(
          {after, Steady::now() + std::chrono::seconds(seconds), std::move(reply)});
    }
    cv_.notify_all();
    Wake(id, false);  // the log may have grown between the check and now
  };
  return r;
}

void StreamApi::Wake(const std::string& id, bool all) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!waiters_.count(id)) return;  // most appends: nobody waits, nothing to read
  }
  auto row = store_.Row(id);
  uint64_t size =
      !row || row->head.is_null() ? 0 : static_cast<uint64_t>(NumberOr(row->head, "size", 0));
  bool ended = row && row->ended;
  auto now = Steady::now();
  std::vector<std::function<void(HttpResponse)>> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return;
    auto& list = it->second;
    for (size_t i = 0; i < list.size();) {
      if (all || ended || size > list[i].after || now >= list[i].deadline) {
        due.push_back(std::move(list[i].reply));
        list[i] = std::move(list.back());
        list.pop_back();
      } else {
        ++i;
      }
    }
    if (list.empty()) waiters_.erase(it);
  }
  for (auto& reply : due) {
    reply(!row || row->head.is_null() ? HttpResponse::Error(404, "no head yet")
                                      : HttpResponse::Json(200, DumpDocument(row->head)));
  }
}

void StreamApi::Sweep() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    auto now = Steady::now();
    std::vector<std::string> expired;
    for (const auto& [id, list] : waiters_) {
      for (const auto& w : list) {
        if (now >= w.deadline) {
          expired.push_back(id);
          break;
        }
      }
    }
    lock.unlock();
    for (const auto& id : expired) Wake(id, false);
    lock.lock();
  }
}

HttpResponse StreamApi::Chunk(const std::string& id, const std::string& index_text) {
  auto index = Number(index_text);
  if (!index) return HttpResponse::Error(404, "not found");
  auto hashes = store_.ChunkHashes(id);
  if (*index >= hashes.size()) {
    return HttpResponse::Error(
        404, "stream " + id + " has " + std::to_string(hashes.size()) + " chunks");
  }
  auto bytes = chunks_.Get(hashes[*index]);
  if (!bytes.ok()) return HttpResponse::Error(404, bytes.status().message());
  HttpResponse r;
  r.body.assign(bytes->begin(), bytes->end());
  r.Set("Content-Type", "application/octet-stream");
  r.Set("ETag", "\"" + HexEncode(hashes[*index]) + "\"");
  r.Set("Cache-Control", "public, max-age=31536000, immutable");
  return r;
}

HttpResponse StreamApi::Consistency(const HttpRequest& req, const std::string& id) {
  auto from = Number(QueryParam(req.target, "from"));
  auto to = Number(QueryParam(req.target, "to"));
  auto hashes = store_.ChunkHashes(id);
  if (!from || !to || *from > *to || *to > hashes.size()) {
    return HttpResponse::Error(
        400, "from and to must hold from <= to <= " + std::to_string(hashes.size()));
  }
  std::span<const Hash256> newer(hashes.data(), *to);
  ConsistencyProofDoc p{*from, *to, MerkleRoot(newer.first(*from)), MerkleRoot(newer),
                        ConsistencyProof(newer, *from)};
  return HttpResponse::Json(200, DumpDocument(ProofToJson(p)));
}

}  // namespace digm
