// digm-test-flood: floods a node with self-signed peer records whose keys all
// prove themselves (a Sybil with many keys): HOSTS servers on 127.0.0.2,
// 127.0.0.3, ... each answer GET /k/I/ping?nonce= for key I, and COUNT
// records naming those URLs are POSTed to NODE's /discover, plus one dated
// in the year 2100. Prints {"sent","hosts"} and keeps serving SECONDS.
//   digm-test-flood NODE COUNT HOSTS SECONDS
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "digm/clock.h"
#include "digm/hex.h"
#include "digm/http_client.h"
#include "digm/http_server.h"
#include "digm/node_client.h"
#include "digm/peer_record.h"
#include "digm/wallet.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: digm-test-flood NODE COUNT HOSTS SECONDS\n");
    return 2;
  }
  std::string node = argv[1];
  int count = std::atoi(argv[2]), hosts = std::atoi(argv[3]), seconds = std::atoi(argv[4]);
  std::vector<digm::Wallet> keys;
  for (int i = 0; i < count; ++i) keys.push_back(digm::Wallet::Generate());
  std::vector<std::unique_ptr<digm::HttpServer>> servers;
  std::vector<std::string> bases;
  for (int h = 0; h < hosts; ++h) {
    std::string host = "127.0.0." + std::to_string(h + 2);
    auto base = std::make_shared<std::string>();
    auto server = digm::HttpServer::Bind(
        host + ":0",
        [&keys, base](const digm::HttpRequest& r) {
          // /k/I/ping?nonce=N
          unsigned i = 0;
          char nonce[200] = {0};
          if (std::sscanf(r.target.c_str(), "/k/%u/ping?nonce=%199s", &i, nonce) != 2 ||
              i >= keys.size())
            return digm::HttpResponse::Error(404, "no");
          return digm::HttpResponse::Json(
              200, digm::DumpDocument(
                       digm::SignedPong(keys[i], *base + "/k/" + std::to_string(i), nonce)));
        },
        digm::ServerLimits{.threads = 1});
    if (!server.ok()) {
      fprintf(stderr, "%s\n", server.status().message().c_str());
      return 5;
    }
    *base = "http://" + host + ":" + std::to_string((*server)->port());
    bases.push_back(*base);
    servers.push_back(std::move(*server));
  }
  std::vector<std::thread> running;
  for (auto& s : servers) running.emplace_back([&s] { s->Run(); });
  auto record = [&](int i, int64_t seen) {
    std::string url = bases[i % hosts] + "/k/" + std::to_string(i);
    return digm::DumpDocument(digm::Json{{"peer", digm::MakePeerRecord(keys[i], url, seen)}});
  };
  int sent = 0;
  for (int i = 0; i < count; ++i) {
    if (digm::HttpCall("POST", node + "/discover", record(i, digm::UnixNow())).ok()) ++sent;
  }
  (void)digm::HttpCall("POST", node + "/discover", record(0, 4102444800));  // 2100-01-01
  printf("{\"sent\":%d,\"hosts\":%d}\n", sent, hosts);
  fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  for (auto& s : servers) s->Shutdown();
  for (auto& t : running) t.join();
  return 0;
}
