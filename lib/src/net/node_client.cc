#include "digm/node_client.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>

#include "base/background.h"
#include "digm/clock.h"
#include "digm/crypto.h"
#include "digm/hex.h"
#include "digm/http_client.h"
#include "digm/peer_record.h"

namespace digm {

std::string UrlHost(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view s = url.substr(0, scheme);
  if (s != "http" && s != "https") return "";
  url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  if (size_t at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  if (!url.empty() && url[0] == '[') {
    size_t close = url.find(']');
    if (close == std::string_view::npos) return "";
    url = url.substr(1, close - 1);
  } else {
    url = url.substr(0, url.find(':'));
  }
  std::string host(url);
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host;
}

namespace {

HostScope ScopeOfV4(const uint8_t* a) {
  if (a[0] == 0 || (a[0] == 169 && a[1] == 254) || a[0] >= 224) return HostScope::kNever;
  if (a[0] == 127) return HostScope::kLoopback;
  if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
      (a[0] == 100 && (a[1] & 0xc0) == 64)) {
    return HostScope::kPrivate;
  }
  return HostScope::kPublic;
}

}  // namespace

HostScope ScopeOfUrl(const std::string& url) {
  std::string host = UrlHost(url);
  if (host.empty()) return HostScope::kNever;
  if (host == "localhost" || host.ends_with(".localhost")) return HostScope::kLoopback;
  uint8_t a[16];
  if (inet_pton(AF_INET, host.c_str(), a) == 1) return ScopeOfV4(a);
  if (inet_pton(AF_INET6, host.c_str(), a) == 1) {
    static const uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a, kV4Mapped, 12) == 0) return ScopeOfV4(a + 12);
    static const uint8_t kZero[16] = {};
    if (std::memcmp(a, kZero, 15) == 0)
      return a[15] == 1 ? HostScope::kLoopback : HostScope::kNever;
    if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)) return HostScope::kNever;
    if ((a[0] & 0xfe) == 0xfc) return HostScope::kPrivate;
    return HostScope::kPublic;
  }
  return HostScope::kPublic;
}

bool PeerUrlAllowed(const std::string& url, const std::string& own_url) {
  HostScope scope = ScopeOfUrl(url);
  if (scope == HostScope::kNever) return false;
  HostScope own = ScopeOfUrl(own_url);
  return own == HostScope::kNever || scope >= own;
}

Json SignedPong(const Wallet& identity, const std::string& url, const std::string& nonce_hex,
                const Json& price) {
  Json pong{{"schema", "digm.pong/1"},
            {"node_id", AddressToString(identity.address)},
            {"time", Rfc3339(UnixNow())},
            {"nonce", nonce_hex},
            {"url", BaseUrl(url)}};
  if (!price.is_null()) pong["price"] = price;
  SignDocument(pong, identity);
  return pong;
}

Result<Address> ProveIdentity(const std::string& url_in, long timeout_ms) {
  DIGM_ASSIGN_OR_RETURN(NodeProof p, ProveNode(url_in, timeout_ms));
  return p.address;
}

bool AnyPeerAnswers(const std::vector<std::string>& peers, const std::string& path) {
  std::vector<Background<bool>> asked;
  for (size_t i = 0; i < std::min<size_t>(peers.size(), 4); ++i) {
    asked.emplace_back([url = peers[i] + path] {
      auto r = HttpCall("HEAD", url, "", {.timeout_ms = 2000, .connect_timeout_ms = 1000});
      return r.ok() && r->status == 200;
    });
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (auto& a : asked) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (a.Get(std::max(left, std::chrono::milliseconds(0))).value_or(false)) return true;
  }
  return false;
}

