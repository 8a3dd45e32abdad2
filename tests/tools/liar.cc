// digm-test-liar: a lying node for tests. It forwards every request to a real
// node and, on a share of /content requests, flips a byte, truncates the
// body, stalls, or resets the connection. Prints its URL on stdout.
//   digm-test-liar --upstream URL --mode flip|truncate|stall|reset|mixed --share 0.5
#include <CLI/CLI.hpp>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "digm/http_client.h"
#include "digm/http_server.h"

int main(int argc, char** argv) {
  CLI::App app("A node that lies, for tests.");
  std::string upstream, mode = "flip", listen = "127.0.0.1:0";
  double share = 0.5;
  int stall_s = 30;
  unsigned seed = 7;
  app.add_option("--upstream", upstream)->required();
  app.add_option("--mode", mode)->check(CLI::IsMember({"flip", "truncate", "stall", "reset", "mixed"}));
  app.add_option("--share", share);
  app.add_option("--listen", listen);
  app.add_option("--stall", stall_s);
  app.add_option("--seed", seed);
  CLI11_PARSE(app, argc, argv);
  std::mutex mu;
  std::mt19937 rng(seed);
  auto handler = [&](const digm::HttpRequest& req) {
    auto up = digm::HttpCall(req.method, upstream + req.target, req.body);
    if (!up.ok()) return digm::HttpResponse::Error(502, up.status().message());
    digm::HttpResponse res;
    res.status = static_cast<int>(up->status);
    res.body = up->body;
    bool lie = false;
    std::string how = mode;
    {
      std::lock_guard<std::mutex> lock(mu);
      lie = req.target.rfind("/content/", 0) == 0 && res.status == 200 &&
            std::uniform_real_distribution<double>(0, 1)(rng) < share;
      if (mode == "mixed") how = std::vector<std::string>{"flip", "truncate", "stall", "reset"}[rng() % 4];
    }
    if (!lie) return res;
    if (how == "flip" && !res.body.empty()) res.body[res.body.size() / 2] ^= 0x01;
    if (how == "truncate") res.body.resize(res.body.size() / 2);
    if (how == "stall") std::this_thread::sleep_for(std::chrono::seconds(stall_s));
    if (how == "reset") res.reset = true;
    return res;
  };
  digm::ServerLimits limits;
  limits.threads = 32;  // a stall blocks its thread; keep other connections apart
  limits.drain_timeout_s = 0;
  auto server = digm::HttpServer::Bind(listen, handler, limits);
  if (!server.ok()) {
    fprintf(stderr, "%s\n", server.status().message().c_str());
    return 5;
  }
  printf("http://127.0.0.1:%u\n", (*server)->port());
  fflush(stdout);
  return (*server)->Run() == 0 ? 0 : 0;
}
