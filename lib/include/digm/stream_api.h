// A node's live-stream routes (SPEC §9), under /streams: announce, append a
// chunk under its signed head, heartbeat, end, the directory, the head by
// long poll, chunks, inclusion and consistency proofs, and a live HLS
// playlist. Every head is checked against the stream's log before anything
// is kept (StreamStore). A long poll holds no thread: its answer is deferred
// (HttpResponse::defer) and sent when the log grows or the wait runs out.
//
// The directory lists the streams the node holds and those gossip told it of
// (StreamDirectory). Asked for a stream it only heard of, the node relays
// it: a thread follows a holder by long poll, verifies each head and chunk
// into its own log, and serves listeners from it, so a node becomes a holder
// (fan-out) until the stream ends or goes stale. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "digm/clock.h"
#include "digm/http.h"
#include "digm/stream_directory.h"
#include "digm/stream_store.h"
#include "digm/wallet.h"

namespace digm {

class StreamApi {
 public:
  struct Options {
    std::string url;                          // this node, a holder of what it keeps
    std::vector<Address> allowed_publishers;  // empty: anyone may announce
    int64_t stale_after = 120;                // seconds unheard before a stream leaves the list
    int max_wait_s = 30;                      // the longest a head long poll waits
    int relay_wait_s = 2;                     // a relay's long poll of its holder
    Clock clock = UnixNow;
    std::function<void(const std::string&)> log;  // what relays report
  };

  StreamApi(StreamStore& store, const ChunkStore& chunks, Options options);
  // Answers every long poll still waiting (with the head as it is).
  ~StreamApi();

  // A request whose path is /streams or below; `segs` its path segments.
  HttpResponse Handle(const HttpRequest& req, const std::vector<std::string>& segs);

  // Long polls waiting now (for metrics and tests).
  size_t Waiting();

  // GET /streams: the live streams held here (this node a holder) and those
  // heard of, [{"id","stream","head","last_heard","holders"}].
  Json Directory(const std::string& query = "", bool with_ended = false);
  // What gossip carries: the Directory() and the streams held here that
  // ended lately (their final head), so every node drops them at once.
  Json Gossip();
  // Learns another node's gossiped Directory() (verified; see StreamDirectory).
  void Learn(const Json& directory);
  // The live streams this node holds (for the DHT), hex ids.
  std::vector<std::string> HeldLive();
  // Streams being relayed now.
  size_t Relaying();
  // Answers every head long-poll now, with the head as it stands (the node
  // is stopping: its listeners should not wait out their polls).
  void AnswerWaiters();

 private:
  struct Waiter {
    std::optional<uint64_t> after;  // none: any head, once there is one
    std::chrono::steady_clock::time_point deadline;
    std::function<void(HttpResponse)> reply;
  };

  HttpResponse Announce(const HttpRequest& req, const std::string& id);
  HttpResponse Append(const HttpRequest& req, const std::string& id, const std::string& index);
  HttpResponse Head(const HttpRequest& req, const std::string& id);
  HttpResponse Chunk(const std::string& id, const std::string& index);
  HttpResponse Consistency(const HttpRequest& req, const std::string& id);
  HttpResponse Inclusion(const HttpRequest& req, const std::string& id);
  HttpResponse Playlist(const std::string& id);
  HttpResponse List(const HttpRequest& req);
  // The body's head for a heartbeat or the end.
  HttpResponse Accept(const HttpRequest& req, const std::string& id, bool ending);
  // The verified head of stream `id` in `doc`, or the refusal in `*refusal`.
  Result<TreeHead> ReadHead(const std::string& id, const Json& doc, HttpResponse* refusal);
  // Answers the waiters of `id` whose size the log has passed.
  void Wake(const std::string& id, bool all);
  void Sweep();
  // Defers a head reply until stream `id` has a head of more than `after`
  // chunks (any head when none), or `seconds` pass.
  HttpResponse Await(const std::string& id, std::optional<uint64_t> after, uint64_t seconds);
  // Starts relaying `id` when it is heard of, not held, and not relayed yet;
  // false when nobody is known to hold it.
  bool Follow(const std::string& id);
  void Relay(std::string id);
  // Follows one holder until the stream ends (ok) or the holder fails.
  Status FollowFrom(const std::string& id, const Stream& stream, const std::string& holder);
  void Log(const std::string& line) const;

  StreamStore& store_;
  const ChunkStore& chunks_;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, std::vector<Waiter>> waiters_;
  StreamDirectory directory_;
  std::atomic<bool> stopping_{false};
  struct Relayer {
    std::thread thread;
    bool done = false;
  };
  std::map<std::string, Relayer> relays_;  // under mu_
  std::thread sweeper_;
};

}  // namespace digm
