// digm-test-liar: a lying node for tests. It forwards every request to a real
// node and, on a share of /content (or /audit) requests, flips a byte,
// truncates the body, stalls, or resets the connection; on /audit it can also
// answer a random digest, unsigned (`random`) or signed by its own key
// (`resign`). --log appends every challenge it forwards. --reply answers
// every request matching METHOD and a target prefix itself with STATUS and
// the bytes of FILE, forwarding nothing. --own-identity makes it pass for a
// node of its own: it answers GET /ping?nonce= with its own signed pong and
// re-signs the upstream's /discover record as its own. The web player's
// pages and files go out with their types. Prints its URL.
//   digm-test-liar --upstream URL --mode flip|truncate|stall|reset|mixed|random|resign|delay
//                  --share 0.5 [--on content|audit] [--log FILE]
//                  [--reply "METHOD PREFIX STATUS FILE"]... [--own-identity]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "digm/crypto.h"
#include "digm/document.h"
#include "digm/file.h"
#include "digm/http_client.h"
#include "digm/http_server.h"
#include "digm/node_client.h"
#include "digm/wallet.h"
#include "digm/web_assets.h"

int main(int argc, char** argv) {
  CLI::App app("A node that lies, for tests.");
  std::string upstream, mode = "flip", listen = "127.0.0.1:0", on = "content", log_path;
  double share = 0.5;
  int stall_s = 30;
  unsigned seed = 7;
  app.add_option("--upstream", upstream)->required();
  app.add_option("--mode", mode)
      ->check(CLI::IsMember(
          {"flip", "truncate", "stall", "reset", "mixed", "random", "resign", "delay"}));
  app.add_option("--share", share);
  app.add_option("--listen", listen);
  app.add_option("--stall", stall_s)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--seed", seed);
  app.add_option("--on", on)->check(CLI::IsMember({"content", "audit"}));
  app.add_option("--log", log_path);
  std::vector<std::string> replies;
  app.add_option("--reply", replies);
  bool own_identity = false;
  app.add_flag("--own-identity", own_identity);
  CLI11_PARSE(app, argc, argv);
  struct Reply {
    std::string method, prefix;
    int status;
    std::string body;
  };
  std::vector<Reply> canned;
  for (const auto& r : replies) {
    char method[16], prefix[256], file[1024];
    int status;
    if (std::sscanf(r.c_str(), "%15s %255s %d %1023s", method, prefix, &status, file) != 4) {
      fprintf(stderr, "--reply: expected \"METHOD PREFIX STATUS FILE\"\n");
      return 2;
    }
    auto body = digm::ReadWholeFile(file);
    if (!body.ok()) {
      fprintf(stderr, "%s\n", body.status().message().c_str());
      return 3;
    }
    canned.push_back({method, prefix, status, *body});
  }
  std::mutex mu;
  std::mt19937 rng(seed);
  digm::Wallet own = digm::Wallet::Generate();
  std::string my_url;  // known once bound
  auto handler = [&](const digm::HttpRequest& req) {
    // delay: every answer, true, but --stall seconds late (a slow node).
    if (mode == "delay") std::this_thread::sleep_for(std::chrono::seconds(stall_s));
    if (own_identity && req.target.rfind("/ping?nonce=", 0) == 0) {
      return digm::HttpResponse::Json(
          200, digm::DumpDocument(digm::SignedPong(own, my_url, req.target.substr(12))));
    }
    if (!log_path.empty() && req.target == "/audit") {
      std::lock_guard<std::mutex> lock(mu);
      if (FILE* f = std::fopen(log_path.c_str(), "a")) {
        std::fprintf(f, "%s\n", req.body.c_str());
        std::fclose(f);
      }
    }
    for (const auto& c : canned) {
      if (req.method == c.method && req.target.rfind(c.prefix, 0) == 0) {
        return digm::HttpResponse::Json(c.status, c.body);
      }
    }
    // A paying client's channel and voucher go on to the node it pays.
    std::vector<std::string> pass;
    for (const char* h : {"digm-channel", "digm-voucher"}) {
      if (std::string v = req.Header(h); !v.empty()) pass.push_back(std::string(h) + ": " + v);
    }
    auto up = digm::HttpCall(req.method, upstream + req.target, req.body,
                             {.max_body = 64 << 20, .headers = pass});
    if (!up.ok()) return digm::HttpResponse::Error(502, up.status().message());
    digm::HttpResponse res;
    res.status = static_cast<int>(up->status);
    res.body = up->body;
    // The web player's files keep their types (a browser runs no script of
    // another type); the upstream's headers are not carried otherwise.
    if (std::string path = req.target.substr(0, req.target.find('?'));
        path == "/" || path.rfind("/play/", 0) == 0) {
      res.Set("Content-Type", "text/html; charset=utf-8");
    } else if (auto asset = path.rfind("/web/", 0) == 0 ? digm::FindWebAsset(path.substr(4))
                                                        : std::nullopt) {
      res.Set("Content-Type", std::string(asset->mime));
    }
    if (own_identity && req.target == "/discover") {
      auto reply = digm::ParseJson(res.body);
      if (reply.ok() && reply->is_object() && reply->contains("peer")) {
        digm::Json& peer = (*reply)["peer"];
        digm::Json tracks = peer.value("available_tracks", digm::Json::array());
        peer.erase("available_tracks");
        peer["node_id"] = peer["address"] = digm::AddressToString(own.address);
        peer["public"] = digm::HexEncode(own.public_key);
        peer["url"] = my_url;
        digm::SignDocument(peer, own);
        peer["available_tracks"] = tracks;
        res.body = digm::DumpDocument(*reply);
      }
    }
    bool lie = false;
    std::string how = mode;
    {
      std::lock_guard<std::mutex> lock(mu);
      lie = req.target.rfind("/" + on, 0) == 0 && req.method != "HEAD" && res.status == 200 &&
            std::uniform_real_distribution<double>(0, 1)(rng) < share;
      if (mode == "mixed")
        how = std::vector<std::string>{"flip", "truncate", "stall", "reset"}[rng() % 4];
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
  my_url = "http://127.0.0.1:" + std::to_string((*server)->port());
  printf("%s\n", my_url.c_str());
  fflush(stdout);
  return (*server)->Run() == 0 ? 0 : 0;
}
