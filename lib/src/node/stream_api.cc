#include "digm/stream_api.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "digm/crypto.h"
#include "digm/http_client.h"
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

uint64_t SizeOf(const LiveStreamRow& row) {
  return row.head.is_null() ? 0 : static_cast<uint64_t>(NumberOr(row.head, "size", 0));
}

}  // namespace

StreamApi::StreamApi(StreamStore& store, const ChunkStore& chunks, Options options)
    : store_(store),
      chunks_(chunks),
      options_(std::move(options)),
      directory_(StreamDirectory::Options{
          .self_url = options_.url, .stale_after = options_.stale_after, .clock = options_.clock}) {
  sweeper_ = std::thread([this] { Sweep(); });
}

StreamApi::~StreamApi() {
  stopping_ = true;  // ends the relays' calls at once
  std::map<std::string, Relayer> relays;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    relays.swap(relays_);
  }
  cv_.notify_all();
  for (auto& [_, r] : relays) r.thread.join();
  sweeper_.join();
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, _] : waiters_) ids.push_back(id);
  }
  for (const auto& id : ids) Wake(id, true);
}

void StreamApi::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

size_t StreamApi::Relaying() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [_, r] : relays_) n += r.done ? 0 : 1;
  return n;
}

std::vector<std::string> StreamApi::HeldLive() {
  std::vector<std::string> ids;
  for (const auto& row : store_.ListLive(options_.clock() - options_.stale_after))
    ids.push_back(row.id);
  return ids;
}

Json StreamApi::Directory(const std::string& query, bool with_ended) {
  Json out = Json::array();
  std::set<std::string> held;
  for (const auto& row :
       store_.ListLive(options_.clock() - options_.stale_after, query, with_ended)) {
    if (row.head.is_null() && with_ended) continue;  // gossip: nothing to follow yet
    Json j = row.ToJson();
    Json holders = Json::array({options_.url});
    if (auto heard = directory_.Find(row.id)) {
      for (const auto& h : heard->holders) holders.push_back(h);
    }
    j["holders"] = std::move(holders);
    held.insert(row.id);
    out.push_back(std::move(j));
  }
  for (const auto& e : directory_.Live(query)) {
    std::string id = HexEncode(e.stream.id);
    if (held.count(id)) continue;
    if (auto row = store_.Row(id); row && row->ended) continue;  // ended here first
    out.push_back(e.ToJson());
  }
  return out;
}

Json StreamApi::Gossip() { return Directory("", true); }

void StreamApi::Learn(const Json& directory) { directory_.Learn(directory); }

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
    if (!row) {
      // Heard of: what gossip said, and this node starts relaying it.
      auto heard = directory_.Find(id);
      if (!heard) return HttpResponse::Error(404, "no stream " + id);
      Follow(id);
      return HttpResponse::Json(200, DumpDocument(heard->ToJson()));
    }
    Json j = row->ToJson();
    j["holders"] = Json::array({options_.url});
    return HttpResponse::Json(200, DumpDocument(j));
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
  if (s[2] == "proof") {
    if (!get) return MethodNotAllowed("GET, HEAD");
    return Inclusion(req, id);
  }
  if (s[2] == "live.m3u8") {
    if (!get) return MethodNotAllowed("GET, HEAD");
    return Playlist(id);
  }
  if (m == "PUT") return Append(req, id, s[2]);
  if (!get) return MethodNotAllowed("GET, HEAD, PUT");
  return Chunk(id, s[2]);
}

HttpResponse StreamApi::List(const HttpRequest& req) {
  auto query = PercentDecode(QueryParam(req.target, "q"));
  if (!query) return HttpResponse::Error(400, "?q= is not a well-formed query value");
  return HttpResponse::Json(200, DumpDocument(Directory(*query)));
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
  // fork) is at odds with the log, unless the disk had no room for it.
  if (!s.ok()) {
    auto full = store_.node().NoRoomFor(req.body.size());
    return HttpResponse::Error(full ? 507 : 409, full ? *full : s.message());
  }
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
  std::string after_text = QueryParam(req.target, "after"),
              wait_text = QueryParam(req.target, "wait");
  // No "after": the head now. "after" with no "wait": the head now too.
  auto after = Number(after_text.empty() ? "0" : after_text);
  auto wait = Number(wait_text.empty() ? "0" : wait_text);
  if (!after || !wait) return HttpResponse::Error(400, "after and wait are whole numbers");
  auto seconds = std::min<uint64_t>(*wait, static_cast<uint64_t>(options_.max_wait_s));
  auto row = store_.Row(id);
  if (!row) {
    // Only heard of: relayed from a holder, and answered once the relay has
    // caught up (at least a few seconds, so a first ask need not poll).
    if (!Follow(id)) return HttpResponse::Error(404, "no stream " + id);
    return Await(id, after_text.empty() ? std::nullopt : std::optional(*after),
                 std::max<uint64_t>(seconds, 5));
  }
  uint64_t size = SizeOf(*row);
  bool ready = after_text.empty() || size > *after || row->ended;
  if (row->head.is_null() && *wait > 0 && after_text.empty()) {
    return Await(id, std::nullopt, seconds);  // announced, no chunk yet: the first head
  }
  if (ready || *wait == 0) {
    if (row->head.is_null()) return HttpResponse::Error(404, "no head yet");
    return HttpResponse::Json(200, DumpDocument(row->head));
  }
  return Await(id, *after, seconds);
}

