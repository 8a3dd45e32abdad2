#include "digm/http_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace digm {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// Token buckets per client address.
class RateLimiter {
 public:
  explicit RateLimiter(double rate) : rate_(rate) {}
  bool Allow(const std::string& who) {
    if (rate_ <= 0) return true;
    double now =
        std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    std::lock_guard<std::mutex> lock(mu_);
    if (buckets_.size() > 100000) buckets_.clear();  // bounded memory under address floods
    auto [it, fresh] = buckets_.try_emplace(who, Bucket{2 * rate_, now});
    Bucket& b = it->second;
    b.tokens = std::min(2 * rate_, b.tokens + (now - b.last) * rate_);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

 private:
  struct Bucket {
    double tokens, last;
  };
  double rate_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

struct HttpServer::Impl {
  // One io_context per thread, each run by its thread alone: a connection
  // stays on one thread, with no locks or cross-thread wake-ups per request.
  // The first also runs the acceptor, signals and the drain.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  size_t next_context = 0;
  net::io_context& ioc;
  tcp::acceptor acceptor{ioc};
  net::signal_set signals{ioc};
  net::steady_timer drain_timer{ioc};
  Handler handler;
  Admission admit;
  std::function<void()> on_drain;
  ServerLimits limits;
  RateLimiter limiter;
  std::atomic<size_t> connections{0};
  std::mutex per_ip_mu;
  std::unordered_map<std::string, size_t> per_ip;  // open connections by client address
  std::atomic<size_t> in_flight{0};
  std::atomic<bool> draining{false};
  std::chrono::steady_clock::time_point drain_deadline;
  int signal_number = 0;

  Impl(Handler h, Admission a, ServerLimits l)
      : contexts(MakeContexts(l.threads)),
        ioc(*contexts[0]),
        handler(std::move(h)),
        admit(std::move(a)),
        limits(l),
        limiter(l.rate_per_ip) {}

  static std::vector<std::unique_ptr<net::io_context>> MakeContexts(int threads) {
    int n =
        threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::unique_ptr<net::io_context>> v;
    for (int i = 0; i < n; ++i) v.push_back(std::make_unique<net::io_context>(1));
    return v;
  }

  net::io_context& NextContext() { return *contexts[next_context++ % contexts.size()]; }

  // Counts a connection from `ip`; false (and not counted) over the cap.
  bool TakeSlot(const std::string& ip) {
    std::lock_guard<std::mutex> lock(per_ip_mu);
    size_t& n = per_ip[ip];
    if (n >= limits.max_connections_per_ip) return false;
    ++n;
    return true;
  }
  void ReleaseSlot(const std::string& ip) {
    std::lock_guard<std::mutex> lock(per_ip_mu);
    auto it = per_ip.find(ip);
    if (it != per_ip.end() && --it->second == 0) per_ip.erase(it);
  }

  void Accept();
  void Admit(tcp::socket socket);
  void BeginDrain();
  void PollDrain();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `remote` holds a slot taken with TakeSlot; the session gives it back.
  Session(tcp::socket socket, std::string remote, HttpServer::Impl& server)
      : stream_(std::move(socket)),
        write_timer_(stream_.get_executor()),
        server_(server),
        remote_(std::move(remote)) {
    ++server_.connections;
  }
  ~Session() {
    if (file_fd_ >= 0 && owns_fd_) close(file_fd_);
    if (counted_) --server_.in_flight;
    --server_.connections;
    server_.ReleaseSlot(remote_);
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
  }

 private:
  void DoRead() {
    if (server_.draining) return DoClose();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.limits.header_limit));
    parser_->body_limit(server_.limits.body_limit);
    // The next request's headers, whole, within the header deadline: a
    // client that trickles them (slowloris) holds its slot no longer.
    stream_.expires_after(std::chrono::seconds(
        std::min(server_.limits.header_timeout_s, server_.limits.idle_timeout_s)));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnRead(ec);
    // A request without a body (most are) is whole already: no admission to
    // ask, and no second read.
    if (parser_->is_done()) return OnRead({});
    if (server_.admit) {
      HttpRequest head = ToRequest(parser_->get());
      if (auto refusal = server_.admit(head)) {
        keep_alive_ = false;  // the body, unread, cannot be skipped
        ++server_.in_flight;
        counted_ = true;
        return Send(std::move(*refusal), parser_->get().version());
      }
    }
    stream_.expires_after(std::chrono::seconds(server_.limits.idle_timeout_s));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  HttpRequest ToRequest(const http::request<http::string_body>& req) const {
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    r.remote = remote_;
    return r;
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return DoClose();
    if (ec == http::error::header_limit) return Reject(431, "request headers too large");
    if (ec == http::error::body_limit) return Reject(413, "request body too large");
    if (ec == http::error::bad_method || ec == http::error::bad_target ||
        ec == http::error::bad_version || ec == http::error::bad_field ||
        ec == http::error::bad_value) {
      return Reject(400, "malformed request");
    }
    if (ec) return;  // timeout, reset: the session ends
    auto req = parser_->release();
    ++server_.in_flight;
    counted_ = true;
    keep_alive_ = req.keep_alive();
    HttpResponse res;
    if (!server_.limiter.Allow(remote_)) {
      res = HttpResponse::Error(429, "too many requests");
      res.Set("Retry-After", "1");
    } else {
      HttpRequest r = ToRequest(req);
      r.body = std::move(req.body());
      try {
        res = server_.handler(r);
      } catch (const std::exception& e) {
        res = HttpResponse::Error(500, e.what());
      }
    }
    if (res.defer) {
      // The session waits, reading nothing, until the answer is posted back
      // onto its io_context (one thread); the drain deadline bounds how long
      // shutdown waits for it.
      unsigned version = req.version();
      auto defer = std::move(res.defer);
      defer([self = shared_from_this(), version](HttpResponse later) {
        later.defer = nullptr;
        net::post(self->stream_.get_executor(),
                  [self, version, later = std::move(later)]() mutable {
                    self->Send(std::move(later), version);
                  });
      });
      return;
    }
    Send(std::move(res), req.version());
  }

  void Reject(int status, const std::string& message) {
    keep_alive_ = false;
    Send(HttpResponse::Error(status, message), 11);
  }

  template <class Message>
  void Fill(Message& m, const HttpResponse& res, unsigned version) {
    m.version(version);
    m.result(static_cast<unsigned>(res.status));
    m.set(http::field::server, "digm-seed");
    for (const auto& [name, value] : res.headers) m.set(name, value);
    m.keep_alive(keep_alive_ && !server_.draining);
  }

  void Send(HttpResponse res, unsigned version) {
    if (res.reset) {
      beast::error_code ec;
      stream_.socket().set_option(net::socket_base::linger(true, 0), ec);  // RST, not FIN
      stream_.socket().close(ec);
      return;
    }
    stream_.expires_after(std::chrono::seconds(server_.limits.write_timeout_s));
    // A small file body costs less read into the response than sent apart.
    if (!res.files.empty() && !res.head_only && res.ContentLength() <= kInlineBody &&
        InlineFiles(res)) {
      res.files.clear();
    }
    if (res.files.empty() || res.head_only) {
      auto msg = std::make_shared<http::response<http::string_body>>();
      Fill(*msg, res, version);
      uint64_t length = res.ContentLength();
      if (!res.head_only) msg->body() = std::move(res.body);
      if (res.status != 304) msg->content_length(length);
      http::async_write(
          stream_, *msg,
          [self = shared_from_this(), msg](beast::error_code ec, size_t) { self->AfterWrite(ec); });
      return;
    }
    auto msg = std::make_shared<http::response<http::empty_body>>();
    Fill(*msg, res, version);
    msg->content_length(res.ContentLength());
    files_ = std::move(res.files);
    file_index_ = 0;
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*msg);
    http::async_write_header(stream_, *sr,
                             [self = shared_from_this(), msg, sr](beast::error_code ec, size_t) {
                               if (ec) return;
                               self->SendFiles();
                             });
  }

