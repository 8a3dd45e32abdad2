// The RFC 9162 Merkle tree over a track's chunk hashes: the track root, and
// inclusion (§2.1.3) and consistency (§2.1.4) proofs with their verifiers.
// Leaves are chunk hashes; the tree hashes them as SHA-256(0x00 ‖ hash).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "digm/hex.h"

namespace digm {

Hash256 MerkleLeafHash(const Hash256& leaf);
Hash256 MerkleNodeHash(const Hash256& left, const Hash256& right);

// MTH over `leaves`; SHA-256("") for none.
Hash256 MerkleRoot(std::span<const Hash256> leaves);

// The audit path of leaf `index`. REQUIRES: index < leaves.size().
std::vector<Hash256> InclusionProof(std::span<const Hash256> leaves, uint64_t index);

// RFC 9162 §2.1.3.2. `leaf` is the chunk hash (not yet leaf-hashed).
bool VerifyInclusion(const Hash256& leaf, uint64_t index, uint64_t tree_size,
                     std::span<const Hash256> path, const Hash256& root);

// PROOF(m, D[n]) for the first `old_size` leaves. REQUIRES: old_size <=
// leaves.size(). Empty when old_size is 0 or equals leaves.size().
std::vector<Hash256> ConsistencyProof(std::span<const Hash256> leaves, uint64_t old_size);

// RFC 9162 §2.1.4.2, plus the trivial cases: equal sizes need equal roots and
// an empty path; an empty old tree needs an empty path and the empty root.
bool VerifyConsistency(uint64_t size1, uint64_t size2, const Hash256& root1, const Hash256& root2,
                       std::span<const Hash256> path);

// The right edge of a growing tree (a compact range): the roots of its
// perfect subtrees, largest first, so a log of n leaves is kept in O(log n)
// hashes. Root() equals MerkleRoot of every leaf appended so far.
class MerkleFrontier {
 public:
  // The frontier of a tree of `size` leaves whose last leaf is `leaf` with
  // audit path `path` (InclusionProof of index size - 1): a log joined at
  // its edge without its earlier leaves. None unless the path verifies
  // against `root`.
  static std::optional<MerkleFrontier> FromLastLeaf(const Hash256& leaf, uint64_t size,
                                                    std::span<const Hash256> path,
                                                    const Hash256& root);
  void Append(const Hash256& leaf);
  Hash256 Root() const;
  uint64_t size() const { return size_; }

 private:
  std::vector<Hash256> peaks_;  // one per set bit of size_, largest subtree first
  uint64_t size_ = 0;
};

}  // namespace digm
