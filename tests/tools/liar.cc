// digm-test-liar: a lying node for tests. It forwards every request to a real
// node and, on a share of /content (or /audit) requests, flips a byte,
// truncates the body, stalls, or resets the connection; on /audit it can also
// answer a random digest, unsigned (`random`) or signed by its own key
// (`resign`). --log appends every challenge it forwards. Prints its URL.
//   digm-test-liar --upstream URL --mode flip|truncate|stall|reset|mixed|random|resign
//                  --share 0.5 [--on content|audit] [--log FILE]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "digm/crypto.h"
#include "digm/document.h"
#include "digm/http_client.h"
#include "digm/http_server.h"
#include "digm/wallet.h"

int main(int argc, char** argv) {
  CLI::App app("A node that lies, for tests.");
  std::string upstream, mode = "flip", listen = "127.0.0.1:0", on = "content", log_path;
  double share = 0.5;
  int stall_s = 30;
  unsigned seed = 7;
  app.add_option("--upstream", upstream)->required();
  app.add_option("--mode", mode)->check(CLI::IsMember({"flip", "truncate", "stall", "reset", "mixed", "random", "resign"}));
  app.add_option("--share", share);
  app.add_option("--listen", listen);
  app.add_option("--stall", stall_s);
  app.add_option("--seed", seed);
  app.add_option("--on", on)->check(CLI::IsMember({"content", "audit"}));
  app.add_option("--log", log_path);
  CLI11_PARSE(app, argc, argv);
  std::mutex mu;
  std::mt19937 rng(seed);
  digm::Wallet own = digm::Wallet::Generate();
  auto handler = [&](const digm::HttpRequest& req) {
    if (!log_path.empty() && req.target == "/audit") {
      std::lock_guard<std::mutex> lock(mu);
      if (FILE* f = std::fopen(log_path.c_str(), "a")) {
        std::fprintf(f, "%s\n", req.body.c_str());
        std::fclose(f);
      }
    }
    auto up = digm::HttpCall(req.method, upstream + req.target, req.body);
    if (!up.ok()) return digm::HttpResponse::Error(502, up.status().message());
    digm::HttpResponse res;
    res.status = static_cast<int>(up->status);
    res.body = up->body;
    bool lie = false;
    std::string how = mode;
    {
      std::lock_guard<std::mutex> lock(mu);
      lie = req.target.rfind("/" + on, 0) == 0 && req.method != "HEAD" && res.status == 200 &&
            std::uniform_real_distribution<double>(0, 1)(rng) < share;
      if (mode == "mixed") how = std::vector<std::string>{"flip", "truncate", "stall", "reset"}[rng() % 4];
    }
    if (!lie) return res;
    if (how == "flip" && !res.body.empty()) res.body[res.body.size() / 2] ^= 0x01;
    if (how == "truncate") res.body.resize(res.body.size() / 2);
    if (how == "stall") std::this_thread::sleep_for(std::chrono::seconds(stall_s));
    if (how == "reset") res.reset = true;
    if (how == "random" || how == "resign") {
      auto doc = digm::ParseJson(res.body);
      if (doc.ok() && doc->is_object()) {
        std::array<uint8_t, 32> digest;
        digm::RandomBytes(digest);
        (*doc)["digest"] = digm::HexEncode(digest);
        if (how == "resign") digm::SignDocument(*doc, own);
        res.body = digm::DumpDocument(*doc);
      }
    }
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