  static constexpr uint64_t kInlineBody = 64 * 1024;

  // Reads the file slices into res.body; false when a file cannot be read.
  static bool InlineFiles(HttpResponse& res) {
    std::string body(res.ContentLength(), '\0');
    size_t at = 0;
    for (const auto& f : res.files) {
      int fd = f.file ? f.file->fd() : open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return false;
      ssize_t n = pread(fd, body.data() + at, f.length, static_cast<off_t>(f.offset));
      if (!f.file) close(fd);
      if (n != static_cast<ssize_t>(f.length)) return false;
      at += f.length;
    }
    res.body = std::move(body);
    return true;
  }

  // The body straight from the page cache to the socket.
  void SendFiles() {
    auto& socket = stream_.socket();
    socket.native_non_blocking(true);
    while (file_index_ < files_.size()) {
      const FileSlice& f = files_[file_index_];
      if (file_fd_ < 0) {
        owns_fd_ = !f.file;
        file_fd_ = f.file ? f.file->fd() : open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (file_fd_ < 0) return DoClose();
        file_offset_ = static_cast<off_t>(f.offset);
        file_left_ = f.length;
      }
      while (file_left_ > 0) {
        ssize_t n = ::sendfile(socket.native_handle(), file_fd_, &file_offset_,
                               std::min<uint64_t>(file_left_, 1 << 20));
        if (n > 0) {
          file_left_ -= static_cast<uint64_t>(n);
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
          write_timer_.expires_after(std::chrono::seconds(server_.limits.write_timeout_s));
          write_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec) self->stream_.socket().close(ec);  // a client that stopped reading
          });
          socket.async_wait(tcp::socket::wait_write,
                            [self = shared_from_this()](beast::error_code ec) {
                              self->write_timer_.cancel();
                              if (!ec) self->SendFiles();
                            });
          return;
        }
        return DoClose();  // error, or the file shrank under us
      }
      if (owns_fd_) close(file_fd_);
      file_fd_ = -1;
      ++file_index_;
    }
    AfterWrite({});
  }

  void AfterWrite(beast::error_code ec) {
    if (counted_) {
      counted_ = false;
      --server_.in_flight;
    }
    if (ec) return;
    if (!keep_alive_ || server_.draining) return DoClose();
    DoRead();
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  net::steady_timer write_timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpServer::Impl& server_;
  std::string remote_;  // the client's address
  bool keep_alive_ = false;
  bool counted_ = false;
  std::vector<FileSlice> files_;
  size_t file_index_ = 0;
  int file_fd_ = -1;  // the slice being sent; files_ keeps a shared one open
  bool owns_fd_ = false;
  off_t file_offset_ = 0;
  uint64_t file_left_ = 0;
};

}  // namespace

