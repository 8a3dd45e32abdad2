// A node's live-stream routes (SPEC §9), under /streams: announce, append a
// chunk under its signed head, heartbeat, end, the directory, the head by
// long poll, chunks and consistency proofs. Every head is checked against
// the stream's log before anything is kept (StreamStore). A long poll holds
// no thread: its answer is deferred (HttpResponse::defer) and sent when the
// log grows or the wait runs out. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "digm/clock.h"
#include "digm/http.h"
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
    Clock clock = UnixNow;
  };

  StreamApi(StreamStore& store, const ChunkStore& chunks, Options options);
  // Answers every long poll still waiting (with the head as it is).
  ~StreamApi();

  // A request whose path is /streams or below; `segs` its path segments.
  HttpResponse Handle(const HttpRequest& req, const std::vector<std::string>& segs);

  // Long polls waiting now (for metrics and tests).
  size_t Waiting();

 private:
  struct Waiter {
    uint64_t after = 0;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(HttpResponse)> reply;
  };

  HttpResponse Announce(const HttpRequest& req, const std::string& id);
  HttpResponse Append(const HttpRequest& req, const std::string& id, const std::string& index);
  HttpResponse Head(const HttpRequest& req, const std::string& id);
  HttpResponse Chunk(const std::string& id, const std::string& index);
  HttpResponse Consistency(const HttpRequest& req, const std::string& id);
  HttpResponse List(const HttpRequest& req);
  // The body's head for a heartbeat or the end.
  HttpResponse Accept(const HttpRequest& req, const std::string& id, bool ending);
  // The verified head of stream `id` in `doc`, or the refusal in `*refusal`.
  Result<TreeHead> ReadHead(const std::string& id, const Json& doc, HttpResponse* refusal);
  // Answers the waiters of `id` whose size the log has passed.
  void Wake(const std::string& id, bool all);
  void Sweep();

  StreamStore& store_;
  const ChunkStore& chunks_;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, std::vector<Waiter>> waiters_;
  std::thread sweeper_;
};

}  // namespace digm
