// What a node's clients (other nodes, digm-fetch, digm-audit) ask of it
// beyond plain transfers: proof that the node at a URL holds a key. A URL is
// trusted to be a node only once the node there has signed a fresh nonce
// together with that URL (SPEC §5, §6). Thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "digm/channel.h"
#include "digm/chunk_store.h"
#include "digm/document.h"
#include "digm/manifest.h"
#include "digm/wallet.h"

namespace digm {

// The signed digm.pong/1 a node answers GET /ping?nonce=HEX with:
// {"schema","node_id","time","nonce","url","signer","signature"}, and the
// node's "price" when it charges (`price` not null, SPEC §12).
Json SignedPong(const Wallet& identity, const std::string& url, const std::string& nonce_hex,
                const Json& price = nullptr);

// The host of an http(s) URL, lower-cased and without IPv6 brackets; "" when
// `url` is not one.
std::string UrlHost(std::string_view url);

// Where a URL's host lies, from nearest to farthest; kNever for addresses no
// node may be reached at (unspecified, link-local such as 169.254.169.254,
// multicast, broadcast) and for what is not an http(s) URL. A host name is
// taken as public (it is not resolved).
enum class HostScope { kNever, kLoopback, kPrivate, kPublic };
HostScope ScopeOfUrl(const std::string& url);

// The address policy for learning a peer: a node (or a list of nodes) at
// `own_url` may learn URLs at its own scope or farther, so a public node is
// never pointed into a private network or its own loopback, while a test
// mesh on loopback may use loopback. Never a kNever URL.
bool PeerUrlAllowed(const std::string& url, const std::string& own_url);

// Sends a fresh 16-byte nonce to `url`/ping and returns the address whose key
// signed it, once the answer is a pong for that nonce whose "url" is `url`
// and whose node_id is its signer. Network error when the node cannot be
// reached; Integrity error for any other answer.
Result<Address> ProveIdentity(const std::string& url, long timeout_ms = 3000);
// The same, with the price the node signed in its pong (none: it is free).
struct NodeProof {
  Address address{};
  std::optional<Price> price;
};
Result<NodeProof> ProveNode(const std::string& url, long timeout_ms = 3000);

// Whether one of the first four of `peers` (base URLs) answers HEAD `path`
// (e.g. "/tracks/ROOT") with 200: asked at once, two seconds at most. For
// hints, when what a user named is not where the user looked.
bool AnyPeerAnswers(const std::vector<std::string>& peers, const std::string& path);
struct UploadResult {
  uint64_t uploaded = 0, already = 0;  // chunks sent, chunks the node had
};

// Sends a track to the node at `url` as SPEC §5 has it: PUT /tracks/ROOT with
// the sealed manifest and a signed pin (201 and the chunks it lacks), then
// PUT /content/HASH for each chunk it asked for, read from `from`. The reply
// must name only chunks of the track. Integrity error when the node refuses
// the pin (403) or a chunk (422: it does not hash to its name); BadInput for
// another refusal of the track (4xx); Network error for the rest (5xx: 507,
// its disk full, say). Each error quotes the node's (RefusalText), and
// `refused`, when given, is set to the HTTP status the node refused with.
Result<UploadResult> UploadTrack(const std::string& url, const Manifest& sealed, const Json& pin,
                                 const ChunkStore& from, int* refused = nullptr);
// The same with the chunks from `get` (stored bytes by hash).
Result<UploadResult> UploadTrack(const std::string& url, const Manifest& sealed, const Json& pin,
                                 const std::function<Result<Bytes>(const Hash256&)>& get,
                                 int* refused = nullptr);

struct HttpResult;
// What a node said in refusing a request: its JSON "error", or the start of
// its body, at most 300 bytes, with no trailing white space.
std::string RefusalText(const HttpResult& r);

// Asks each peer's /peers for more peers (one round of gossip) and returns
// every distinct URL, the given ones first, none of `never` (struck out).
std::vector<std::string> DiscoverPeers(const std::vector<std::string>& peers,
                                       const std::vector<std::string>& never = {});

}  // namespace digm