Result<NodeProof> ProveNode(const std::string& url_in, long timeout_ms) {
  std::string url = BaseUrl(url_in);
  std::array<uint8_t, 16> nonce;
  RandomBytes(nonce);
  std::string nonce_hex = HexEncode(nonce);
  DIGM_ASSIGN_OR_RETURN(
      HttpResult r,
      HttpCall("GET", url + "/ping?nonce=" + nonce_hex, "",
               {.timeout_ms = timeout_ms, .connect_timeout_ms = timeout_ms, .max_body = 64 << 10}));
  auto bad = [&](const std::string& why) {
    return Status::Integrity(url + " does not prove who it is: " + why);
  };
  if (r.status != 200) return bad("/ping answered " + std::to_string(r.status));
  auto pong = ParseJson(r.body);
  if (!pong.ok()) return bad(pong.status().message());
  if (!CheckSchema(*pong, "pong", 1).ok()) return bad("not a digm.pong/1");
  if (StringOr(*pong, "nonce") != nonce_hex) return bad("the pong is not for this nonce");
  if (BaseUrl(StringOr(*pong, "url")) != url) {
    return bad("the pong names " + StringOr(*pong, "url", "no URL"));
  }
  auto signer = VerifyDocument(*pong);
  if (!signer.ok()) return bad(signer.status().message());
  if (StringOr(*pong, "node_id") != AddressToString(*signer)) {
    return bad("the pong is signed by another key");
  }
  NodeProof proof{*signer, std::nullopt};
  if (auto price = pong->find("price"); price != pong->end()) {
    auto p = ReadPrice(*price);
    if (!p.ok()) return bad("its price: " + p.status().message());
    proof.price = *p;
  }
  return proof;
}

namespace {

// A reply to PUT /tracks is small: a root and the hashes missing.
constexpr size_t kMaxUploadReply = 16 << 20;

// The chunks a node asks for in its reply to PUT /tracks/ROOT,
// {"root": ..., "missing": [hash...]}: each must be one of the manifest's.
Result<std::set<Hash256>> MissingChunks(const std::string& body, const Manifest& manifest) {
  DIGM_ASSIGN_OR_RETURN(Json reply, ParseJson(body));
  auto it = reply.is_object() ? reply.find("missing") : reply.end();
  if (it == reply.end() || !it->is_array()) {
    return Status::Network("unexpected reply: no \"missing\" array");
  }
  std::set<Hash256> wanted;
  for (const auto& c : manifest.chunks) wanted.insert(c.hash);
  std::set<Hash256> out;
  for (const auto& h : *it) {
    auto hash = h.is_string() ? HexDecodeArray<32>(h.get<std::string>())
                              : Result<Hash256>(Status::BadInput(""));
    if (!hash.ok() || !wanted.count(*hash)) {
      return Status::Network("unexpected reply: \"missing\" names " +
                             DumpDocument(h).substr(0, 80) + ", not a chunk of the track");
    }
    out.insert(*hash);
  }
  return out;
}

}  // namespace

std::string RefusalText(const HttpResult& r) {
  auto err = ParseJson(r.body);
  std::string why = err.ok() ? StringOr(*err, "error", r.body) : r.body;
  if (why.size() > 300) why = why.substr(0, 300) + "...";
  while (!why.empty() && std::isspace(static_cast<unsigned char>(why.back()))) why.pop_back();
  return why;
}

Result<UploadResult> UploadTrack(const std::string& url, const Manifest& sealed, const Json& pin,
                                 const ChunkStore& from, int* refused) {
  return UploadTrack(
      url, sealed, pin, [&](const Hash256& h) { return from.Get(h); }, refused);
}

