// Helpers shared by the unit tests: temporary folders, vector files, bytes.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "digm/crypto.h"
#include "digm/document.h"
#include "digm/hex.h"

namespace digm::testing {

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "digm-test-XXXXXX").string();
    path_ = mkdtemp(t.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::vector<std::filesystem::path> VectorFiles(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  for (auto& e : std::filesystem::directory_iterator(std::string(DIGM_VECTORS_DIR) + "/" + dir)) {
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline Json ReadJsonFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return Json::parse(ss.str());
}

inline Bytes FromHex(const std::string& hex) { return std::move(HexDecode(hex)).value(); }

// Deterministic pseudo-random bytes (fixed seed), compressible when asked.
inline Bytes SomeBytes(size_t n, uint32_t seed, bool compressible = false) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = compressible ? static_cast<uint8_t>("digm "[i % 5]) : rng();
  return b;
}

// Leaf i of the SPEC §3 vectors: SHA-256(u8(i mod 256) ‖ u32be(i)), and the first n.
inline Hash256 VectorLeaf(uint32_t i) {
  uint8_t b[5] = {static_cast<uint8_t>(i & 0xff), static_cast<uint8_t>(i >> 24),
                  static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                  static_cast<uint8_t>(i)};
  return Sha256(b);
}

inline std::vector<Hash256> VectorLeaves(uint32_t n) {
  std::vector<Hash256> v;
  for (uint32_t i = 0; i < n; ++i) v.push_back(VectorLeaf(i));
  return v;
}

}  // namespace digm::testing
