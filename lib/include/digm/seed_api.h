// A storage node's HTTP API (SPEC §5) as a pure function from request to
// response over its NodeStore: the DCMX mesh endpoints, content with ranges,
// publishing under signed pins, audits, HLS playlists and metrics. Also the
// node's signed peer record and what it learns from others'. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "digm/channel.h"
#include "digm/clock.h"
#include "digm/http.h"
#include "digm/node_store.h"
#include "digm/stream_api.h"
#include "digm/voucher_book.h"
#include "digm/wallet.h"

namespace digm {

struct SeedMetrics {
  std::atomic<uint64_t> requests{0}, bytes_served{0}, audit_answers{0};
  std::atomic<uint64_t> client_errors{0}, rejected_records{0}, chunks_received{0};
  // Of the content bytes a priced node sent, those vouchers had paid for and
  // those sent on credit; and the requests it answered 402.
  std::atomic<uint64_t> bytes_paid{0}, bytes_unpaid{0}, payment_required{0};
  std::atomic<uint64_t> insufficient_storage{0};  // answered 507: the disk is full
};

class SeedApi {
 public:
  struct Options {
    std::string url;                          // how others reach this node
    std::vector<Address> allowed_publishers;  // empty: anyone may pin
    int64_t peer_ttl = 300;                   // seconds a peer stays alive unseen
    uint64_t max_replicas = 16;
    size_t max_peers = 1024;         // peers kept in all
    size_t max_peers_per_host = 64;  // peers kept whose URLs name one host
    size_t max_peers_listed = 64;    // peers in a /peers or /discover reply
    int64_t max_clock_skew = 300;    // seconds a record's "seen" may be ahead
    // How a peer proves its key at a URL; empty: ProveIdentity (a signed
    // nonce over HTTP). Tests give their own.
    std::function<Result<Address>(const std::string& url)> prove;
    Clock clock = UnixNow;         // what "now" is for records, pins and peers
    StreamApi* streams = nullptr;  // the live-stream routes, when the node keeps streams
    // Charging for content (SPEC §12): with a price above zero, content is
    // sent only within what a channel's vouchers paid plus the price's credit.
    std::optional<Price> price;
    VoucherBook* vouchers = nullptr;  // required with a price
    // Whether a channel holds the money its payer signed for (in a ledger, on
    // a chain): asked once per channel document, before anything is sent on
    // it, and only a channel it passes is kept. Without it, no channel is taken.
    std::function<Status(const Channel&)> check_channel;
    std::function<void(const std::string&)> log;  // what the operator should hear
  };

  SeedApi(NodeStore& store, const Wallet& identity, Options options);
  ~SeedApi();

  HttpResponse Handle(const HttpRequest& request);
  // The check on a request's headers before its body is read (see
  // HttpServer::Admission): an upload no pin covers is refused unread (403),
  // and so is one the disk has no room for (507, by its Content-Length).
  std::optional<HttpResponse> Admit(const HttpRequest& head);

  // This node's signed digm.peer/1, and the same with "available_tracks".
  Json SelfRecord() const;
  Json SelfRecordWithTracks();
  // Learns a peer from its record: true when the record updates a peer known
  // at its URL. A record naming a new URL is queued until ProvePending has
  // the node at that URL prove its key; refused (false, nothing queued) when
  // the record is unsigned, forged, malformed, stale, dated in the future,
  // this node's own, at an address the policy refuses (PeerUrlAllowed), or
  // new while the peer table (or its host's share) is full.
  bool LearnPeer(const Json& record);
  // Asks up to `max` queued peers to prove their keys (blocking, a few
  // seconds at most each) and learns those that do; returns how many.
  size_t ProvePending(size_t max);
  size_t PendingPeers();
  Json TracksJson();
  Json PeersJson();
  std::vector<std::string> CompleteRoots();

  // How long an open chunk file is served before its path is checked again.
  static constexpr std::chrono::seconds kRecheck{1};

  // At the drain: each request waiting for a channel's check is answered
  // 503, as is any that would wait from now on.
  void AnswerFundingWaiters();
  // Waits for the check under way (which answers its request) and ends the
  // thread: before the server that took the request is gone.
  void StopFunding();

