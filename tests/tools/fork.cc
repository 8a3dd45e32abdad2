// digm-test-fork: a publisher who equivocates, for tests. It announces one
// stream document to two nodes and sends each its own log under it: chunk i
// is "A…" to the first and "B…" to the second, each with a head the wallet
// signs, one chunk every --part-ms. Prints the stream id, then ends both
// logs with a final head after --chunks chunks.
//   digm-test-fork --wallet W --node A --node B [--chunks 40] [--part-ms 100]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "digm/clock.h"
#include "digm/crypto.h"
#include "digm/http_client.h"
#include "digm/stream.h"

int main(int argc, char** argv) {
  using namespace digm;
  CLI::App app("A publisher who signs two logs of one stream, for tests.");
  std::string wallet_path;
  std::vector<std::string> nodes;
  int chunks = 40, part_ms = 100;
  app.add_option("--wallet", wallet_path)->required();
  app.add_option("--node", nodes)->required()->expected(2);
  app.add_option("--chunks", chunks);
  app.add_option("--part-ms", part_ms);
  CLI11_PARSE(app, argc, argv);
  auto wallet = ReadWalletFile(wallet_path);
  if (!wallet.ok()) return 3;
  StreamInfo info;
  info.title = "Two-faced set";
  info.part_ms = static_cast<uint64_t>(part_ms);
  info.created_ms = UnixNowMs();
  Json doc = MakeStreamDocument(info, *wallet);
  Hash256 id = StreamId(doc);
  std::string base = "/streams/" + HexEncode(id);
  for (const auto& n : nodes) {
    auto r = HttpCall("PUT", n + base, DumpDocument(doc));
    if (!r.ok() || r->status != 201) return 5;
  }
  std::printf("%s\n", HexEncode(id).c_str());
  std::fflush(stdout);
  MerkleFrontier logs[2];
  for (int i = 0; i < chunks; ++i) {
    for (int side = 0; side < 2; ++side) {
      std::string bytes = std::string(1, static_cast<char>('A' + side)) + " chunk " +
                          std::to_string(i) + std::string(200, '.');
      Hash256 hash =
          Sha256(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
      logs[side].Append(hash);
      std::string head = DumpDocument(
          MakeTreeHead(id, logs[side].size(), logs[side].Root(), UnixNow(), false, *wallet));
      HttpCallOptions o;
      o.content_type = "application/octet-stream";
      o.headers = {
          "Digm-Tree-Head: " +
          Base64UrlEncode(std::span(reinterpret_cast<const uint8_t*>(head.data()), head.size()))};
      (void)HttpCall("PUT", nodes[side] + base + "/" + std::to_string(i), bytes, o);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(part_ms));
  }
  for (int side = 0; side < 2; ++side) {
    (void)HttpCall("DELETE", nodes[side] + base,
                   DumpDocument(MakeTreeHead(id, logs[side].size(), logs[side].Root(), UnixNow(),
                                             true, *wallet)));
  }
  return 0;
}
