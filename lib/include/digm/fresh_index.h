// The reader of digm.fresh-index/1 (SPEC §7), the one place its members are
// interpreted for digm-fetch (which nodes to prefer, which never to use),
// digm-audit (whom to audit) and digm-pay (whom to reward). Pure functions.
#pragma once

#include <string>
#include <vector>

#include "digm/document.h"

namespace digm {

struct IndexNode {
  std::string node_id;  // an address, or empty when the index names none
  std::string url;      // as given, without trailing slashes; may be empty
  bool healthy = false;
  bool struck_out = false;  // three failed epochs in a row (SPEC §7)
  double score = 0;         // 0..1
};

// The nodes of an index document, in its order. Entries that are not objects
// are skipped; members are read leniently (a wrong type is as if absent). BadInput for a wrong
// schema or no "nodes" array.
Result<std::vector<IndexNode>> FreshIndexNodes(const Json& index);

// Reads and checks the index at `path` ("-": stdin).
Result<std::vector<IndexNode>> ReadFreshIndex(const std::string& path);

// The URLs of the healthy nodes, best score first (stable for equal scores).
std::vector<std::string> HealthyUrls(const std::vector<IndexNode>& nodes);

// The URLs of the nodes the index struck out: never to be used.
std::vector<std::string> StruckOutUrls(const std::vector<IndexNode>& nodes);

}  // namespace digm
