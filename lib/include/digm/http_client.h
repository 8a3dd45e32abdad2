// A small blocking HTTP/1.1 client over libcurl, for the tools and a node's
// outgoing gossip and replication. Each call is independent; thread-safe
// once CurlGlobalInit() has run (first use does it).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "digm/address.h"
#include "digm/status.h"

namespace digm {

struct HttpResult {
  long status = 0;
  std::string body;
};

struct HttpCallOptions {
  long timeout_ms = 10000;
  long connect_timeout_ms = 3000;
  std::string content_type = "application/json";
  // The reply body read at most; a longer one (declared or sent, chunked or
  // not) ends the call with a Network error. Bounded by what is expected.
  size_t max_body = 1 << 20;
  std::vector<std::string> headers;  // more request headers, "Name: value" each
  // Set by another thread, ends the call at once (a Network error).
  const std::atomic<bool>* cancel = nullptr;
};

// What a node's replies to gossip (/discover, /peers) may weigh at most, and
// a manifest (GET /tracks/ROOT).
inline constexpr size_t kMaxGossipReply = 4 << 20;
inline constexpr size_t kMaxManifestBytes = 256 << 20;

// True for the Status of a call that timed out (as opposed to refused or reset).
bool IsTimeout(const Status& status);

// Network errors (refused, timed out, DNS) are Status::Network naming the
// URL. Any HTTP status is a result, not an error.
Result<HttpResult> HttpCall(const std::string& method, const std::string& url,
                            const std::string& body = "", const HttpCallOptions& options = {});

// The same calls, one after another on one handle, so a connection to a
// node is kept open between them (a listener's polls and fetches). Not
// thread-safe: one session per thread.
class HttpSession {
 public:
  HttpSession();
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;
  Result<HttpResult> Call(const std::string& method, const std::string& url,
                          const std::string& body = "", const HttpCallOptions& options = {});

 private:
  void* curl_;
};

}  // namespace digm
