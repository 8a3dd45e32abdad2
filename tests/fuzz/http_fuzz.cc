// A node's request handling in process: the Range, If-None-Match, If-Range
// and HOST:PORT parsers, and SeedApi::Admit/Handle on a real store, fed
// requests made of the input (method, target, headers, body), each to a
// free node and to a priced one (SPEC §12) with its voucher book. Random
// bytes never carry a valid signature, so in a header value "@C" stands for
// a real channel to the priced node ("@I" for its id, in the target too),
// "@Q" for another payer's channel under
// the same id, and "@V<amount>,<seq>" for the payer's voucher on "@C": the
// fuzzer then drives the book's rules (stale, replayed, over-amount, wrong
// channel) with documents that verify.
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <string_view>

#include "digm/channel.h"
#include "digm/chunk_store.h"
#include "digm/chunker.h"
#include "digm/crypto.h"
#include "digm/http.h"
#include "digm/money.h"
#include "digm/node_store.h"
#include "digm/seed_api.h"
#include "digm/voucher_book.h"
#include "digm/wallet.h"

namespace {

digm::Wallet FixedWallet(uint8_t last) {
  std::array<uint8_t, 32> secret{};
  secret[31] = last;
  return *digm::Wallet::FromSecret(secret);
}

struct Node {
  std::unique_ptr<digm::NodeStore> store;
  digm::Wallet identity = FixedWallet(2);
  std::unique_ptr<digm::VoucherBook> vouchers;
  std::unique_ptr<digm::SeedApi> api;
  std::unique_ptr<digm::SeedApi> priced;
  digm::Wallet payer = FixedWallet(3);
  digm::Channel channel;
  std::string channel_text, foreign_text;
};

// The node's folder, removed when the fuzzer exits (a crash leaves it, with
// the input that made it).
char node_dir[] = "/tmp/digm-fuzz-XXXXXX";

Node& TheNode() {
  static Node* node = [] {
    auto* n = new Node;
    std::string d = mkdtemp(node_dir);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(node_dir, ignored);
    });
    n->store = std::move(digm::NodeStore::Open(d + "/node", true)).value();
    // One chunk, so content requests reach the priced node's charging.
    std::string_view chunk = "digm fuzz chunk\n";
    std::span bytes(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size());
    (void)n->store->chunks().Put(digm::Sha256(bytes), bytes);
    digm::SeedApi::Options options{.url = "http://127.0.0.1:1",
                                   .prove = [](const std::string&) -> digm::Result<digm::Address> {
                                     return digm::Status::Network("no network while fuzzing");
                                   }};
    n->api = std::make_unique<digm::SeedApi>(*n->store, n->identity, options);
    n->vouchers = std::move(digm::VoucherBook::Open(d + "/node/vouchers.db")).value();
    auto xfg = *digm::ParseAsset("XFG");
    options.price = digm::Price{.asset = xfg, .per_mb = 1000, .credit = 1 << 20};
    options.vouchers = n->vouchers.get();
    n->priced = std::make_unique<digm::SeedApi>(*n->store, n->identity, options);
    digm::Json doc = digm::MakeChannel(n->payer, n->identity.address, xfg, 100000000,
                                       4102444800 /* 2100 */, "ledger");
    n->channel = *digm::ReadChannel(doc);
    n->channel_text = digm::DumpDocument(doc);
    digm::Json foreign = doc;  // the same id, claimed by another payer
    digm::Wallet other = FixedWallet(4);
    foreign.erase("signature");
    foreign["payer"] = foreign["signer"] = digm::AddressToString(other.address);
    digm::SignDocument(foreign, other);
    n->foreign_text = digm::DumpDocument(foreign);
    return n;
  }();
  return *node;
}

// The number of the digits at `at` (moved past them), short of 2^40.
uint64_t Digits(const std::string& s, size_t& at) {
  uint64_t n = 0;
  for (; at < s.size() && isdigit(static_cast<unsigned char>(s[at])) && n < (uint64_t{1} << 40);
       ++at)
    n = n * 10 + static_cast<uint64_t>(s[at] - '0');
  return n;
}

// A header value with its stand-ins replaced (see the top of the file).
// Leading blanks are dropped, as an HTTP parser does.
std::string Expand(const Node& node, const std::string& raw) {
  std::string value = raw.substr(std::min(raw.size(), raw.find_first_not_of(" \t")));
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '@' || i + 1 >= value.size()) {
      out += value[i];
      continue;
    }
    char what = value[i + 1];
    if (what == 'C') {
      out += node.channel_text;
      ++i;
    } else if (what == 'I') {
      out += node.channel.id;
      ++i;
    } else if (what == 'Q') {
      out += node.foreign_text;
      ++i;
    } else if (what == 'V') {
      size_t end = i + 2;
      auto amount = static_cast<int64_t>(Digits(value, end));
      if (end < value.size() && value[end] == ',') ++end;
      uint64_t seq = Digits(value, end);
      out += digm::DumpDocument(digm::MakeVoucher(node.payer, node.channel, amount, seq, "", 0));
      i = end - 1;
    } else {
      out += value[i];
    }
  }
  return out;
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
  req.target = space == std::string::npos ? "/" : Expand(TheNode(), line.substr(space + 1));
  while (std::getline(in, line) && !line.empty()) {
    size_t colon = line.find(':');
    if (colon != std::string::npos)
      req.headers[line.substr(0, colon)] = Expand(TheNode(), line.substr(colon + 1));
  }
  std::getline(in, req.body, '\0');
  req.remote = "127.0.0.1";
  Node& node = TheNode();
  if (!node.api->Admit(req)) (void)node.api->Handle(req);
  if (!node.priced->Admit(req)) (void)node.priced->Handle(req);
  node.api->ProvePending(64);  // every queued peer fails its proof: the queue stays bounded
  return 0;
}
