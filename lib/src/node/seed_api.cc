#include "digm/seed_api.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

#include "digm/clock.h"
#include "digm/crypto.h"
#include "digm/http_client.h"
#include "digm/node_client.h"
#include "digm/peer_record.h"
#include "digm/pin.h"
#include "digm/web_assets.h"

namespace digm {
namespace {

constexpr size_t kOpenFiles = 1024;

// The Content-Type of a segment extension, "" for one HLS does not carry.
std::string SegmentMime(const std::string& ext) {
  if (ext == "mp3") return "audio/mpeg";
  if (ext == "aac") return "audio/aac";
  return "";
}

// The segment extension for a track's format, "" when HLS cannot carry it.
std::string SegmentExtension(const Manifest& m) {
  std::string mime = m.media.mime.value_or("");
  std::string format = m.media.format.value_or("");
  if (format == "mp3" || mime == "audio/mpeg") return "mp3";
  if (format == "aac" || mime == "audio/aac" || mime == "audio/aacp") return "aac";
  return "";
}

bool IsNonce(std::string_view s) {
  if (s.size() < 16 || s.size() > 128 || s.size() % 2) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// A file of the web player, or 404. The page may reach other nodes (its
// peers) but runs no script and loads nothing from anywhere else.
HttpResponse WebFile(const std::string& path) {
  auto asset = FindWebAsset(path);
  if (!asset) return HttpResponse::Error(404, "not found");
  HttpResponse r;
  r.body = std::string(asset->bytes);
  r.Set("Content-Type", std::string(asset->mime));
  r.Set("Cache-Control", "no-cache");
  r.Set("X-Content-Type-Options", "nosniff");
  r.Set("Content-Security-Policy",
        "default-src 'self'; connect-src 'self' http: https:; media-src 'self' blob:; "
        "img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'");
  return r;
}

Json TrackJson(const TrackRow& t) {
  return Json{{"title", t.title},           {"artist", t.artist}, {"album", t.album},
              {"duration", t.duration},     {"size", t.size},     {"content_hash", t.root},
              {"created_at", t.created_at}, {"root", t.root},     {"chunks", t.chunks}};
}

}  // namespace

SeedApi::SeedApi(NodeStore& store, const Wallet& identity, Options options)
    : store_(store),
      identity_(identity),
      options_(std::move(options)),
      node_id_(AddressToString(identity.address)) {
  if (Priced()) funding_thread_ = std::thread([this] { CheckFunding(); });
}

SeedApi::~SeedApi() { StopFunding(); }

void SeedApi::StopFunding() {
  AnswerFundingWaiters();
  funding_cv_.notify_all();
  if (funding_thread_.joinable()) funding_thread_.join();
}

Json SeedApi::SelfRecord() const {
  return MakePeerRecord(identity_, options_.url, options_.clock(), PriceJson());
}

std::vector<std::string> SeedApi::CompleteRoots() {
  std::vector<std::string> roots;
  for (const auto& t : store_.ListTracks()) {
    if (t.complete) roots.push_back(t.root);
  }
  return roots;
}

Json SeedApi::SelfRecordWithTracks() {
  Json r = SelfRecord();
  r["available_tracks"] = CompleteRoots();
  return r;
}

bool SeedApi::LearnPeer(const Json& record_in) {
  if (!record_in.is_object()) return false;
  auto reject = [&] {
    ++metrics_.rejected_records;
    return false;
  };
  auto read = ReadPeerRecord(record_in);
  if (!read.ok()) return reject();
  PeerRecord& peer = *read;
  if (peer.node_id == node_id_) return false;
  int64_t now = options_.clock();
  if (peer.seen < now - options_.peer_ttl) return false;           // stale news
  if (peer.seen > now + options_.max_clock_skew) return reject();  // would never go stale
  if (!PeerUrlAllowed(peer.url, options_.url)) return reject();
  std::string host = UrlHost(peer.url);
  Candidate c{PeerRow{peer.node_id, BaseUrl(peer.url), std::move(peer.record),
                      std::move(peer.roots), std::min(peer.seen, now), std::move(host)},
              peer.has_roots};
  // Known at this URL (it proved its key there): an update.
  if (store_.HasPeerAt(c.row.node_id, c.row.url, now - options_.peer_ttl)) {
    Keep(c);
    return true;
  }
  if (!HasRoomFor(c.row.node_id, c.row.url, now)) return reject();
  // A new URL for this key: learned once the node there proves it holds the
  // key (ProvePending), so no record can point others at a node it is not.
  std::lock_guard<std::mutex> lock(pending_mu_);
  for (auto& p : pending_) {
    if (p.row.node_id == c.row.node_id && p.row.url == c.row.url) {
      p = std::move(c);
      return false;
    }
  }
  if (pending_.size() < kMaxPending) pending_.push_back(std::move(c));
  return false;
}

void SeedApi::Keep(const Candidate& c) {
  store_.UpsertPeer(c.row);
  if (c.has_roots) store_.SetPeerRoots(c.row.node_id, c.row.roots);
}

size_t SeedApi::ProvePending(size_t max) {
  std::vector<Candidate> batch;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    while (!pending_.empty() && batch.size() < max) {
      batch.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
  }
  size_t learned = 0;
  for (const auto& c : batch) {
    auto who = options_.prove ? options_.prove(c.row.url) : ProveIdentity(c.row.url, 2000);
    if (!who.ok() || AddressToString(*who) != c.row.node_id) {
      ++metrics_.rejected_records;
      continue;
    }
    if (!HasRoomFor(c.row.node_id, c.row.url, options_.clock())) continue;
    Keep(c);
    ++learned;
  }
  return learned;
}

size_t SeedApi::PendingPeers() {
  std::lock_guard<std::mutex> lock(pending_mu_);
  return pending_.size();
}

Json SeedApi::TracksJson() {
  Json tracks = Json::array();
  for (const auto& t : store_.ListTracks()) {
    if (t.complete) tracks.push_back(TrackJson(t));
  }
  return tracks;
}

bool SeedApi::HasRoomFor(const std::string& node_id, const std::string& url, int64_t now) {
  // Counted in the index, not read: a flood must not cost a scan per record.
  auto counts = store_.CountPeers(UrlHost(url), now - options_.peer_ttl);
  if (counts.all < options_.max_peers && counts.on_host < options_.max_peers_per_host) return true;
  return store_.HasPeerAt(node_id, BaseUrl(url),
                          now - options_.peer_ttl);  // an update takes no room
}

Json SeedApi::PeersJson() {
  // The most recently seen first, and no more than a reply should carry.
  Json peers = Json::array();
  for (const auto& p :
       store_.ListPeers(options_.clock() - options_.peer_ttl, options_.max_peers_listed)) {
    peers.push_back(p.record);
  }
  return peers;
}

std::optional<HttpResponse> SeedApi::Admit(const HttpRequest& head) {
  if (head.method != "PUT") return std::nullopt;
  auto segs = Segments(PathOf(head.target));
  if (!segs || segs->size() != 2 || (*segs)[0] != "content" || !IsHash((*segs)[1])) {
    return std::nullopt;  // Handle answers
  }
  const std::string& hash = (*segs)[1];
  if (!store_.ChunkIsPinned(hash)) {
    ++metrics_.requests;
    ++metrics_.client_errors;
    return HttpResponse::Error(403, "no pin on this node covers " + hash);
  }
  // So is one this node has no room for (its declared length).
  std::string declared = head.Header("content-length");
  uint64_t length = 0;
  auto [end, ec] = std::from_chars(declared.data(), declared.data() + declared.size(), length);
  if (ec != std::errc() || end != declared.data() + declared.size() || store_.HasChunk(hash))
    return std::nullopt;  // Handle answers
  auto full = store_.NoRoomFor(length);
  if (!full) return std::nullopt;
  ++metrics_.requests;
  ++metrics_.insufficient_storage;
  return HttpResponse::Error(507, *full);
}

HttpResponse SeedApi::Handle(const HttpRequest& req) {
  ++metrics_.requests;
  HttpResponse res = [&]() -> HttpResponse {
    auto segs = Segments(PathOf(req.target));
    if (!segs) return HttpResponse::Error(400, "bad path");
    const auto& s = *segs;
    const std::string& m = req.method;
    bool get = m == "GET" || m == "HEAD";
    if (m == "OPTIONS") {  // a browser's CORS preflight
      HttpResponse r;
      r.status = 204;
      r.Set("Access-Control-Allow-Methods", "GET, HEAD, PUT, POST, OPTIONS");
      r.Set("Access-Control-Allow-Headers", "Range, If-None-Match, If-Range, Content-Type");
      r.Set("Access-Control-Max-Age", "86400");
      return r;
    }
    if (!s.empty() && s[0] == "streams") {
      if (!options_.streams) return HttpResponse::Error(404, "this node keeps no live streams");
      return options_.streams->Handle(req, s);
    }
    // The web player (SPEC §10): the page at / and /play/ID, its files under /web/.
    if (s.empty() || (s.size() == 2 && s[0] == "play") || (s.size() >= 2 && s[0] == "web")) {
      if (!get) return MethodNotAllowed("GET, HEAD");
      if (!s.empty() && s[0] == "play" && !IsHash(s[1]))
        return HttpResponse::Error(400, "expected a 64-hex-digit root or stream id");
      std::string path = "/index.html";
      if (!s.empty() && s[0] == "web") {
        path.clear();
        for (size_t i = 1; i < s.size(); ++i) path += "/" + s[i];
      }
      HttpResponse page = WebFile(path);
      if (!s.empty() && s[0] == "play") PreloadTrack(page, s[1]);
      return page;
    }
    if (s.size() == 1 && s[0] == "ping") {
      if (!get) return MethodNotAllowed("GET, HEAD");
      // With a nonce, the node proves it holds its key at its URL.
      if (std::string nonce = QueryParam(req.target, "nonce"); !nonce.empty()) {
        if (!IsNonce(nonce))
          return HttpResponse::Error(400, "nonce: expected 16 to 128 hex digits");
        return HttpResponse::Json(
            200, DumpDocument(SignedPong(identity_, options_.url, nonce, PriceJson())));
      }
      return HttpResponse::Json(200, DumpDocument(Json{{"schema", "digm.pong/1"},
                                                       {"node_id", node_id_},
                                                       {"time", Rfc3339(options_.clock())}}));
    }
    if (s.size() == 2 && s[0] == "channels") {
      // A paying client resumes a channel from the best voucher it signed
      // (GET; with the channel's document, the node checks it first, so a
      // channel it would not take is refused before any content is asked),
      // and pays what it still owes when it is done (POST, the payment
      // headers with no content).
      if (!get && m != "POST") return MethodNotAllowed("GET, HEAD, POST");
      if (!Priced()) return HttpResponse::Error(404, "this node does not charge");
      if (!IsHash(s[1])) return HttpResponse::Error(400, "expected a 64-hex-digit channel id");
      if (m == "POST" || !req.Header("digm-channel").empty()) {
        auto named = CheckedChannel(req.Header("digm-channel"));
        if (named.ok() && (*named)->channel.id != s[1])
          return HttpResponse::Error(400,
                                     "the Digm-Channel header is channel " + (*named)->channel.id);
        if (auto refused = Charge(req, 0)) return std::move(*refused);
      }
      auto account = options_.vouchers->Find(s[1]);
      if (!account.ok()) return HttpResponse::Error(500, account.status().message());
      if (!*account) return HttpResponse::Error(404, "no channel " + s[1] + " here");
      return HttpResponse::Json(200, DumpDocument(Json{{"schema", "digm.channel-account/1"},
                                                       {"channel", s[1]},
                                                       {"voucher", (*account)->voucher},
                                                       {"served", (*account)->served}}));
    }
    if (s.size() == 1 && s[0] == "peers") {
      if (!get) return MethodNotAllowed("GET, HEAD");
      return HttpResponse::Json(200, DumpDocument(PeersJson()));
    }
    if (s.size() == 1 && s[0] == "tracks") {
      if (!get) return MethodNotAllowed("GET, HEAD");
      return HttpResponse::Json(200, DumpDocument(TracksJson()));
    }
    if (s.size() == 1 && s[0] == "discover") {
      if (m != "POST") return MethodNotAllowed("POST");
      return Discover(req);
    }
    if (s.size() == 1 && s[0] == "audit") {
      if (m != "POST") return MethodNotAllowed("POST");
      return Audit(req);
    }
    if (s.size() == 1 && s[0] == "metrics") {
      if (!get) return MethodNotAllowed("GET, HEAD");
      return Metrics();
    }
    if (s.size() == 2 && s[0] == "content") {
      // "/content/{hash}.mp3": the same bytes, typed for players (HLS segments).
      std::string id = s[1], typed;
      if (size_t dot = id.find('.'); dot != std::string::npos && get) {
        typed = SegmentMime(id.substr(dot + 1));
        if (typed.empty())
          return HttpResponse::Error(404, "no such segment type: " + id.substr(dot + 1));
        id.resize(dot);
      }
      if (!IsHash(id)) return HttpResponse::Error(400, "expected a 64-hex-digit hash");
      if (get) {
        HttpResponse r = Content(req, id);
        if (!typed.empty() && r.status < 300) {
          for (auto& [name, value] : r.headers) {
            if (name == "Content-Type") value = typed;
          }
        }
        return r;
      }
      if (m == "PUT") return PutContent(req, s[1]);
      return MethodNotAllowed("GET, HEAD, PUT");
    }
    if ((s.size() == 2 || s.size() == 3) && s[0] == "tracks") {
      if (!IsHash(s[1])) return HttpResponse::Error(400, "expected a 64-hex-digit root");
      if (s.size() == 3) {
        if (s[2] != "playlist.m3u8") return HttpResponse::Error(404, "not found");
        if (!get) return MethodNotAllowed("GET, HEAD");
        return Playlist(s[1]);
      }
      if (m == "PUT") return PutTrack(req, s[1]);
      if (!get) return MethodNotAllowed("GET, HEAD, PUT");
      auto text = store_.ManifestText(s[1]);
      if (!text) return HttpResponse::Error(404, "no track " + s[1]);
      return HttpResponse::Json(200, *text);
    }
    return HttpResponse::Error(404, "not found");
  }();
  bool head = req.method == "HEAD";
  auto finish = [head](HttpResponse& r) {
    if (head) r.head_only = true;
    // Browsers may read every answer from any page (nothing here is private).
    r.Set("Access-Control-Allow-Origin", "*");
    r.Set("Access-Control-Expose-Headers", "ETag, Content-Range, Content-Length, Accept-Ranges");
  };
  if (res.defer) {  // a long poll: the same finish for the answer that comes later
    auto inner = std::move(res.defer);
    res.defer = [inner, finish](std::function<void(HttpResponse)> reply) {
      inner([reply = std::move(reply), finish](HttpResponse later) {
        finish(later);
        reply(std::move(later));
      });
    };
    return res;
  }
  if (res.status >= 400 && res.status < 500) ++metrics_.client_errors;
  if (res.status == 507) ++metrics_.insufficient_storage;
  finish(res);
  return res;
}

// The page for a track held here fetches its manifest and first chunks at
// once: the browser may start on them with the page itself (RFC 8288 Link
// preloads), before any script has run.
void SeedApi::PreloadTrack(HttpResponse& page, const std::string& root) {
  auto text = store_.ManifestText(root);
  if (!text) return;
  std::string links = "</tracks/" + root + ">; rel=preload; as=fetch; crossorigin=anonymous";
  if (auto m = ParseManifest(*text); m.ok()) {
    for (size_t i = 0; i < std::min<size_t>(m->chunks.size(), 2); ++i) {
      links += ", </content/" + HexEncode(m->chunks[i].hash) +
               ">; rel=preload; as=fetch; crossorigin=anonymous";
    }
  }
  page.Set("Link", links);
}

HttpResponse SeedApi::Content(const HttpRequest& req, const std::string& id) {
  std::vector<FileSlice> files;
  std::string mime = "application/octet-stream";
  uint64_t size = 0;
  if (auto file = OpenChunk(id, &size)) {
    files.push_back({"", 0, size, std::move(file)});
  } else if (auto manifest = store_.GetManifest(id); manifest && store_.TrackComplete(id)) {
    // A track root: the whole track's stored bytes in order.
    for (const auto& c : manifest->chunks)
      files.push_back({store_.chunks().PathFor(c.hash), 0, c.size});
    if (!manifest->encryption && manifest->media.mime) mime = *manifest->media.mime;
  } else {
    return HttpResponse::Error(404, "no content " + id);
  }
  std::string etag = "\"" + id + "\"";
  HttpResponse res;
  res.Set("ETag", etag);
  res.Set("Cache-Control", "public, max-age=31536000, immutable");
  res.Set("Accept-Ranges", "bytes");
  if (auto inm = req.headers.find("if-none-match");
      inm != req.headers.end() && IfNoneMatchHits(inm->second, etag)) {
    res.status = 304;
    return res;
  }
  res.Set("Content-Type", mime);
  uint64_t total = 0;
  for (const auto& f : files) total += f.length;
  ByteRange range;
  std::string range_header = req.Header("range");
  if (auto ir = req.headers.find("if-range");
      ir != req.headers.end() && !IfRangeHolds(ir->second, etag)) {
    range_header.clear();  // the client's copy is another: send it whole
  }
  switch (range_header.empty() ? RangeKind::kNone : ParseRange(range_header, total, &range)) {
    case RangeKind::kNone:
      res.files = std::move(files);
      break;
    case RangeKind::kSatisfiable:
      res.status = 206;
      res.Set("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                   std::to_string(range.last) + "/" + std::to_string(total));
      res.files = SliceRange(files, range);
      break;
    case RangeKind::kUnsatisfiable: {
      HttpResponse bad = HttpResponse::Error(416, "range not satisfiable");
      bad.Set("Content-Range", "bytes */" + std::to_string(total));
      return bad;
    }
  }
  if (req.method == "HEAD") return res;
  if (Priced()) {
    if (auto refused = Charge(req, res.ContentLength())) return std::move(*refused);
  }
  metrics_.bytes_served += res.ContentLength();
  return res;
}

Result<std::shared_ptr<SeedApi::CheckedChannelDoc>> SeedApi::CheckedChannel(
    const std::string& text) {
  {
    std::lock_guard lock(channels_mu_);
    if (auto it = channels_.find(text); it != channels_.end()) return it->second;
  }
  DIGM_ASSIGN_OR_RETURN(Json doc, ParseJson(text));
  DIGM_ASSIGN_OR_RETURN(Channel c, ReadChannel(doc));
  auto checked = std::make_shared<CheckedChannelDoc>();
  checked->channel = std::move(c);
  std::lock_guard lock(channels_mu_);
  if (channels_.size() >= kMaxChannels) channels_.clear();  // a flood of channels costs only checks
  channels_.emplace(text, checked);
  return checked;
}

HttpResponse SeedApi::Invoice(const std::string& channel, int64_t owed, int64_t paid,
                              const std::string& why) {
  ++metrics_.payment_required;
  Json invoice = MakeInvoice(channel, owed, paid, *options_.price);
  if (!why.empty()) invoice["error"] = why;
  return HttpResponse::Json(402, DumpDocument(invoice));
}

HttpResponse SeedApi::AwaitFunding(const HttpRequest& req, std::shared_ptr<CheckedChannelDoc> doc,
                                   uint64_t bytes) {
  HttpResponse later;
  later.defer = [this, req, doc = std::move(doc), bytes](std::function<void(HttpResponse)> reply) {
    std::unique_lock lock(funding_mu_);
    size_t theirs =
        std::count_if(funding_waiters_.begin(), funding_waiters_.end(),
                      [&](const FundingWaiter& w) { return w.req.remote == req.remote; });
    if (funding_stop_ || funding_waiters_.size() >= kMaxFundingWaiters ||
        theirs >= kMaxFundingWaitersPerAddress) {
      bool stopping = funding_stop_;
      lock.unlock();
      HttpResponse busy = HttpResponse::Error(
          503, stopping ? "the node is stopping"
                        : "the node is checking other channels' money: try again in a moment");
      busy.Set("Retry-After", "1");
      reply(std::move(busy));
      return;
    }
    funding_waiters_.push_back({doc, req, bytes, std::move(reply)});
    funding_cv_.notify_one();
  };
  return later;
}

void SeedApi::CheckFunding() {
  std::unique_lock lock(funding_mu_);
  for (;;) {
    funding_cv_.wait(lock, [&] { return funding_stop_ || !funding_waiters_.empty(); });
    if (funding_waiters_.empty()) return;  // stopped
    FundingWaiter w = std::move(funding_waiters_.front());
    funding_waiters_.pop_front();
    lock.unlock();
    Status funded = Status::Ok();
    if (!w.doc->funded) {  // waiters on one channel: the first one's check serves them all
      funded = options_.check_channel ? options_.check_channel(w.doc->channel)
                                      : Status::No("this node checks no channels");
      if (funded.ok()) w.doc->funded = true;
    }
    if (!funded.ok()) {
      // Those waiting on the same document get the same answer, unasked.
      std::vector<FundingWaiter> same;
      same.push_back(std::move(w));
      {
        std::lock_guard guard(funding_mu_);
        for (auto it = funding_waiters_.begin(); it != funding_waiters_.end();) {
          if (it->doc != same[0].doc) {
            ++it;
            continue;
          }
          same.push_back(std::move(*it));
          it = funding_waiters_.erase(it);
        }
      }
      for (auto& s : same)
        s.reply(Refusal(s.doc->channel.id, s.bytes, "Digm-Channel: " + funded.message()));
    } else {
      HttpResponse r = Handle(w.req);  // the request again, its channel now checked
      if (r.defer) {
        r.defer(std::move(w.reply));
      } else {
        w.reply(std::move(r));
      }
    }
    lock.lock();
  }
}

void SeedApi::AnswerFundingWaiters() {
  std::deque<FundingWaiter> waiting;
  {
    std::lock_guard lock(funding_mu_);
    funding_stop_ = true;
    waiting.swap(funding_waiters_);
  }
  for (auto& w : waiting) w.reply(HttpResponse::Error(503, "the node is stopping"));
}

std::optional<HttpResponse> SeedApi::Charge(const HttpRequest& req, uint64_t bytes) {
  const Price& price = *options_.price;
  auto refuse = [&](const std::string& channel, const std::string& why) {
    return Refusal(channel, bytes, why);
  };
  std::string channel_text = req.Header("digm-channel");
  std::string voucher_text = req.Header("digm-voucher");
  if (channel_text.empty()) return refuse("", "this node charges: pay through a channel");
  if (channel_text.size() > kMaxPaymentHeader || voucher_text.size() > kMaxPaymentHeader)
    return HttpResponse::Error(
        400, "a payment header is over " + std::to_string(kMaxPaymentHeader) + " bytes");
  auto channel = CheckedChannel(channel_text);
  if (!channel.ok()) return refuse("", "Digm-Channel: " + channel.status().message());
  const Channel& c = (*channel)->channel;
  if (c.payee != identity_.address)
    return refuse(c.id, "the channel pays " + AddressToString(c.payee) + ", not this node");
  if (c.asset.name != price.asset.name)
    return refuse(
        c.id, "the channel is in " + c.asset.name + "; this node charges in " + price.asset.name);
  int64_t now = options_.clock();
  if (c.expires <= now) return refuse(c.id, "the channel expired");
  // What it takes from here on it could not redeem before the payer may
  // take the rest back (digm-pay channel refund).
  if (c.expires - now <= price.channel_margin) {
    return refuse(c.id,
                  "the channel expires at " + Rfc3339(c.expires) + ", within the " +
                      std::to_string(price.channel_margin) +
                      " seconds this node keeps to redeem its vouchers (--channel-margin): open "
                      "one that runs longer");
  }
  // Signed by its payer says only that the payer wrote it: whether the
  // money is where it says is asked once per document, before anything is
  // sent on it (one that fails is asked again next time).
  if (!(*channel)->funded) return AwaitFunding(req, *channel, bytes);
  std::optional<Voucher> voucher;
  // The voucher it holds already (sent again until more is owed) needs no
  // check, nor one it holds a later one than (a request that was in flight
  // together with the later one's): the book would not take it, and the
  // request is charged as if it had none.
  if (!voucher_text.empty() && !options_.vouchers->Holds(c.id, voucher_text)) {
    auto vdoc = ParseJson(voucher_text);
    auto seq = vdoc.ok() ? GetUint(*vdoc, "seq", "voucher.seq") : Result<uint64_t>(vdoc.status());
    if (!seq.ok() || !options_.vouchers->Overtaken(c.id, *seq)) {
      auto v = vdoc.ok() ? ReadVoucher(*vdoc, c) : Result<Voucher>(vdoc.status());
      if (!v.ok()) return refuse(c.id, "Digm-Voucher: " + v.status().message());
      voucher = std::move(*v);
    }
  }
  auto d = options_.vouchers->Charge(c, voucher ? &*voucher : nullptr, bytes, price.per_mb,
                                     price.credit);
  if (!d.ok()) {
    return refuse(c.id,
                  (d.status().code() == Code::kNo ? "" : "Digm-Voucher: ") + d.status().message());
  }
  if (!d->allowed) return Invoice(c.id, d->owed, d->paid, "");
  metrics_.bytes_paid += d->paid_bytes;
  metrics_.bytes_unpaid += bytes - d->paid_bytes;
  return std::nullopt;
}

std::shared_ptr<const OpenFile> SeedApi::OpenChunk(const std::string& hash, uint64_t* size) {
  // The open file is served only while the path still names it: fsck
  // --repair (from another process) may have moved it to quarantine, and
  // `rm` may have removed it. Checked with one stat, at most once a second
  // per file, so a hot chunk costs no path lookup.
  auto clock = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(files_mu_);
    if (auto it = files_.find(hash); it != files_.end() && clock - it->second.checked < kRecheck) {
      *size = it->second.size;
      return it->second.file;
    }
  }
  std::string path = store_.chunks().PathFor(*HexDecodeArray<32>(hash));
  struct stat now;
  bool exists = stat(path.c_str(), &now) == 0 && S_ISREG(now.st_mode);
  {
    std::lock_guard<std::mutex> lock(files_mu_);
    if (auto it = files_.find(hash); it != files_.end()) {
      if (exists && it->second.inode == now.st_ino && it->second.device == now.st_dev) {
        it->second.checked = clock;
        *size = it->second.size;
        return it->second.file;
      }
      files_.erase(it);
    }
  }
  if (!exists) return nullptr;
  // A chunk file exists only once its bytes were checked, written, fsync'ed
  // and renamed, so the file system answers without the index.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  auto file = std::make_shared<const OpenFile>(fd);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
  *size = static_cast<uint64_t>(st.st_size);
  std::lock_guard<std::mutex> lock(files_mu_);
  if (files_.size() >= kOpenFiles) files_.clear();  // bounded: descriptors are finite
  files_[hash] = OpenChunkFile{file, *size, st.st_ino, st.st_dev, clock};
  return file;
}

HttpResponse SeedApi::PutTrack(const HttpRequest& req, const std::string& root) {
  auto body = ParseJson(req.body);
  if (!body.ok()) return HttpResponse::Error(400, body.status().message());
  if (!body->is_object() || !body->contains("manifest") || !body->contains("pin")) {
    return HttpResponse::Error(400, "expected {\"manifest\": ..., \"pin\": ...}");
  }
  auto manifest = ManifestFromJson((*body)["manifest"]);
  if (!manifest.ok()) return HttpResponse::Error(400, "manifest: " + manifest.status().message());
  if (Status s = CheckRoot(*manifest); !s.ok()) return HttpResponse::Error(422, s.message());
  if (HexEncode(manifest->ComputeRoot()) != root) {
    return HttpResponse::Error(422, "the manifest's root is not " + root);
  }
  const Json& pin = (*body)["pin"];
  if (Status s =
          CheckPin(pin, root, options_.allowed_publishers, options_.max_replicas, options_.clock());
      !s.ok()) {
    return HttpResponse::Error(s.code() == Code::kIntegrity ? 403 : 400, s.message());
  }
  // A track this node has no room for is refused before any of it is sent.
  std::vector<Hash256> lacking;
  if (auto full = store_.NoRoomFor(store_.MissingBytes(*manifest, &lacking))) {
    if (options_.log) options_.log("refused track " + root + ": " + *full);
    return HttpResponse::Error(507, *full);
  }
  if (Status s = store_.AddTrack(*manifest); !s.ok()) return HttpResponse::Error(500, s.message());
  // The node a publisher chose anchors the replica set: the pin names it,
  // under the publisher's signature (members outside the pin are not trusted).
  std::string origin = StringOr(pin, "origin");
  if (Status s = store_.PutPin(root, pin, origin); !s.ok())
    return HttpResponse::Error(500, s.message());
  Json missing = Json::array();
  for (const auto& h : lacking) missing.push_back(HexEncode(h));
  return HttpResponse::Json(
      201, DumpDocument(Json{{"schema", "digm.upload/1"}, {"root", root}, {"missing", missing}}));
}

HttpResponse SeedApi::PutContent(const HttpRequest& req, const std::string& hash) {
  if (!store_.ChunkIsPinned(hash))
    return HttpResponse::Error(403, "no pin on this node covers " + hash);
  const auto* data = reinterpret_cast<const uint8_t*>(req.body.data());
  Status s = store_.PutChunk(*HexDecodeArray<32>(hash), std::span(data, req.body.size()));
  if (s.code() == Code::kIntegrity) return HttpResponse::Error(422, s.message());
  if (!s.ok()) {
    // No room (PutChunk's check, or another writer filled the disk): 507.
    auto full = store_.NoRoomFor(req.body.size());
    return full ? HttpResponse::Error(507, *full) : HttpResponse::Error(500, s.message());
  }
  ++metrics_.chunks_received;
  return HttpResponse::Json(
      201,
      DumpDocument(Json{{"schema", "digm.stored/1"}, {"hash", hash}, {"size", req.body.size()}}));
}

HttpResponse SeedApi::Discover(const HttpRequest& req) {
  auto body = ParseJson(req.body);
  if (!body.ok() || !body->is_object()) return HttpResponse::Error(400, "expected {\"peer\": ...}");
  // A signed record is learned; any other peer object is answered all the same.
  if (auto it = body->find("peer"); it != body->end()) LearnPeer(*it);
  Json reply{{"peer", SelfRecordWithTracks()}, {"tracks", TracksJson()}, {"peers", PeersJson()}};
  // Live streams travel both ways: the asker's and this node's directory.
  if (options_.streams) {
    if (auto it = body->find("streams"); it != body->end()) options_.streams->Learn(*it);
    reply["streams"] = options_.streams->Gossip();
  }
  return HttpResponse::Json(200, DumpDocument(reply));
}

HttpResponse SeedApi::Audit(const HttpRequest& req) {
  auto body = ParseJson(req.body);
  if (!body.ok()) return HttpResponse::Error(400, body.status().message());
  if (!CheckSchema(*body, "challenge", 1).ok())
    return HttpResponse::Error(400, "expected a digm.challenge/1");
  auto root = GetString(*body, "root", "root");
  auto nonce_hex = GetString(*body, "nonce", "nonce");
  auto offset = GetUint(*body, "offset", "offset");
  auto length = GetUint(*body, "length", "length");
  if (!root.ok() || !nonce_hex.ok() || !offset.ok() || !length.ok() || *length > 4096) {
    return HttpResponse::Error(400,
                               "a challenge needs root, chunk, nonce, offset and length <= 4096");
  }
  auto nonce = HexDecode(*nonce_hex);
  if (!nonce.ok()) return HttpResponse::Error(400, "nonce: " + nonce.status().message());
  auto manifest = store_.GetManifest(*root);
  if (!manifest) return HttpResponse::Error(404, "no track " + *root);
  auto chunk = body->find("chunk");
  std::optional<Hash256> hash;
  if (chunk != body->end() && chunk->is_number_unsigned() &&
      chunk->get<uint64_t>() < manifest->chunks.size()) {
    hash = manifest->chunks[chunk->get<uint64_t>()].hash;
  } else if (chunk != body->end() && chunk->is_string()) {
    for (const auto& c : manifest->chunks) {
      if (HexEncode(c.hash) == chunk->get<std::string>()) hash = c.hash;
    }
  }
  if (!hash) return HttpResponse::Error(404, "no such chunk in " + *root);
  if (!store_.chunks().Has(*hash)) return HttpResponse::Error(404, "chunk not held");
  auto bytes = store_.chunks().Read(*hash, *offset, *length);
  if (!bytes.ok()) return HttpResponse::Error(400, "offset past the end of the chunk");
  // Bound to this node's key (SPEC §7): relaying another node's answer fails.
  Sha256Hasher h;
  Hash256 inner = h.Digest(*nonce, *bytes);
  Sha256Hasher outer;
  Hash256 digest = outer.Digest(inner, identity_.address);
  Json response =
      Json{{"schema", "digm.response/1"}, {"digest", HexEncode(digest)}, {"node_id", node_id_}};
  SignDocument(response, identity_);
  ++metrics_.audit_answers;
  return HttpResponse::Json(200, DumpDocument(response));
}

HttpResponse SeedApi::Playlist(const std::string& root) {
  auto manifest = store_.GetManifest(root);
  if (!manifest) return HttpResponse::Error(404, "no track " + root);
  // HLS carries packed MP3 and AAC (ADTS) segments; players fail on anything
  // else, and on ciphertext. Say what works instead (SPEC §5).
  std::string ext = SegmentExtension(*manifest);
  if (manifest->encryption || ext.empty()) {
    std::string why = manifest->encryption
                          ? "the track is encrypted: HLS players cannot decrypt it"
                          : "HLS cannot carry " + manifest->media.format.value_or("this format");
    std::string alternative =
        "digm-fetch " + root + " --peer " + options_.url + " -o - | ffplay -nodisp -autoexit -";
    return HttpResponse::Json(409,
                              DumpDocument(Json{{"error", why}, {"alternative", alternative}}));
  }
  double duration = manifest->media.duration.value_or(0);
  std::vector<double> seconds;
  double longest = 1;
  for (const auto& c : manifest->chunks) {
    double s = manifest->size ? duration * static_cast<double>(c.plain) / manifest->size : 0;
    seconds.push_back(s);
    longest = std::max(longest, s);
  }
  std::string m3u = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:" +
                    std::to_string(static_cast<int>(std::ceil(longest))) +
                    "\n#EXT-X-MEDIA-SEQUENCE:0\n";
  for (size_t i = 0; i < manifest->chunks.size(); ++i) {
    char extinf[64];
    std::snprintf(extinf, sizeof extinf, "#EXTINF:%.3f,\n", seconds[i]);
    m3u += extinf;
    m3u += "/content/" + HexEncode(manifest->chunks[i].hash) + "." + ext + "\n";
  }
  m3u += "#EXT-X-ENDLIST\n";
  HttpResponse res;
  res.body = std::move(m3u);
  res.Set("Content-Type", "application/vnd.apple.mpegurl");
  return res;
}

HttpResponse SeedApi::Metrics() {
  auto tracks = store_.ListTracks();
  uint64_t chunks = 0;
  uint64_t complete = 0;
  for (const auto& t : tracks) {
    complete += t.complete;
    chunks += t.complete ? t.chunks : 0;
  }
  auto peers = store_.ListPeers(options_.clock() - options_.peer_ttl);
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(value) + "\n";
  };
  metric("digm_requests_total", "counter", "HTTP requests handled.", metrics_.requests);
  metric("digm_client_errors_total", "counter", "Requests answered with a 4xx status.",
         metrics_.client_errors);
  metric("digm_bytes_served_total", "counter", "Content bytes sent.", metrics_.bytes_served);
  metric("digm_bytes_served_paid_total", "counter",
         "Content bytes sent that vouchers had paid for (a priced node).", metrics_.bytes_paid);
  metric("digm_bytes_served_unpaid_total", "counter",
         "Content bytes sent on credit, not yet paid for (a priced node).", metrics_.bytes_unpaid);
  metric("digm_payment_required_total", "counter", "Requests answered 402 Payment Required.",
         metrics_.payment_required);
  metric("digm_chunks_received_total", "counter", "Chunks uploaded to this node.",
         metrics_.chunks_received);
  metric("digm_audit_answers_total", "counter", "Storage challenges answered.",
         metrics_.audit_answers);
  metric("digm_rejected_records_total", "counter", "Unsigned or forged peer records dropped.",
         metrics_.rejected_records);
  metric("digm_insufficient_storage_total", "counter",
         "Tracks, chunks and stream chunks refused for want of room: the disk's or --max-storage's "
         "(507).",
         metrics_.insufficient_storage);
  metric("digm_tracks", "gauge", "Complete tracks held.", complete);
  metric("digm_track_chunks", "gauge", "Chunks of complete tracks held.", chunks);
  metric("digm_peers", "gauge", "Peers believed alive.", peers.size());
  if (auto free = store_.FreeBytes())
    metric("digm_store_free_bytes", "gauge",
           "Bytes free on the data folder's file system (the node keeps 16 MiB of them).", *free);
  metric("digm_store_bytes", "gauge", "Bytes of the chunks held.", store_.StoredBytes());
  if (uint64_t max = store_.max_bytes())
    metric("digm_store_max_bytes", "gauge", "Bytes of chunks held at most (--max-storage).", max);
  HttpResponse res;
  res.body = std::move(out);
  res.Set("Content-Type", "text/plain; version=0.0.4");
  return res;
}

}  // namespace digm
