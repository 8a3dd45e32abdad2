#include "digm/proof.h"

#include "digm/merkle.h"

namespace digm {
namespace {

std::vector<Hash256> Leaves(const Manifest& m, size_t count) {
  std::vector<Hash256> leaves;
  leaves.reserve(count);
  for (size_t i = 0; i < count; ++i) leaves.push_back(m.chunks[i].hash);
  return leaves;
}

Json PathToJson(const std::vector<Hash256>& path) {
  Json j = Json::array();
  for (const Hash256& h : path) j.push_back(HexEncode(h));
  return j;
}

Status GetHash(const Json& doc, const char* key, Hash256* out) {
  DIGM_ASSIGN_OR_RETURN(std::string hex, GetString(doc, key, key));
  return HexDecodeInto(hex, *out).Context(std::string("\"") + key + "\"");
}

Result<std::vector<Hash256>> PathFromJson(const Json& doc) {
  auto it = doc.find("path");
  if (it == doc.end()) return Status::BadInput("missing \"path\"");
  if (!it->is_array()) return Status::BadInput("\"path\" must be an array");
  if (it->size() > 64) return Status::BadInput("\"path\" has more than 64 entries");
  std::vector<Hash256> path(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& h = (*it)[i];
    std::string at = "\"path[" + std::to_string(i) + "]\"";
    if (!h.is_string()) return Status::BadInput(at + " must be a string");
    DIGM_RETURN_IF_ERROR(HexDecodeInto(h.get<std::string>(), path[i]).Context(at));
  }
  return path;
}

}  // namespace

Result<InclusionProofDoc> ProveInclusion(const Manifest& m, uint64_t index) {
  if (index >= m.chunks.size()) {
    return Status::Usage("--index " + std::to_string(index) + " is out of range: the track has " +
                         std::to_string(m.chunks.size()) + " chunks");
  }
  auto leaves = Leaves(m, m.chunks.size());
  return InclusionProofDoc{MerkleRoot(leaves), leaves.size(), index, leaves[index],
                           InclusionProof(leaves, index)};
}

bool VerifyProof(const InclusionProofDoc& p) {
  return VerifyInclusion(p.leaf, p.index, p.tree_size, p.path, p.root);
}

Json ProofToJson(const InclusionProofDoc& p) {
  return Json{{"schema", "digm.proof/1"},  {"root", HexEncode(p.root)},
              {"tree_size", p.tree_size},  {"index", p.index},
              {"leaf", HexEncode(p.leaf)}, {"path", PathToJson(p.path)}};
}

Result<InclusionProofDoc> ProofFromJson(const Json& doc) {
  DIGM_RETURN_IF_ERROR(CheckSchema(doc, "proof", 1));
  InclusionProofDoc p;
  DIGM_RETURN_IF_ERROR(GetHash(doc, "root", &p.root));
  DIGM_ASSIGN_OR_RETURN(p.tree_size, GetUint(doc, "tree_size", "tree_size"));
  DIGM_ASSIGN_OR_RETURN(p.index, GetUint(doc, "index", "index"));
  DIGM_RETURN_IF_ERROR(GetHash(doc, "leaf", &p.leaf));
  DIGM_ASSIGN_OR_RETURN(p.path, PathFromJson(doc));
  return p;
}

Result<ConsistencyProofDoc> ProveConsistency(const Manifest& older, const Manifest& newer) {
  size_t m = older.chunks.size(), n = newer.chunks.size();
  if (m > n) {
    return Status::No("the old track has " + std::to_string(m) + " chunks, the new one only " +
                      std::to_string(n));
  }
  for (size_t i = 0; i < m; ++i) {
    if (older.chunks[i].hash != newer.chunks[i].hash) {
      return Status::No("the new track does not extend the old one: chunk " + std::to_string(i) +
                        " differs");
    }
  }
  auto leaves = Leaves(newer, n);
  return ConsistencyProofDoc{m, n, MerkleRoot(std::span(leaves).first(m)), MerkleRoot(leaves),
                             ConsistencyProof(leaves, m)};
}

bool VerifyProof(const ConsistencyProofDoc& p) {
  return VerifyConsistency(p.size1, p.size2, p.root1, p.root2, p.path);
}

Json ProofToJson(const ConsistencyProofDoc& p) {
  return Json{{"schema", "digm.consistency/1"}, {"size1", p.size1},
              {"root1", HexEncode(p.root1)},    {"size2", p.size2},
              {"root2", HexEncode(p.root2)},    {"path", PathToJson(p.path)}};
}

Result<ConsistencyProofDoc> ConsistencyProofFromJson(const Json& doc) {
  DIGM_RETURN_IF_ERROR(CheckSchema(doc, "consistency", 1));
  ConsistencyProofDoc p;
  DIGM_ASSIGN_OR_RETURN(p.size1, GetUint(doc, "size1", "size1"));
  DIGM_RETURN_IF_ERROR(GetHash(doc, "root1", &p.root1));
  DIGM_ASSIGN_OR_RETURN(p.size2, GetUint(doc, "size2", "size2"));
  DIGM_RETURN_IF_ERROR(GetHash(doc, "root2", &p.root2));
  DIGM_ASSIGN_OR_RETURN(p.path, PathFromJson(doc));
  return p;
}

}  // namespace digm
