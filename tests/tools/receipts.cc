// digm-test-receipts: writes COUNT distinct receipts signed by WALLET, made
// from a real digm.receipt/1 (same deliveries, a different "root" each), for
// the tests and benchmarks that settle many receipts.
//   digm-test-receipts TEMPLATE WALLET COUNT DIR   → DIR/r-000000.json …
#include <cstdio>
#include <cstdlib>
#include <string>

#include "digm/crypto.h"
#include "digm/file.h"
#include "digm/wallet.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: digm-test-receipts TEMPLATE WALLET COUNT DIR\n");
    return 2;
  }
  auto doc = digm::ReadDocument(argv[1], "receipt", 1);
  auto wallet = digm::ReadWalletFile(argv[2]);
  if (!doc.ok() || !wallet.ok()) {
    fprintf(stderr, "%s\n", (!doc.ok() ? doc.status() : wallet.status()).message().c_str());
    return 3;
  }
  long count = std::strtol(argv[3], nullptr, 10);
  for (long i = 0; i < count; ++i) {
    std::string seed = "receipt " + std::to_string(i);
    digm::Json r = *doc;
    r["root"] = digm::HexEncode(
        digm::Sha256(std::span(reinterpret_cast<const uint8_t*>(seed.data()), seed.size())));
    r["listener"] = digm::AddressToString(wallet->address);
    digm::SignDocument(r, *wallet);
    char name[32];
    snprintf(name, sizeof name, "/r-%06ld.json", i);
    if (auto s = digm::WriteOutput(std::string(argv[4]) + name, digm::DumpDocument(r) + "\n");
        !s.ok()) {
      fprintf(stderr, "%s\n", s.message().c_str());
      return 3;
    }
  }
  return 0;
}
