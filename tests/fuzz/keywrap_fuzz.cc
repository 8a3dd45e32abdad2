// Key unwrapping: any digm.wrapped-key/1 bytes against a fixed wallet.
#include <cstdint>
#include <string_view>

#include "digm/document.h"
#include "digm/key_wrap.h"
#include "digm/wallet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const digm::Wallet wallet =
      *digm::Wallet::FromSecret({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  auto doc = digm::ParseJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!doc.ok()) return 0;
  (void)digm::UnwrapKey(*doc, wallet);
  return 0;
}
