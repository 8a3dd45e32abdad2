#include "digm/web_assets.h"

namespace digm {

std::optional<WebAsset> FindWebAsset(std::string_view path) {
  for (const auto& a : WebAssets()) {
    if (a.path == path) return a;
  }
  return std::nullopt;
}

}  // namespace digm