  const std::string& node_id() const { return node_id_; }
  const Options& options() const { return options_; }
  SeedMetrics& metrics() { return metrics_; }
  NodeStore& store() { return store_; }

 private:
  void PreloadTrack(HttpResponse& page, const std::string& root);
  HttpResponse Content(const HttpRequest& req, const std::string& id);
  // Null when `bytes` of content may be sent for `req`; else the 402 (or 400) to answer.
  std::optional<HttpResponse> Charge(const HttpRequest& req, uint64_t bytes);
  bool Priced() const { return options_.price && options_.price->per_mb > 0; }
  Json PriceJson() const { return Priced() ? options_.price->ToJson() : Json(nullptr); }
  HttpResponse PutTrack(const HttpRequest& req, const std::string& root);
  HttpResponse PutContent(const HttpRequest& req, const std::string& hash);
  HttpResponse Discover(const HttpRequest& req);
  HttpResponse Audit(const HttpRequest& req);
  HttpResponse Playlist(const std::string& root);
  HttpResponse Metrics();
  bool HasRoomFor(const std::string& node_id, const std::string& url, int64_t now);
  struct Candidate {
    PeerRow row;
    bool has_roots = false;  // the record listed its tracks
  };
  void Keep(const Candidate& c);
  static constexpr size_t kMaxPending = 256;
  std::mutex pending_mu_;
  std::deque<Candidate> pending_;

  // Open chunk files by hash, so a hot chunk costs no open. Chunks never
  // change; one moved or removed behind the node is served a second at most.
  std::shared_ptr<const OpenFile> OpenChunk(const std::string& hash, uint64_t* size);
  struct OpenChunkFile {
    std::shared_ptr<const OpenFile> file;
    uint64_t size = 0;
    uint64_t inode = 0, device = 0;
    std::chrono::steady_clock::time_point checked;  // when the path last named it
  };

  // Channel documents whose payer's signature was checked, by their text:
  // a paying client sends the same one with every request. `funded` once
  // options_.check_channel passed it.
  struct CheckedChannelDoc {
    Channel channel;
    std::atomic<bool> funded{false};
  };
  Result<std::shared_ptr<CheckedChannelDoc>> CheckedChannel(const std::string& text);
  static constexpr size_t kMaxChannels = 4096;
  std::mutex channels_mu_;
  // Checks of channels' money run on a thread of their own, one at a time:
  // one may wait seconds on a chain's RPC, and a server thread spent on it
  // would serve no one else (nor accept). A request on a channel not yet
  // checked is answered once its check is done (HttpResponse::defer), and
  // over kMaxFundingWaiters waiting, or kMaxFundingWaitersPerAddress from its
  // client's address, 503 at once.
  struct FundingWaiter {
    std::shared_ptr<CheckedChannelDoc> doc;
    HttpRequest req;
    uint64_t bytes = 0;
    std::function<void(HttpResponse)> reply;
  };
  HttpResponse AwaitFunding(const HttpRequest& req, std::shared_ptr<CheckedChannelDoc> doc,
                            uint64_t bytes);
  void CheckFunding();
  // A 402 with a digm.invoice/1 on `channel` (counted in the metrics), with
  // `why` as its error when not empty. Refusal: nothing paid, `bytes` owed.
  HttpResponse Invoice(const std::string& channel, int64_t owed, int64_t paid,
                       const std::string& why);
  HttpResponse Refusal(const std::string& channel, uint64_t bytes, const std::string& why) {
    return Invoice(channel, PriceOf(bytes, options_.price->per_mb), 0, why);
  }
  static constexpr size_t kMaxFundingWaiters = 16;
  static constexpr size_t kMaxFundingWaitersPerAddress = 4;
  std::mutex funding_mu_;
  std::condition_variable funding_cv_;
  std::deque<FundingWaiter> funding_waiters_;
  bool funding_stop_ = false;
  std::thread funding_thread_;
  std::unordered_map<std::string, std::shared_ptr<CheckedChannelDoc>> channels_;

  std::mutex files_mu_;
  std::unordered_map<std::string, OpenChunkFile> files_;

  NodeStore& store_;
  const Wallet& identity_;
  Options options_;
  std::string node_id_;
  SeedMetrics metrics_;
};

}  // namespace digm
