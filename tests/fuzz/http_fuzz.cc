// A node's request handling in process: the Range, If-None-Match, If-Range
// and HOST:PORT parsers, and SeedApi::Admit/Handle on a real store with one
// track, fed requests made of the input (method, target, headers, body).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>

#include "digm/chunk_store.h"
#include "digm/chunker.h"
#include "digm/http.h"
#include "digm/node_store.h"
#include "digm/seed_api.h"

namespace {

struct Node {
  std::unique_ptr<digm::NodeStore> store;
  digm::Wallet identity = digm::Wallet::Generate();
  std::unique_ptr<digm::SeedApi> api;
};

Node& TheNode() {
  static Node* node = [] {
    auto* n = new Node;
    char dir[] = "/tmp/digm-fuzz-XXXXXX";
    std::string d = mkdtemp(dir);
    n->store = std::move(digm::NodeStore::Open(d + "/node", true)).value();
    n->api = std::make_unique<digm::SeedApi>(
        *n->store, n->identity,
        digm::SeedApi::Options{.url = "http://127.0.0.1:1",
                               .prove = [](const std::string&) -> digm::Result<digm::Address> {
                                 return digm::Status::Network("no network while fuzzing");
                               }});
    return n;
  }();
  return *node;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  digm::ByteRange range;
  (void)digm::ParseRange(text, 1 << 20, &range);
  (void)digm::IfNoneMatchHits(text, "\"abc\"");
  (void)digm::IfRangeHolds(text, "\"abc\"");
  (void)digm::ParseHostPort(text, true);
  // "METHOD TARGET\nname: value\n...\n\nbody"
  digm::HttpRequest req;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  size_t space = line.find(' ');
  req.method = line.substr(0, space);
  req.target = space == std::string::npos ? "/" : line.substr(space + 1);
  while (std::getline(in, line) && !line.empty()) {
    size_t colon = line.find(':');
    if (colon != std::string::npos) req.headers[line.substr(0, colon)] = line.substr(colon + 1);
  }
  std::getline(in, req.body, '\0');
  req.remote = "127.0.0.1";
  Node& node = TheNode();
  if (!node.api->Admit(req)) (void)node.api->Handle(req);
  node.api->ProvePending(64);  // every queued peer fails its proof: the queue stays bounded
  return 0;
}
