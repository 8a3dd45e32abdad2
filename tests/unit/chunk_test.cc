#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "digm/assemble.h"
#include "digm/chunk_format.h"
#include "digm/chunker.h"
#include "digm/crypto.h"
#include "digm/file.h"
#include "digm/track_key.h"
#include "test_util.h"

namespace digm {
namespace {

constexpr uint64_t kCs = 16384;

class ChunkTest : public ::testing::Test {
 protected:
  // Chunks `data` into a fresh store and returns the manifest.
  Manifest ChunkBytes(const Bytes& data, ChunkOptions o) {
    std::string in = dir_ / "input";
    EXPECT_TRUE(
        WriteOutput(in, std::string_view(reinterpret_cast<const char*>(data.data()), data.size()))
            .ok());
    int fd = open(in.c_str(), O_RDONLY);
    o.store = &store_;
    auto m = ChunkStream(fd, o);
    close(fd);
    EXPECT_TRUE(m.ok()) << m.status().message();
    return std::move(m).value();
  }

  Bytes Reassemble(const Manifest& m, const TrackKey* key) {
    std::string out = dir_ / "output";
    auto f = AtomicFile::Create(out);
    Status s = AssembleTrack(m, store_, key, f->fd());
    EXPECT_TRUE(s.ok()) << s.message();
    EXPECT_TRUE(f->Commit().ok());
    auto text = ReadWholeFile(out);
    return Bytes(text->begin(), text->end());
  }

