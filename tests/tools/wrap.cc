// digm-test-wrap: wraps a track key for a wallet's public key and prints the
// digm.wrapped-key/1, for tests until a tool of the suite makes them.
//   digm-test-wrap KEY_FILE WALLET_FILE
#include <cstdio>

#include "digm/key_wrap.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: digm-test-wrap KEY_FILE WALLET_FILE\n");
    return 2;
  }
  auto key = digm::ReadKeyFile(argv[1]);
  auto wallet = digm::ReadWalletFile(argv[2]);
  if (!key.ok() || !wallet.ok()) {
    fprintf(stderr, "%s\n", (!key.ok() ? key.status() : wallet.status()).message().c_str());
    return 3;
  }
  auto wrapped = digm::WrapKey(*key, wallet->public_key);
  if (!wrapped.ok()) return 4;
  printf("%s\n", digm::DumpDocument(*wrapped).c_str());
  return 0;
}
