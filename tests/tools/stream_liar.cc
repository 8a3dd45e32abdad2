// digm-test-stream-liar: a publisher's log under attack, for tests. Announces a
// stream to --node, sends three honest chunks, then tries each lie a node
// must refuse and prints one JSON line per try: {"lie","status","hash"}
// ("hash": the SHA-256 of the bytes it sent, if any, so a test can check
// that none was stored). Exits 0 once every lie was tried, 5 when the node
// did not take the honest part.
//   digm-test-stream-liar --wallet PUBLISHER --other OTHER --node URL
#include <CLI/CLI.hpp>
#include <cstdio>

#include "digm/clock.h"
#include "digm/crypto.h"
#include "digm/http_client.h"
#include "digm/stream.h"

namespace {

using namespace digm;

std::string B64(const std::string& text) {
  return Base64UrlEncode(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

Hash256 HashOf(const std::string& bytes) {
  return Sha256(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

int Put(const std::string& url, const std::string& bytes, const Json& head) {
  HttpCallOptions o;
  o.content_type = "application/octet-stream";
  o.headers = {"Digm-Tree-Head: " + B64(DumpDocument(head))};
  auto r = HttpCall("PUT", url, bytes, o);
  return r.ok() ? r->status : 0;
}

int Send(const std::string& method, const std::string& url, const Json& doc) {
  auto r = HttpCall(method, url, DumpDocument(doc));
  return r.ok() ? r->status : 0;
}

void Report(const char* lie, int status, const std::string& bytes = "") {
  Json line{{"lie", lie}, {"status", status}};
  if (!bytes.empty()) line["hash"] = HexEncode(HashOf(bytes));
  std::printf("%s\n", line.dump().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("A publisher's log under attack, for tests.");
  std::string wallet_path, other_path, node;
  app.add_option("--wallet", wallet_path)->required();
  app.add_option("--other", other_path)->required();
  app.add_option("--node", node)->required();
  CLI11_PARSE(app, argc, argv);
  auto dj = ReadWalletFile(wallet_path);
  auto other = ReadWalletFile(other_path);
  if (!dj.ok() || !other.ok()) return 3;
  StreamInfo info;
  info.title = "Honest set";
  info.created_ms = UnixNowMs();
  Json doc = MakeStreamDocument(info, *dj);
  Hash256 id = StreamId(doc);
  std::string base = node + "/streams/" + HexEncode(id);
  Json forged_doc = doc;
  forged_doc["title"] = "Dishonest set";
  Report("forged-announce", Send("PUT", base, forged_doc));
  if (Send("PUT", base, doc) != 201) return 5;
  std::vector<Hash256> log;
  auto chunk = [](int i, char tag = 'H') {
    return std::string(1, tag) + " chunk " + std::to_string(i) + std::string(300, '.');
  };
  int64_t t = UnixNow();
  auto head = [&](const std::vector<Hash256>& leaves, const Wallet& by, int64_t time) {
    return MakeTreeHead(id, leaves.size(), MerkleRoot(leaves), time, false, by);
  };
  for (int i = 0; i < 3; ++i) {
    log.push_back(HashOf(chunk(i)));
    if (Put(base + "/" + std::to_string(i), chunk(i), head(log, *dj, t)) != 201) return 5;
  }
  std::printf("%s\n", Json{{"id", HexEncode(id)}, {"size", log.size()}}.dump().c_str());
  std::vector<Hash256> next = log;
  next.push_back(HashOf(chunk(3)));
  // Chunk 3 under a head another wallet signed.
  Report("other-signer", Put(base + "/3", chunk(3), head(next, *other, t)), chunk(3));
  // Chunk 3 under a head whose root is of another log: chunks 0-2 rewritten.
  std::vector<Hash256> rewritten{HashOf(chunk(0, 'X')), HashOf(chunk(1, 'X')),
                                 HashOf(chunk(2, 'X')), HashOf(chunk(3))};
  Report("inconsistent-root", Put(base + "/3", chunk(3), head(rewritten, *dj, t)), chunk(3));
  // Bytes that are not the head's new leaf.
  Report("not-the-leaf", Put(base + "/3", chunk(3, 'Z'), head(next, *dj, t)), chunk(3, 'Z'));
  // A head of an earlier size, and one of an earlier time.
  std::vector<Hash256> shorter(log.begin(), log.begin() + 2);
  Report("size-back", Send("POST", base + "/heartbeat", head(shorter, *dj, t + 1)));
  Report("time-back", Send("POST", base + "/heartbeat", head(log, *dj, t - 60)));
  // A heartbeat whose signature is not the publisher's.
  Json forged = head(log, *dj, t + 1);
  std::string sig = forged["signature"].get<std::string>();
  sig[5] = sig[5] == '0' ? '1' : '0';
  forged["signature"] = sig;
  Report("forged-heartbeat", Send("POST", base + "/heartbeat", forged));
  // An end signed by another wallet.
  Json end = MakeTreeHead(id, log.size(), MerkleRoot(log), t + 1, true, *other);
  Report("other-end", Send("DELETE", base, end));
  return 0;
}
