// The HTTP/1.1 server of a node, on Boost.Asio/Beast: a thread pool, one
// async session per connection, limits on headers, bodies, idle time,
// connections and per-IP request rate, file bodies sent with sendfile(2),
// and a drain on SIGTERM. Requests go to a handler (a pure function, see
// seed_api.h). Construct, then Run() from one thread; Shutdown() from any.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "digm/http.h"
#include "digm/status.h"

namespace digm {

struct ServerLimits {
  size_t header_limit = 8 * 1024;     // bytes of request line and headers
  uint64_t body_limit = 32ull << 20;  // bytes of request body
  int idle_timeout_s = 15;            // waiting for (the rest of) a request
  int write_timeout_s = 60;           // a client that stops reading
  size_t max_connections = 2048;      // more are closed at once
  double rate_per_ip = 0;             // requests/s per address, 0: no limit
  int threads = 0;                    // 0: one per core
  int drain_timeout_s = 10;           // SIGTERM waits this long for requests in flight
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Binds HOST:PORT (port 0 picks a free one). Network error when it cannot.
  static Result<std::unique_ptr<HttpServer>> Bind(const std::string& listen, Handler handler,
                                                  ServerLimits limits);
  ~HttpServer();

  uint16_t port() const;
  // Serves until SIGTERM or SIGINT (or Shutdown), then drains requests in
  // flight and returns the signal number (0 after Shutdown).
  int Run();
  void Shutdown();

  struct Impl;  // opaque; public so the sessions in http_server.cc can name it

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace digm
