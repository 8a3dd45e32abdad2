// Proof documents over a manifest's Merkle tree (SPEC §3): digm.proof/1, that
// a chunk is at an index of a track, and digm.consistency/1, that a grown
// track extends an older one. Values; pure functions.
#pragma once

#include <vector>

#include "digm/document.h"
#include "digm/manifest.h"

namespace digm {

struct InclusionProofDoc {
  Hash256 root{};
  uint64_t tree_size = 0;
  uint64_t index = 0;
  Hash256 leaf{};  // the chunk hash
  std::vector<Hash256> path;
};

struct ConsistencyProofDoc {
  uint64_t size1 = 0, size2 = 0;
  Hash256 root1{}, root2{};
  std::vector<Hash256> path;
};

// Usage error when index is out of range.
Result<InclusionProofDoc> ProveInclusion(const Manifest& manifest, uint64_t index);
bool VerifyProof(const InclusionProofDoc& proof);
Json ProofToJson(const InclusionProofDoc& proof);
Result<InclusionProofDoc> ProofFromJson(const Json& doc);

// No when `newer` does not start with `older`'s chunks.
Result<ConsistencyProofDoc> ProveConsistency(const Manifest& older, const Manifest& newer);
bool VerifyProof(const ConsistencyProofDoc& proof);
Json ProofToJson(const ConsistencyProofDoc& proof);
Result<ConsistencyProofDoc> ConsistencyProofFromJson(const Json& doc);

}  // namespace digm
