// Every signed document a tool or node verifies: receipts (and what they
// pay), pins, peer records, challenge responses, slash records, live
// streams' documents and tree heads, payment channels, vouchers and prices;
// and what else comes from outside as text: magnet links and JSON-RPC
// quantities and ABI-encoded answers.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "digm/auditor.h"
#include "digm/channel.h"
#include "digm/document.h"
#include "digm/evm.h"
#include "digm/money.h"
#include "digm/payments.h"
#include "digm/peer_record.h"
#include "digm/pin.h"
#include "digm/stream.h"
#include "digm/torrent.h"
#include "digm/wallet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.starts_with("magnet:")) (void)digm::ReadTorrentArgument(std::string(text));
  (void)digm::evm::ParseQuantity(text);
  std::span answer(data, size);
  (void)digm::evm::AbiUint(answer, 0);
  (void)digm::evm::AbiUint(answer, 2);
  (void)digm::evm::AbiAddress(answer, 1);
  auto doc = digm::ParseJson(text);
  if (!doc.ok()) return 0;
  (void)digm::VerifyDocument(*doc);
  (void)digm::CanonicalForm(*doc);
  auto xfg = digm::ParseAsset("XFG");
  (void)digm::ReceiptPayments(*doc, *xfg, 1000);
  (void)digm::ReceiptPayments(*doc, *xfg, int64_t{1} << 40);
  (void)digm::ReceiptSeconds(*doc);
  (void)digm::PinExpiry(*doc);
  (void)digm::CheckPin(*doc, std::string(64, 'a'), {}, 16, 1800000000);
  (void)digm::ReadPeerRecord(*doc);
  digm::Stream stream;
  if (auto s = digm::ReadStreamDocument(*doc); s.ok()) stream = *s;
  if (auto head = digm::ReadTreeHead(*doc, stream); head.ok()) {
    digm::StreamLog log(stream);
    digm::Hash256 leaf{};
    (void)log.Extend(std::span(&leaf, 1), *head);
    (void)log.Heartbeat(*head);
  }
  if (doc->is_object()) {
    if (auto price = doc->find("price"); price != doc->end()) (void)digm::ReadPrice(*price);
  }
  (void)digm::ReadPrice(*doc);
  // A voucher is read against the channel in the same input when that one
  // verifies, or a fixed one, on a chain too.
  static const digm::Channel kLedger = [] {
    digm::Channel c;
    c.id = std::string(64, 'a');
    c.asset = *digm::ParseAsset("XFG");
    c.amount = int64_t{1} << 50;
    c.chain = "ledger";
    return c;
  }();
  static const digm::Channel kChain = [] {
    digm::Channel c = kLedger;
    c.chain = "evm:98765";
    c.contract = digm::Address{1};
    return c;
  }();
  auto channel = digm::ReadChannel(*doc);
  (void)digm::ReadVoucher(*doc, channel.ok() ? *channel : kLedger);
  (void)digm::ReadVoucher(*doc, kChain);
  digm::Challenge c;
  digm::Json response;
  (void)digm::JudgeResponse(c, "0x0000000000000000000000000000000000000001", 200, std::string(text),
                            &response);
  return 0;
}