Result<UploadResult> UploadTrack(const std::string& url_in, const Manifest& sealed, const Json& pin,
                                 const std::function<Result<Bytes>(const Hash256&)>& get,
                                 int* refused) {
  std::string url = BaseUrl(url_in);
  std::string root = HexEncode(sealed.ComputeRoot());
  DIGM_ASSIGN_OR_RETURN(
      HttpResult r, HttpCall("PUT", url + "/tracks/" + root,
                             DumpDocument(Json{{"manifest", ManifestToJson(sealed)}, {"pin", pin}}),
                             {.max_body = kMaxUploadReply}));
  if (r.status != 201) {
    if (refused) *refused = r.status;
    // The node's own words; a node that cannot take it now (5xx: its disk
    // full, say) is a failure of the network's, not of the track.
    Code code = r.status == 403  ? Code::kIntegrity
                : r.status < 500 ? Code::kBadInput
                                 : Code::kNetwork;
    return Status(code,
                  url + " refused the track (" + std::to_string(r.status) + "): " + RefusalText(r));
  }
  auto missing = MissingChunks(r.body, sealed);
  if (!missing.ok()) return Status::Network(url + ": " + missing.status().message());
  UploadResult result;
  for (const auto& c : sealed.chunks) {
    if (!missing->count(c.hash)) {
      ++result.already;
      continue;
    }
    missing->erase(c.hash);  // a chunk used twice goes once
    std::string h = HexEncode(c.hash);
    DIGM_ASSIGN_OR_RETURN(Bytes bytes, get(c.hash));
    DIGM_ASSIGN_OR_RETURN(
        HttpResult put,
        HttpCall("PUT", url + "/content/" + h, std::string(bytes.begin(), bytes.end()),
                 {.timeout_ms = 120000, .content_type = "application/octet-stream"}));
    if (put.status >= 300 && refused) *refused = put.status;
    if (put.status == 422) return Status::Integrity("chunk " + h + " does not hash to its name");
    if (put.status >= 300) {
      return Status::Network(url + " refused chunk " + h + " (" + std::to_string(put.status) +
                             "): " + RefusalText(put));
    }
    ++result.uploaded;
  }
  return result;
}

std::vector<std::string> DiscoverPeers(const std::vector<std::string>& given,
                                       const std::vector<std::string>& never) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& url : never) seen.insert(BaseUrl(url));
  auto add = [&](std::string url) {
    url = BaseUrl(std::move(url));
    if (seen.insert(url).second) out.push_back(url);
  };
  for (const auto& p : given) add(p);
  // All asked at once; a peer slow to answer is not waited for past the
  // deadline (it delays nobody's first byte).
  std::vector<Background<Result<HttpResult>>> asked;
  for (const auto& p : given) {
    asked.emplace_back([url = BaseUrl(p) + "/peers"] {
      return HttpCall(
          "GET", url, "",
          {.timeout_ms = 1000, .connect_timeout_ms = 1000, .max_body = kMaxGossipReply});
    });
  }
  // The others get a few times what the first answer took (50 ms at least),
  // and never more than a second in all.
  using Steady = std::chrono::steady_clock;
  auto start = Steady::now(), deadline = start + std::chrono::seconds(1);
  std::vector<std::optional<Result<HttpResult>>> got(given.size());
  for (size_t answered = 0; answered < given.size() && Steady::now() < deadline;) {
    for (size_t i = 0; i < given.size(); ++i) {
      if (got[i] || !(got[i] = asked[i].Get(std::chrono::milliseconds(0)))) continue;
      if (answered++ == 0) {
        deadline = std::min(
            deadline, Steady::now() + std::max<Steady::duration>(4 * (Steady::now() - start),
                                                                 std::chrono::milliseconds(50)));
      }
    }
    if (answered < given.size()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (size_t i = 0; i < given.size(); ++i) {
    const auto& r = got[i];
    if (!r || !r->ok() || (*r)->status != 200) continue;
    const std::string& body = (*r)->body;
    auto j = ParseJson(body);
    if (!j.ok() || !j->is_array()) continue;
    for (const auto& rec : *j) {
      // Only records that verify name real nodes.
      auto peer = ReadPeerRecord(rec);
      if (peer.ok() && PeerUrlAllowed(peer->url, BaseUrl(given[i]))) add(peer->url);
    }
  }
  return out;
}

}  // namespace digm
