// The web player's files (SPEC §10), built into the program from web/ by
// cmake/embed_web.cmake: each with its path ("/app.js") and media type.
// Constant data; thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace digm {

struct WebAsset {
  std::string_view path, mime, bytes;
};

// Every asset, sorted by path (generated into the build from web/).
std::span<const WebAsset> WebAssets();

// The asset at `path` ("/app.js"), if there is one.
std::optional<WebAsset> FindWebAsset(std::string_view path);

}  // namespace digm