void HttpServer::Impl::Admit(tcp::socket socket) {
  beast::error_code ec;
  if (connections >= limits.max_connections) {
    socket.close(ec);  // over the cap: refuse at once rather than queue
    return;
  }
  auto ep = socket.remote_endpoint(ec);
  if (ec) return;
  std::string remote = ep.address().to_string();
  if (!TakeSlot(remote)) {
    socket.close(ec);  // one address may not take every connection
    return;
  }
  // Headers and a sendfile body are two writes: without this, Nagle's
  // algorithm holds the body back until the client ACKs the headers.
  socket.set_option(tcp::no_delay(true), ec);
  std::make_shared<Session>(std::move(socket), std::move(remote), *this)->Start();
}

void HttpServer::Impl::Accept() {
  acceptor.async_accept(NextContext(), [this](beast::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;
    if (ec == net::error::no_descriptors) {
      // Out of file descriptors: give closing connections a moment.
      drain_timer.expires_after(std::chrono::milliseconds(50));
      drain_timer.async_wait([this](beast::error_code) { Accept(); });
      return;
    }
    if (!ec) Admit(std::move(socket));
    // Take every connection already waiting, not one per trip through a
    // queue of busy sessions: a burst of clients must not wait seconds.
    acceptor.non_blocking(true, ec);
    for (int i = 0; i < 256; ++i) {
      tcp::socket more(NextContext());
      acceptor.accept(more, ec);
      if (ec) break;
      Admit(std::move(more));
    }
    Accept();
  });
}

void HttpServer::Impl::BeginDrain() {
  if (draining.exchange(true)) return;
  beast::error_code ec;
  acceptor.close(ec);
  if (on_drain) on_drain();
  drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(limits.drain_timeout_s);
  PollDrain();
}

void HttpServer::Impl::PollDrain() {
  if (in_flight == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
    for (auto& c : contexts) c->stop();
    return;
  }
  drain_timer.expires_after(std::chrono::milliseconds(20));
  drain_timer.async_wait([this](beast::error_code) { PollDrain(); });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

void HttpServer::OnDrain(std::function<void()> f) { impl_->on_drain = std::move(f); }
HttpServer::~HttpServer() = default;

Result<std::unique_ptr<HttpServer>> HttpServer::Bind(const std::string& listen, Handler handler,
                                                     ServerLimits limits, Admission admit) {
  auto parsed = ParseHostPort(listen, true);
  if (!parsed.ok()) return Status::Usage(parsed.status().message());
  const std::string& host = parsed->host;
  int port = parsed->port;
  auto impl = std::make_unique<Impl>(std::move(handler), std::move(admit), limits);
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return Status::Usage("'" + listen + "': '" + host + "' is not an IP address");
  tcp::endpoint ep(address, static_cast<uint16_t>(port));
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::Network("cannot listen on " + listen + ": " + ec.message());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

int HttpServer::Run() {
  Impl& s = *impl_;
  // sendfile(2) to a client that hung up raises SIGPIPE; it must only fail.
  signal(SIGPIPE, SIG_IGN);
  // A node outlives the terminal or session that started it.
  signal(SIGHUP, SIG_IGN);
  // Every connection and every cached chunk file holds a descriptor.
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  s.signals.add(SIGTERM);
  s.signals.add(SIGINT);
  s.signals.async_wait([&s](beast::error_code ec, int sig) {
    if (ec) return;
    s.signal_number = sig;
    s.BeginDrain();
  });
  s.Accept();
  // Each context runs on its own thread, kept alive while idle.
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (auto& c : s.contexts) guards.push_back(net::make_work_guard(*c));
  std::vector<std::thread> pool;
  for (size_t i = 1; i < s.contexts.size(); ++i)
    pool.emplace_back([&s, i] { s.contexts[i]->run(); });
  s.ioc.run();
  for (auto& t : pool) t.join();
  return s.signal_number;
}

void HttpServer::Shutdown() {
  net::post(impl_->ioc, [this] { impl_->BeginDrain(); });
}

}  // namespace digm
