// digm-test-sign: signs one JSON document (SPEC §4) with WALLET and prints it,
// so tests can make signed records of any kind (slash, pin, peer, ...).
//   digm-test-sign DOCUMENT WALLET   (DOCUMENT may be - for stdin)
#include <cstdio>

#include "digm/file.h"
#include "digm/wallet.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: digm-test-sign DOCUMENT WALLET\n");
    return 2;
  }
  auto text = digm::ReadWholeFile(argv[1]);
  auto wallet = digm::ReadWalletFile(argv[2]);
  if (!text.ok() || !wallet.ok()) {
    fprintf(stderr, "%s\n", (!text.ok() ? text.status() : wallet.status()).message().c_str());
    return 3;
  }
  auto doc = digm::ParseJson(*text);
  if (!doc.ok()) {
    fprintf(stderr, "%s\n", doc.status().message().c_str());
    return 3;
  }
  digm::SignDocument(*doc, *wallet);
  printf("%s\n", digm::DumpDocument(*doc).c_str());
  return 0;
}
