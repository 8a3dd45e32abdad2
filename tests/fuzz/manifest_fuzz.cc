// Manifest readers: the streaming (simdjson) and DOM (nlohmann) paths must
// agree on every input, and neither may crash, throw or recurse unbounded.
#include <cstdint>
#include <string_view>

#include "digm/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto fast = digm::ParseManifest(text);
  auto doc = digm::ParseJson(text);
  auto dom = doc.ok() ? digm::ManifestFromJson(*doc) : digm::Result<digm::Manifest>(doc.status());
  if (fast.ok() != dom.ok()) __builtin_trap();
  if (fast.ok() && digm::ManifestToJson(*fast) != digm::ManifestToJson(*dom)) __builtin_trap();
  if (fast.ok()) (void)digm::CheckRoot(*fast);
  return 0;
}
