// Rendezvous (highest random weight) hashing: which nodes should hold a track.
// Every node ranks the same candidates the same way, so holders agree without
// talking; when one goes away only its share moves. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace digm {

// `node_ids` ordered by SHA-256(root ‖ node_id), highest first.
std::vector<std::string> RendezvousRank(const std::string& root, std::vector<std::string> node_ids);

}  // namespace digm
