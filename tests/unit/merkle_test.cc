#include "digm/merkle.h"

#include <gtest/gtest.h>

#include "digm/crypto.h"
#include "test_util.h"

namespace digm {
namespace {

using testing::VectorLeaf;
std::vector<Hash256> Leaves(uint32_t n) { return testing::VectorLeaves(n); }

Hash256 Parse(const Json& hex) { return *HexDecodeArray<32>(hex.get<std::string>()); }

// RFC 9162 §2.1.1 written as the RFC states it, to check the fast bottom-up one.
Hash256 ReferenceMth(std::span<const Hash256> d) {
  if (d.empty()) return Sha256({});
  if (d.size() == 1) return MerkleLeafHash(d[0]);
  size_t k = 1;
  while (k * 2 < d.size()) k *= 2;
  return MerkleNodeHash(ReferenceMth(d.first(k)), ReferenceMth(d.subspan(k)));
}

Hash256 Flip(Hash256 h, int bit) {
  h[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
  return h;
}

TEST(Merkle, SpecRootVectors) {
  int checked = 0;
  for (const auto& file : testing::VectorFiles("merkle")) {
    if (file.filename().string().rfind("root-", 0) != 0) continue;
    Json v = testing::ReadJsonFile(file);
    ASSERT_EQ(v["expect"], "ok");
    EXPECT_EQ(HexEncode(MerkleRoot(Leaves(v["n"]))), v["root"]) << file;
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

TEST(Merkle, SpecProofVector) {
  Json v = testing::ReadJsonFile(std::string(DIGM_VECTORS_DIR) + "/merkle/proof-n5-i3.json");
  auto leaves = Leaves(v["n"]);
  auto path = InclusionProof(leaves, v["index"]);
  ASSERT_EQ(path.size(), v["path"].size());
  for (size_t i = 0; i < path.size(); ++i) EXPECT_EQ(HexEncode(path[i]), v["path"][i]);
  EXPECT_TRUE(VerifyInclusion(leaves[3], 3, 5, path, Parse(v["root"])));
}

TEST(Merkle, RootMatchesTheRfcDefinition) {
  for (uint32_t n = 0; n <= 130; ++n) {
    auto leaves = Leaves(n);
    EXPECT_EQ(MerkleRoot(leaves), ReferenceMth(leaves)) << n;
  }
}

TEST(Merkle, ProofAtEveryIndexOfTreesUpTo64) {
  for (uint32_t n = 1; n <= 64; ++n) {
    auto leaves = Leaves(n);
    Hash256 root = MerkleRoot(leaves);
    for (uint32_t i = 0; i < n; ++i) {
      auto path = InclusionProof(leaves, i);
      ASSERT_TRUE(VerifyInclusion(leaves[i], i, n, path, root)) << n << "/" << i;
      // Any flipped bit anywhere makes it fail.
      for (int bit = 0; bit < 256; ++bit) {
        EXPECT_FALSE(VerifyInclusion(Flip(leaves[i], bit), i, n, path, root));
        EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, path, Flip(root, bit)));
        for (size_t p = 0; p < path.size(); ++p) {
          auto bad = path;
          bad[p] = Flip(bad[p], bit);
          EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, bad, root)) << n << "/" << i << "/" << p;
        }
      }
      // Another index, an index past the end, a longer or shorter path: all
      // fail. (Another tree size can share a path's shape; the root decides.)
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion(leaves[i], (i + 1) % n, n, path, root));
      }
      EXPECT_FALSE(VerifyInclusion(leaves[i], n, n, path, root));
      auto longer = path;
      longer.push_back(root);
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, longer, root));
      if (!path.empty()) {
        auto shorter = path;
        shorter.pop_back();
        EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, shorter, root));
      }
    }
  }
}

TEST(Merkle, ConsistencyForAllPairsUpTo32) {
  for (uint32_t n = 0; n <= 32; ++n) {
    auto leaves = Leaves(n);
    Hash256 root2 = MerkleRoot(leaves);
    for (uint32_t m = 0; m <= n; ++m) {
      Hash256 root1 = MerkleRoot(std::span(leaves).first(m));
      auto path = ConsistencyProof(leaves, m);
      ASSERT_TRUE(VerifyConsistency(m, n, root1, root2, path)) << m << "/" << n;
      for (int bit = 0; bit < 256; ++bit) {
        EXPECT_FALSE(VerifyConsistency(m, n, Flip(root1, bit), root2, path)) << m << "/" << n;
        // Every tree extends the empty one, whatever its root.
        if (m > 0) {
          EXPECT_FALSE(VerifyConsistency(m, n, root1, Flip(root2, bit), path)) << m << "/" << n;
        }
        for (size_t p = 0; p < path.size(); ++p) {
          auto bad = path;
          bad[p] = Flip(bad[p], bit);
          EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, bad)) << m << "/" << n << "/" << p;
        }
      }
      if (m > 0 && m < n) {
        EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, {}));
        EXPECT_FALSE(VerifyConsistency(m + 1, n, root1, root2, path)) << m << "/" << n;
      }
    }
    if (n > 0) {
      EXPECT_FALSE(VerifyConsistency(n, n - 1, root2, root2, {}));
    }
  }
}

TEST(Merkle, EmptyTreeRootIsHashOfNothing) {
  EXPECT_EQ(HexEncode(MerkleRoot({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace digm
