#include "digm/fresh_index.h"

#include <algorithm>

#include "digm/address.h"

namespace digm {

Result<std::vector<IndexNode>> FreshIndexNodes(const Json& index) {
  DIGM_RETURN_IF_ERROR(CheckSchema(index, "fresh-index", 1));
  auto it = index.find("nodes");
  if (it == index.end() || !it->is_array()) return Status::BadInput("expected an array \"nodes\"");
  std::vector<IndexNode> nodes;
  for (const auto& n : *it) {
    if (!n.is_object()) continue;
    std::string url = StringOr(n, "url");
    bool struck = BoolOr(n, "struck_out", NumberOr(n, "consecutive_failures", 0) >= 3);
    nodes.push_back({StringOr(n, "node_id"), BaseUrl(url), BoolOr(n, "healthy", false) && !struck,
                     struck, std::clamp(NumberOr(n, "score", 0), 0.0, 1.0)});
  }
  return nodes;
}

Result<std::vector<IndexNode>> ReadFreshIndex(const std::string& path) {
  DIGM_ASSIGN_OR_RETURN(Json doc, ReadDocument(path, "fresh-index", 1));
  auto nodes = FreshIndexNodes(doc);
  if (!nodes.ok()) return nodes.status().Context("reading '" + path + "'");
  return nodes;
}

std::vector<std::string> HealthyUrls(const std::vector<IndexNode>& nodes) {
  std::vector<const IndexNode*> healthy;
  for (const auto& n : nodes) {
    if (n.healthy && !n.url.empty()) healthy.push_back(&n);
  }
  std::stable_sort(healthy.begin(), healthy.end(),
                   [](const IndexNode* a, const IndexNode* b) { return a->score > b->score; });
  std::vector<std::string> urls;
  for (const auto* n : healthy) urls.push_back(n->url);
  return urls;
}

std::vector<std::string> StruckOutUrls(const std::vector<IndexNode>& nodes) {
  std::vector<std::string> urls;
  for (const auto& n : nodes) {
    if (n.struck_out && !n.url.empty()) urls.push_back(n.url);
  }
  return urls;
}

}  // namespace digm
