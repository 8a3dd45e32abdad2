// The HTTP/1.1 server of a node, on Boost.Asio/Beast: a thread pool, one
// async session per connection, limits on headers, bodies, idle time,
// connections (in all and per client address) and per-address request rate,
// file bodies sent with sendfile(2), and a drain on SIGTERM (SIGHUP is
// ignored). Requests go to a handler (a pure function, see seed_api.h); an
// optional admission check sees the headers before any body is read.
// Construct, then Run() from one thread; Shutdown() from any.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "digm/http.h"
#include "digm/status.h"

namespace digm {

struct ServerLimits {
  size_t header_limit = 8 * 1024;       // bytes of request line and headers
  uint64_t body_limit = 32ull << 20;    // bytes of request body
  int idle_timeout_s = 15;              // waiting for (the rest of) a request
  int header_timeout_s = 10;            // from the first byte to the end of the headers
  int write_timeout_s = 60;             // a client that stops reading
  size_t max_connections = 2048;        // more are closed at once
  size_t max_connections_per_ip = 256;  // from one client address
  double rate_per_ip = 0;               // requests/s per address, 0: no limit
  int threads = 0;                      // 0: one per core
  int drain_timeout_s = 10;             // SIGTERM waits this long for requests in flight
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // Sees a request with its headers only (body empty): a response refuses it
  // before its body is read (the connection then closes); nullopt admits it.
  using Admission = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

  // Binds HOST:PORT (port 0 picks a free one). Usage error for a malformed
  // address, Network error when it cannot bind.
  static Result<std::unique_ptr<HttpServer>> Bind(const std::string& listen, Handler handler,
                                                  ServerLimits limits, Admission admit = nullptr);
  ~HttpServer();

  uint16_t port() const;
  // Serves until SIGTERM or SIGINT (or Shutdown), then drains requests in
  // flight and returns the signal number (0 after Shutdown).
  int Run();
  void Shutdown();
  // Called once when the drain begins (on a server thread; must not block):
  // where the handler holds deferred answers, it gives them now.
  void OnDrain(std::function<void()> f);

  struct Impl;  // opaque; public so the sessions in http_server.cc can name it

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace digm