HttpResponse StreamApi::Await(const std::string& id, std::optional<uint64_t> after,
                              uint64_t seconds) {
  HttpResponse r;
  r.defer = [this, id, after, seconds](std::function<void(HttpResponse)> reply) {
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
  bool has_head = row && !row->head.is_null();
  uint64_t size = has_head ? SizeOf(*row) : 0;
  bool ended = row && row->ended;
  auto now = Steady::now();
  std::vector<std::function<void(HttpResponse)>> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return;
    auto& list = it->second;
    for (size_t i = 0; i < list.size();) {
      bool grown = has_head && (!list[i].after || size > *list[i].after);
      if (all || ended || grown || now >= list[i].deadline) {
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

void StreamApi::AnswerWaiters() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, list] : waiters_) ids.push_back(id);
  }
  for (const auto& id : ids) Wake(id, true);
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
  auto hash = store_.ChunkHash(id, *index);
  if (!hash) {
    if (!store_.Get(id)) Follow(id);
    return HttpResponse::Error(404, "stream " + id + " has no chunk " + index_text + " here");
  }
  auto bytes = chunks_.Get(*hash);
  if (!bytes.ok()) return HttpResponse::Error(404, bytes.status().message());
  HttpResponse r;
  r.body.assign(bytes->begin(), bytes->end());
  r.Set("Content-Type", "application/octet-stream");
  r.Set("ETag", "\"" + HexEncode(*hash) + "\"");
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

HttpResponse StreamApi::Inclusion(const HttpRequest& req, const std::string& id) {
  auto hashes = store_.ChunkHashes(id);
  std::string size_text = QueryParam(req.target, "size");
  auto index = Number(QueryParam(req.target, "index"));
  auto size = size_text.empty() ? std::optional<uint64_t>(hashes.size()) : Number(size_text);
  if (!index || !size || *index >= *size || *size > hashes.size()) {
    return HttpResponse::Error(
        400, "index and size must hold index < size <= " + std::to_string(hashes.size()));
  }
  std::span<const Hash256> tree(hashes.data(), *size);
  InclusionProofDoc p{MerkleRoot(tree), *size, *index, hashes[*index],
                      InclusionProof(tree, *index)};
  return HttpResponse::Json(200, DumpDocument(ProofToJson(p)));
}

HttpResponse StreamApi::Playlist(const std::string& id) {
  auto stream = store_.Get(id);
  if (!stream) {
    Follow(id);
    return HttpResponse::Error(404, "no stream " + id + " here yet");
  }
  const StreamInfo& info = stream->info;
  std::string ext = info.mime == "audio/mpeg" ? "mp3" : info.mime == "audio/aac" ? "aac" : "";
  if (info.encryption || ext.empty()) {
    std::string why = info.encryption ? "the stream is encrypted: HLS players cannot decrypt it"
                                      : "HLS cannot carry " + info.mime;
    return HttpResponse::Json(
        409, DumpDocument(Json{{"error", why},
                               {"alternative", "digm-fetch " + id + " --live --peer " +
                                                   options_.url + " -o - | ffplay -nodisp -"}}));
  }
  auto hashes = store_.ChunkHashes(id);
  auto row = store_.Row(id);
  bool ended = row && row->ended;
  // A sliding window of the newest parts, about 8 s of them.
  size_t window = std::max<size_t>(3, 8000 / std::max<uint64_t>(info.part_ms, 1));
  size_t first = hashes.size() > window && !ended ? hashes.size() - window : 0;
  char line[64];
  double part = static_cast<double>(info.part_ms) / 1000;
  std::string m3u = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:" +
                    std::to_string(static_cast<int>(std::ceil(part))) +
                    "\n#EXT-X-MEDIA-SEQUENCE:" + std::to_string(first) + "\n";
  for (size_t i = first; i < hashes.size(); ++i) {
    std::snprintf(line, sizeof line, "#EXTINF:%.3f,\n", part);
    m3u += line;
    m3u += "/content/" + HexEncode(hashes[i]) + "." + ext + "\n";
  }
  if (ended) m3u += "#EXT-X-ENDLIST\n";
  HttpResponse res;
  res.body = std::move(m3u);
  res.Set("Content-Type", "application/vnd.apple.mpegurl");
  res.Set("Cache-Control", "no-cache");
  return res;
}

bool StreamApi::Follow(const std::string& id) {
  auto heard = directory_.Find(id);
  if (!heard) return false;
  const auto& allowed = options_.allowed_publishers;
  if (!allowed.empty() &&
      std::find(allowed.begin(), allowed.end(), heard->stream.info.publisher) == allowed.end()) {
    return false;  // a node that takes only some publishers relays only them
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_) return false;
  auto it = relays_.find(id);
  if (it != relays_.end()) {
    if (!it->second.done) return true;
    it->second.thread.join();  // ended or given up: may start again
    relays_.erase(it);
  }
  Relayer& r = relays_[id];
  r.thread = std::thread([this, id] { Relay(id); });
  return true;
}

void StreamApi::Relay(std::string id) {
  Log("relaying stream " + id);
  bool ended = false;
  for (int round = 0; !stopping_ && !ended; ++round) {
    auto heard = directory_.Find(id);
    if (!heard) break;  // stale, or gossip no longer names a holder
    for (const auto& holder : heard->holders) {
      if (stopping_) break;
      Status s = FollowFrom(id, heard->stream, holder);
      if (s.ok()) {
        ended = true;
        break;
      }
      if (!stopping_) Log("relay of stream " + id + " from " + holder + ": " + s.message());
    }
    if (auto row = store_.Row(id);
        ended || (row && row->last_heard < options_.clock() - options_.stale_after)) {
      break;
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
  }
  Log("relay of stream " + id + (ended ? " ended" : " stopped"));
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = relays_.find(id); it != relays_.end()) it->second.done = true;
}

Status StreamApi::FollowFrom(const std::string& id, const Stream& stream,
                             const std::string& holder) {
  HttpSession http;
  std::string base = holder + "/streams/" + id;
  HttpCallOptions poll{.timeout_ms = (options_.relay_wait_s + 5) * 1000L,
                       .connect_timeout_ms = 2000,
                       .max_body = 64 << 10,
                       .cancel = &stopping_};
  HttpCallOptions fetch{.timeout_ms = 10000,
                        .connect_timeout_ms = 2000,
                        .max_body = kMaxStreamChunk,
                        .cancel = &stopping_};
  int64_t last_time = 0;
  while (!stopping_) {
    auto row = store_.Row(id);
    uint64_t size = row ? SizeOf(*row) : 0;
    bool has_head = row && !row->head.is_null();
    if (row && row->ended) return Status::Ok();
    if (has_head && row->last_heard < options_.clock() - options_.stale_after) {
      return Status::Network("the stream went stale");
    }
    std::string target = base + "/head";
    if (has_head) {
      target += "?after=" + std::to_string(size) + "&wait=" + std::to_string(options_.relay_wait_s);
    }
    DIGM_ASSIGN_OR_RETURN(HttpResult r, http.Call("GET", target, "", poll));
    if (r.status != 200)
      return Status::Network("HTTP " + std::to_string(r.status) + " for its head");
    DIGM_ASSIGN_OR_RETURN(Json doc, ParseJson(r.body));
    DIGM_ASSIGN_OR_RETURN(TreeHead head, ReadTreeHead(doc, stream));
    if (!row) DIGM_RETURN_IF_ERROR(store_.Announce(stream));
    if (head.size < size)
      return Status::Network("its head (" + std::to_string(head.size) +
                             " chunks) is behind this node's");
    if (head.size > size) {
      std::vector<Hash256> hashes;
      for (uint64_t i = size; i < head.size && !stopping_; ++i) {
        DIGM_ASSIGN_OR_RETURN(HttpResult c,
                              http.Call("GET", base + "/" + std::to_string(i), "", fetch));
        if (c.status != 200)
          return Status::Network("HTTP " + std::to_string(c.status) + " for chunk " +
                                 std::to_string(i));
        DIGM_ASSIGN_OR_RETURN(
            Hash256 h, store_.KeepChunk(std::span(reinterpret_cast<const uint8_t*>(c.body.data()),
                                                  c.body.size())));
        hashes.push_back(h);
      }
      if (stopping_) break;
      DIGM_RETURN_IF_ERROR(store_.Append(id, size, hashes, head));
    } else if (has_head && head.time <= last_time && !head.ended) {
      continue;  // the same head again: no news, and not a sign of life
    } else if (has_head && !head.ended) {
      DIGM_RETURN_IF_ERROR(store_.Heartbeat(id, head));
    }
    last_time = std::max(last_time, head.time);
    if (head.ended) {
      DIGM_RETURN_IF_ERROR(store_.End(id, head));
      Wake(id, true);
      return Status::Ok();
    }
    Wake(id, false);
  }
  return Status::Network("the node is stopping");
}

}  // namespace digm
