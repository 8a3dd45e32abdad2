// A storage node's HTTP API (SPEC §5) as a pure function from request to
// response over its NodeStore: the DCMX mesh endpoints, content with ranges,
// publishing under signed pins, audits, HLS playlists and metrics. Also the
// node's signed peer record and what it learns from others'. Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "digm/clock.h"
#include "digm/http.h"
#include "digm/node_store.h"
#include "digm/wallet.h"

namespace digm {

struct SeedMetrics {
  std::atomic<uint64_t> requests{0}, bytes_served{0}, audit_answers{0};
  std::atomic<uint64_t> client_errors{0}, rejected_records{0}, chunks_received{0};
};

class SeedApi {
 public:
  struct Options {
    std::string url;                          // how others reach this node
    std::vector<Address> allowed_publishers;  // empty: anyone may pin
    int64_t peer_ttl = 300;                   // seconds a peer stays alive unseen
    uint64_t max_replicas = 16;
  };

  SeedApi(NodeStore& store, const Wallet& identity, Options options);

  HttpResponse Handle(const HttpRequest& request);

  // This node's signed digm.peer/1, and the same with "available_tracks".
  Json SelfRecord() const;
  Json SelfRecordWithTracks();
  // Learns a peer from its record. False (and nothing learned) when the
  // record is unsigned, forged, malformed, stale, or this node's own.
  bool LearnPeer(const Json& record);
  Json TracksJson();
  Json PeersJson();
  std::vector<std::string> CompleteRoots();

  const std::string& node_id() const { return node_id_; }
  const Options& options() const { return options_; }
  SeedMetrics& metrics() { return metrics_; }
  NodeStore& store() { return store_; }

 private:
  HttpResponse Content(const HttpRequest& req, const std::string& id);
  HttpResponse PutTrack(const HttpRequest& req, const std::string& root);
  HttpResponse PutContent(const HttpRequest& req, const std::string& hash);
  HttpResponse Discover(const HttpRequest& req);
  HttpResponse Audit(const HttpRequest& req);
  HttpResponse Playlist(const std::string& root);
  HttpResponse Metrics();

  // Open chunk files by hash, so a hot chunk costs no path lookup or open.
  // Chunks never change; a removed one may be served until it is evicted.
  std::shared_ptr<const OpenFile> OpenChunk(const std::string& hash, uint64_t* size);
  std::mutex files_mu_;
  std::unordered_map<std::string, std::pair<std::shared_ptr<const OpenFile>, uint64_t>> files_;

  NodeStore& store_;
  const Wallet& identity_;
  Options options_;
  std::string node_id_;
  SeedMetrics metrics_;
};

// Checks a digm.pin/1 for `root`: its signature, that its owner signed it,
// its replica count, and the allow list. Integrity or BadInput errors.
Status CheckPin(const Json& pin, const std::string& root, const std::vector<Address>& allowed,
                uint64_t max_replicas);

}  // namespace digm
