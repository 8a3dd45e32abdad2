// digm-test-vouchers: how fast a node checks vouchers (SPEC §12). Signs COUNT
// vouchers of the digm.channel/1 at CHANNEL with WALLET (its payer), then
// checks them all on one thread as a node does (ReadVoucher: the schema, the
// channel, the payer's signature) and prints one line of JSON:
// {"vouchers","seconds","per_second"}. For bench/pay.sh.
//   digm-test-vouchers CHANNEL WALLET COUNT
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "digm/channel.h"
#include "digm/voucher_book.h"
#include "digm/wallet.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: digm-test-vouchers CHANNEL WALLET COUNT\n");
    return 2;
  }
  auto doc = digm::ReadDocument(argv[1], "channel", 1);
  auto wallet = digm::ReadWalletFile(argv[2]);
  if (!doc.ok() || !wallet.ok()) {
    fprintf(stderr, "%s\n", (!doc.ok() ? doc.status() : wallet.status()).message().c_str());
    return 3;
  }
  auto channel = digm::ReadChannel(*doc);
  if (!channel.ok()) {
    fprintf(stderr, "%s\n", channel.status().message().c_str());
    return 3;
  }
  long count = std::strtol(argv[3], nullptr, 10);
  std::vector<digm::Json> vouchers;
  for (long i = 0; i < count; ++i) {
    vouchers.push_back(digm::MakeVoucher(*wallet, *channel, i + 1, static_cast<uint64_t>(i + 1), "",
                                         static_cast<uint64_t>(i) << 18));
  }
  auto t0 = std::chrono::steady_clock::now();
  long ok = 0;
  for (const auto& v : vouchers) ok += digm::ReadVoucher(v, *channel).ok();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (ok != count) {
    fprintf(stderr, "%ld of %ld vouchers did not verify\n", count - ok, count);
    return 4;
  }
  // The node's book: each voucher taken, in its own transaction.
  std::string db = std::string(argv[1]) + ".bench-book.db";
  auto book = digm::VoucherBook::Open(db);
  if (!book.ok()) {
    fprintf(stderr, "%s\n", book.status().message().c_str());
    return 3;
  }
  std::vector<digm::Voucher> read;
  for (const auto& v : vouchers) read.push_back(*digm::ReadVoucher(v, *channel));
  t0 = std::chrono::steady_clock::now();
  for (const auto& v : read) (void)(*book)->Charge(*channel, &v, 1, 1, 1 << 20);
  double b = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < count; ++i) (void)(*book)->Charge(*channel, nullptr, 1, 1, 1 << 20);
  double u = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  book->reset();
  for (const char* ext : {"", "-wal", "-shm"}) unlink((db + ext).c_str());
  printf(
      "{\"vouchers\":%ld,\"seconds\":%.3f,\"per_second\":%.0f,\"book_per_second\":%.0f,"
      "\"book_unchanged_per_second\":%.0f}\n",
      count, s, count / s, count / b, count / u);
  return 0;
}
