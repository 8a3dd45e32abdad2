#include "digm/merkle.h"

#include "digm/crypto.h"

namespace digm {
namespace {

constexpr uint8_t kLeafPrefix[1] = {0x00};
constexpr uint8_t kNodePrefix[1] = {0x01};

Sha256Hasher& Hasher() {
  thread_local Sha256Hasher hasher;
  return hasher;
}

// The largest power of two smaller than n. REQUIRES: n > 1.
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

// MTH over leaves that are already leaf-hashed, bottom-up: an unpaired last
// node moves up a level unchanged, which is the same tree as RFC 9162's split
// at the largest power of two.
Hash256 RootOfHashed(std::vector<Hash256> level) {
  while (level.size() > 1) {
    size_t out = 0;
    for (size_t i = 0; i + 1 < level.size(); i += 2) {
      level[out++] = MerkleNodeHash(level[i], level[i + 1]);
    }
    if (level.size() % 2 == 1) level[out++] = level.back();
    level.resize(out);
  }
  return level[0];
}

Hash256 SubtreeRoot(std::span<const Hash256> leaves) {
  if (leaves.empty()) return Sha256({});
  std::vector<Hash256> level(leaves.size());
  for (size_t i = 0; i < leaves.size(); ++i) level[i] = MerkleLeafHash(leaves[i]);
  return RootOfHashed(std::move(level));
}

void Path(std::span<const Hash256> d, uint64_t m, std::vector<Hash256>* out) {
  if (d.size() <= 1) return;
  uint64_t k = SplitPoint(d.size());
  if (m < k) {
    Path(d.subspan(0, k), m, out);
    out->push_back(SubtreeRoot(d.subspan(k)));
  } else {
    Path(d.subspan(k), m - k, out);
    out->push_back(SubtreeRoot(d.subspan(0, k)));
  }
}

void SubProof(uint64_t m, std::span<const Hash256> d, bool whole, std::vector<Hash256>* out) {
  uint64_t n = d.size();
  if (m == n) {
    if (!whole) out->push_back(SubtreeRoot(d));
    return;
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(m, d.subspan(0, k), whole, out);
    out->push_back(SubtreeRoot(d.subspan(k)));
  } else {
    SubProof(m - k, d.subspan(k), false, out);
    out->push_back(SubtreeRoot(d.subspan(0, k)));
  }
}

bool Lsb(uint64_t x) { return x & 1; }

}  // namespace

Hash256 MerkleLeafHash(const Hash256& leaf) { return Hasher().Digest(kLeafPrefix, leaf); }

Hash256 MerkleNodeHash(const Hash256& left, const Hash256& right) {
  return Hasher().Digest(kNodePrefix, left, right);
}

Hash256 MerkleRoot(std::span<const Hash256> leaves) { return SubtreeRoot(leaves); }

std::vector<Hash256> InclusionProof(std::span<const Hash256> leaves, uint64_t index) {
  std::vector<Hash256> path;
  Path(leaves, index, &path);
  return path;
}

bool VerifyInclusion(const Hash256& leaf, uint64_t index, uint64_t tree_size,
                     std::span<const Hash256> path, const Hash256& root) {
  if (index >= tree_size) return false;
  uint64_t fn = index, sn = tree_size - 1;
  Hash256 r = MerkleLeafHash(leaf);
  for (const Hash256& p : path) {
    if (sn == 0) return false;
    if (Lsb(fn) || fn == sn) {
      r = MerkleNodeHash(p, r);
      if (!Lsb(fn)) {
        while (!Lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

std::vector<Hash256> ConsistencyProof(std::span<const Hash256> leaves, uint64_t old_size) {
  std::vector<Hash256> path;
  if (old_size == 0 || old_size >= leaves.size()) return path;
  SubProof(old_size, leaves, true, &path);
  return path;
}

bool VerifyConsistency(uint64_t size1, uint64_t size2, const Hash256& root1, const Hash256& root2,
                       std::span<const Hash256> path) {
  if (size1 > size2) return false;
  if (size1 == size2) return path.empty() && root1 == root2;
  if (size1 == 0) return path.empty() && root1 == Sha256({});
  if (path.empty()) return false;
  // RFC 9162 §2.1.4.2.
  std::vector<Hash256> p(path.begin(), path.end());
  if ((size1 & (size1 - 1)) == 0) p.insert(p.begin(), root1);
  uint64_t fn = size1 - 1, sn = size2 - 1;
  while (Lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash256 fr = p[0], sr = p[0];
  for (size_t i = 1; i < p.size(); ++i) {
    const Hash256& c = p[i];
    if (sn == 0) return false;
    if (Lsb(fn) || fn == sn) {
      fr = MerkleNodeHash(c, fr);
      sr = MerkleNodeHash(c, sr);
      if (!Lsb(fn)) {
        while (!Lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = MerkleNodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == root1 && sr == root2 && sn == 0;
}

std::optional<MerkleFrontier> MerkleFrontier::FromLastLeaf(const Hash256& leaf, uint64_t size,
                                                           std::span<const Hash256> path,
                                                           const Hash256& root) {
  if (size == 0 || !VerifyInclusion(leaf, size - 1, size, path, root)) return std::nullopt;
  // The last leaf's siblings are all on its left: the perfect subtrees of
  // the first size - 1 leaves, smallest first, one per set bit.
  if (path.size() != static_cast<size_t>(__builtin_popcountll(size - 1))) return std::nullopt;
  MerkleFrontier f;
  f.peaks_.assign(path.rbegin(), path.rend());
  f.size_ = size - 1;
  f.Append(leaf);
  return f;
}

void MerkleFrontier::Append(const Hash256& leaf) {
  Hash256 h = MerkleLeafHash(leaf);
  // Each trailing one bit of the old size is a subtree of the new leaf's
  // size: merge with it, as a carry in binary addition.
  for (uint64_t s = size_; s & 1; s >>= 1) {
    h = MerkleNodeHash(peaks_.back(), h);
    peaks_.pop_back();
  }
  peaks_.push_back(h);
  ++size_;
}

Hash256 MerkleFrontier::Root() const {
  if (peaks_.empty()) return MerkleRoot({});
  Hash256 r = peaks_.back();
  for (size_t i = peaks_.size() - 1; i-- > 0;) r = MerkleNodeHash(peaks_[i], r);
  return r;
}

}  // namespace digm
