// Inclusion and consistency proof documents: read and verify any bytes.
#include <cstdint>
#include <string_view>

#include "digm/document.h"
#include "digm/proof.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto doc = digm::ParseJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!doc.ok()) return 0;
  if (auto p = digm::ProofFromJson(*doc); p.ok()) (void)digm::VerifyProof(*p);
  if (auto c = digm::ConsistencyProofFromJson(*doc); c.ok()) (void)digm::VerifyProof(*c);
  return 0;
}
