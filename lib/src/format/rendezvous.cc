#include "digm/rendezvous.h"

#include <algorithm>

#include "digm/crypto.h"

namespace digm {

std::vector<std::string> RendezvousRank(const std::string& root,
                                        std::vector<std::string> node_ids) {
  std::vector<std::pair<Hash256, std::string>> scored;
  Sha256Hasher h;
  for (auto& id : node_ids) {
    std::string key = root + id;
    scored.emplace_back(
        h.Digest(std::span(reinterpret_cast<const uint8_t*>(key.data()), key.size())),
        std::move(id));
  }
  std::sort(scored.begin(), scored.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& s : scored) out.push_back(std::move(s.second));
  return out;
}

}  // namespace digm
