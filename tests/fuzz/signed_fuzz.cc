// Every signed document a tool or node verifies: receipts (and what they
// pay), pins, peer records, challenge responses, slash records, and live
// streams' documents and tree heads.
#include <cstdint>
#include <string_view>

#include "digm/auditor.h"
#include "digm/document.h"
#include "digm/money.h"
#include "digm/payments.h"
#include "digm/peer_record.h"
#include "digm/pin.h"
#include "digm/stream.h"
#include "digm/wallet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
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
  digm::Challenge c;
  digm::Json response;
  (void)digm::JudgeResponse(c, "0x0000000000000000000000000000000000000001", 200, std::string(text),
                            &response);
  return 0;
}