  testing::TempDir dir_;
  ChunkStore store_ = *ChunkStore::Open(dir_ / "store", {});
};

TEST_F(ChunkTest, ClearChunksAreNamedByTheirHash) {
  Bytes data = testing::SomeBytes(3 * kCs + 5, 1);
  Manifest m = ChunkBytes(data, {.chunk_size = kCs});
  ASSERT_EQ(m.chunks.size(), 4u);
  EXPECT_EQ(m.size, data.size());
  EXPECT_EQ(m.source_sha256, Sha256(data));
  EXPECT_FALSE(m.encryption);
  for (size_t i = 0; i < 4; ++i) {
    auto stored = store_.Get(m.chunks[i].hash);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(Sha256(*stored), m.chunks[i].hash);
    EXPECT_EQ(*stored, Bytes(data.begin() + i * kCs,
                             data.begin() + std::min<size_t>((i + 1) * kCs, data.size())));
  }
  EXPECT_EQ(m.chunks[3].plain, 5u);
  EXPECT_TRUE(ManifestFromJson(ManifestToJson(m)).ok());
}

TEST_F(ChunkTest, EncryptThenDecryptEveryChunk) {
  Bytes data = testing::SomeBytes(10 * kCs + 123, 2);
  for (int threads : {1, 2, 5}) {
    TrackKey key = TrackKey::Generate();
    Manifest m = ChunkBytes(data, {.chunk_size = kCs, .key = key, .threads = threads});
    ASSERT_TRUE(m.encryption);
    EXPECT_EQ(m.encryption->key_id, key.id);
    auto opener = ChunkOpener::Create(m, &key);
    ASSERT_TRUE(opener.ok());
    for (size_t i = 0; i < m.chunks.size(); ++i) {
      Bytes stored = *store_.Get(m.chunks[i].hash);
      EXPECT_EQ(stored.size(), m.chunks[i].plain + kGcmTagSize);
      auto plain = opener->Open(i, stored);
      ASSERT_TRUE(plain.ok()) << plain.status().message();
      EXPECT_EQ(*plain, Bytes(data.begin() + i * kCs, data.begin() + i * kCs + plain->size()));
    }
    EXPECT_EQ(Reassemble(m, &key), data);
  }
}

TEST_F(ChunkTest, TwoRunsUseFreshNonces) {
  Bytes data = testing::SomeBytes(kCs, 3);
  TrackKey key = TrackKey::Generate();
  Manifest a = ChunkBytes(data, {.chunk_size = kCs, .key = key});
  Manifest b = ChunkBytes(data, {.chunk_size = kCs, .key = key});
  EXPECT_NE(a.encryption->nonce_prefix, b.encryption->nonce_prefix);
  EXPECT_NE(a.chunks[0].hash, b.chunks[0].hash);
}

// The AAD binds a chunk to its index and length: a chunk moved, truncated or
// given another length fails its tag even when its hash is made to agree.
TEST_F(ChunkTest, MovedTruncatedOrRelengthedChunksFailTheirTag) {
  Bytes data = testing::SomeBytes(4 * kCs, 4);
  TrackKey key = TrackKey::Generate();
  Manifest m = ChunkBytes(data, {.chunk_size = kCs, .key = key});
  const std::string tag_error = "authentication tag mismatch (wrong key, or the chunk was altered)";

  Manifest moved = m;
  std::swap(moved.chunks[1], moved.chunks[2]);
  auto opener = *ChunkOpener::Create(moved, &key);
  auto r = opener.Open(1, *store_.Get(moved.chunks[1].hash));
  EXPECT_EQ(r.status().code(), Code::kIntegrity);
  EXPECT_EQ(r.status().message(), "chunk 1: " + tag_error);

  Manifest truncated = m;
  Bytes cut = *store_.Get(m.chunks[3].hash);
  cut.resize(cut.size() - 100);
  truncated.chunks[3] = ChunkRef{Sha256(cut), cut.size(), cut.size() - kGcmTagSize, false};
  auto opener2 = *ChunkOpener::Create(truncated, &key);
  EXPECT_EQ(opener2.Open(3, cut).status().message(), "chunk 3: " + tag_error);

  Manifest relength = m;
  relength.chunks[0].plain -= 1;
  relength.chunks[0].size -= 1;
  auto opener3 = *ChunkOpener::Create(relength, &key);
  EXPECT_EQ(opener3.Open(0, *store_.Get(m.chunks[0].hash)).status().code(), Code::kIntegrity);

  auto opener4 = *ChunkOpener::Create(m, &key);
  Bytes flipped = *store_.Get(m.chunks[2].hash);
  flipped[10] ^= 1;
  EXPECT_EQ(opener4.Open(2, flipped).status().message(),
            "chunk 2: hash mismatch (expected " + HexEncode(m.chunks[2].hash) + ")");
}

TEST_F(ChunkTest, WrongKeyIsNamedBeforeAnyChunk) {
  Bytes data = testing::SomeBytes(kCs, 5);
  TrackKey key = TrackKey::Generate(), other = TrackKey::Generate();
  Manifest m = ChunkBytes(data, {.chunk_size = kCs, .key = key});
  auto r = ChunkOpener::Create(m, &other);
  EXPECT_EQ(r.status().code(), Code::kIntegrity);
  EXPECT_EQ(r.status().message().rfind("wrong key: the key's id is ", 0), 0u);
  // A key with a forged id still fails on the tag.
  TrackKey forged = other;
  forged.id = key.id;
  auto opener = *ChunkOpener::Create(m, &forged);
  EXPECT_EQ(opener.Open(0, *store_.Get(m.chunks[0].hash)).status().code(), Code::kIntegrity);
}

TEST_F(ChunkTest, CompressionRoundTrips) {
  Bytes data = testing::SomeBytes(3 * kCs, 6, /*compressible=*/true);
  Bytes noise = testing::SomeBytes(kCs, 7);
  data.insert(data.end(), noise.begin(), noise.end());  // one chunk that will not shrink
  for (bool encrypt : {false, true}) {
    TrackKey key = TrackKey::Generate();
    ChunkOptions o{.chunk_size = kCs, .compress = true};
    if (encrypt) o.key = key;
    Manifest m = ChunkBytes(data, o);
    EXPECT_TRUE(m.chunks[0].z);
    EXPECT_LT(m.chunks[0].size, kCs / 10);
    EXPECT_FALSE(m.chunks[3].z) << "random bytes are stored as is";
    EXPECT_EQ(m.chunks[3].size, kCs + (encrypt ? kGcmTagSize : 0));
    EXPECT_TRUE(ManifestFromJson(ManifestToJson(m)).ok());
    EXPECT_EQ(Reassemble(m, encrypt ? &key : nullptr), data);
  }
}

TEST_F(ChunkTest, EmptyInputHasNoChunks) {
  Manifest m = ChunkBytes({}, {.chunk_size = kCs, .key = TrackKey::Generate()});
  EXPECT_EQ(m.size, 0u);
  EXPECT_TRUE(m.chunks.empty());
  EXPECT_EQ(HexEncode(m.ComputeRoot()), HexEncode(Sha256({})));
}

TEST_F(ChunkTest, PreviewChunksOpenWithoutTheTrackKey) {
  Bytes data = testing::SomeBytes(8 * kCs, 8);
  TrackKey key = TrackKey::Generate();
  Manifest m = ChunkBytes(data, {.chunk_size = kCs, .key = key, .preview_chunks = 2});
  ASSERT_EQ(m.encryption->preview_chunks, 2u);
  auto opener = *ChunkOpener::Create(m, nullptr);
  EXPECT_TRUE(opener.Open(1, *store_.Get(m.chunks[1].hash)).ok());
  auto locked = opener.Open(2, *store_.Get(m.chunks[2].hash));
  EXPECT_EQ(locked.status().message(), "chunk 2 is encrypted and no track key was given");
  EXPECT_EQ(Reassemble(m, &key), data);
}

TEST_F(ChunkTest, TrimRemovesTheChunksUsedLongestAgoAndNothingElse) {
  std::vector<Hash256> hashes;
  for (int i = 0; i < 4; ++i) {
    Bytes b = testing::SomeBytes(1000, static_cast<uint32_t>(i + 1));
    hashes.push_back(Sha256(b));
    ASSERT_TRUE(store_.Put(hashes.back(), b).ok());
  }
  // Used in the order 2, 0, 3, 1 (oldest first).
  int64_t t = int64_t{1700000000} * 1000000000;
  for (int i : {2, 0, 3, 1}) ASSERT_TRUE(store_.Touch(hashes[i], t += 1000));
  EXPECT_FALSE(store_.Touch(Sha256(testing::SomeBytes(10, 99)), t));
  // A writer's temp file is none of Trim's business.
  std::string shard = store_.PathFor(hashes[0]);
  shard.resize(shard.rfind('/'));
  ASSERT_TRUE(WriteOutput(shard + "/.tmp-writer", std::string(5000, 'x')).ok());

  EXPECT_EQ(*store_.Trim(4000), 0u);
  EXPECT_EQ(*store_.Trim(2500), 2000u);
  EXPECT_FALSE(store_.Has(hashes[2]));
  EXPECT_FALSE(store_.Has(hashes[0]));
  EXPECT_TRUE(store_.Has(hashes[3]));
  EXPECT_TRUE(store_.Has(hashes[1]));
  EXPECT_EQ(access((shard + "/.tmp-writer").c_str(), F_OK), 0);
  EXPECT_EQ(*store_.Trim(0), 2000u);
  EXPECT_FALSE(store_.Has(hashes[1]));
}

TEST(Preview, ChunkCountCoversTheSeconds) {
  // 100 s in 100 chunks: 10 s is 10 chunks; anything over is all of them.
  EXPECT_EQ(PreviewChunkCount(10, 100, 100 * kCs, kCs), 10u);
  EXPECT_EQ(PreviewChunkCount(10.5, 100, 100 * kCs, kCs), 11u);
  EXPECT_EQ(PreviewChunkCount(0, 100, 100 * kCs, kCs), 0u);
  EXPECT_EQ(PreviewChunkCount(500, 100, 100 * kCs, kCs), 100u);
  EXPECT_EQ(PreviewChunkCount(0.001, 100, 100 * kCs, kCs), 1u);
}

TEST(ChunkFormat, NonceAndAadLayout) {
  NoncePrefix p = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(HexEncode(ChunkNonce(p, 0x01020304)), "010203040506070801020304");
  EXPECT_EQ(HexEncode(ChunkAad(7, 262144, true)),
            HexEncode(std::span(reinterpret_cast<const uint8_t*>("digm.chunk/1"), 12)) +
                "0000000000000007"
                "0000000000040000"
                "01");
}

// The shared chunk vectors (tests/vectors/chunk, made by an implementation
// of their own; the web player's tests read the same files): each opens to
// its plaintext as chunk `index`, or is refused, and sealing the plaintext
// again gives the same stored bytes.
TEST(ChunkVectors, OpenAndSealAsAnotherImplementationDid) {
  int checked = 0;
  for (const auto& file : testing::VectorFiles("chunk")) {
    if (file.extension() != ".json") continue;
    SCOPED_TRACE(file.filename().string());
    Json v = testing::ReadJsonFile(file);
    Bytes plain = testing::FromHex(v["plaintext"]), stored = testing::FromHex(v["stored"]);
    uint64_t index = v["index"];
    bool z = v["z"];
    ASSERT_EQ(HexEncode(Sha256(stored)), v["hash"].get<std::string>());
    Manifest m;
    m.chunks.resize(index + 1);
    m.chunks[index] = {Sha256(stored), stored.size(), plain.size(), z};
    std::optional<TrackKey> key;
    if (!v["key"].is_null()) {
      Key256 k;
      ASSERT_TRUE(HexDecodeInto(v["key"].get<std::string>(), k).ok());
      key = TrackKey::FromKey(k);
      Encryption e;
      e.key_id = key->id;
      ASSERT_TRUE(HexDecodeInto(v["nonce_prefix"].get<std::string>(), e.nonce_prefix).ok());
      m.encryption = e;
    }
    auto opener = ChunkOpener::Create(m, key ? &*key : nullptr);
    ASSERT_TRUE(opener.ok()) << opener.status().message();
    auto opened = opener->Open(index, stored);
    if (v["expect"] == "ok") {
      ASSERT_TRUE(opened.ok()) << opened.status().message();
      EXPECT_EQ(*opened, plain);
      if (key && !z) {  // sealing is deterministic under a given nonce
        Bytes again(plain.size() + kGcmTagSize);
        Aes256Gcm(key->key).Seal(ChunkNonce(m.encryption->nonce_prefix, index),
                                 ChunkAad(index, plain.size(), false), plain, again);
        EXPECT_EQ(again, stored);
      }
    } else {
      ASSERT_EQ(v["expect"], "tag-mismatch");
      EXPECT_EQ(opened.status().code(), Code::kIntegrity);
    }
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

}  // namespace
}  // namespace digm
