#include "digm/manifest.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace digm {
namespace {

// A consistent three-chunk encrypted manifest of 40000 bytes in 16 KiB chunks.
Manifest Sample() {
  Manifest m;
  m.size = 40000;
  m.chunk_size = 16384;
  m.source_name = "a.wav";
  m.media.format = "wav";
  m.media.duration = 1.5;
  m.encryption = Encryption{};
  for (uint64_t i = 0; i < 3; ++i) {
    uint64_t plain = std::min<uint64_t>(16384, 40000 - i * 16384);
    ChunkRef c{Sha256(testing::SomeBytes(8, i)), plain + 16, plain, false};
    m.chunks.push_back(c);
  }
  return m;
}

// The error from both readers, the DOM one and the streaming one, which must agree.
std::string ParseError(const Json& doc) {
  std::string dom = ManifestFromJson(doc).status().message();
  std::string streamed = ParseManifest(doc.dump()).status().message();
  EXPECT_EQ(dom, streamed);
  return dom;
}

TEST(Manifest, RoundTripsThroughJson) {
  Manifest m = Sample();
  m.root = m.ComputeRoot();
  auto back = ManifestFromJson(ManifestToJson(m));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(ManifestToJson(*back), ManifestToJson(m));
  EXPECT_EQ(back->chunks.size(), 3u);
  EXPECT_EQ(*back->media.duration, 1.5);
  EXPECT_TRUE(CheckRoot(*back).ok());
}

TEST(Manifest, ASealedStreamHasChunksOfAnySizeUpToChunkSizeAndNeverCompressed) {
  Manifest m;
  m.chunk_size = 16384;
  m.stream = Sha256(testing::SomeBytes(8, 9));
  m.encryption = Encryption{};
  for (uint64_t plain : {6000u, 5990u, 16384u, 12u}) {
    m.chunks.push_back({Sha256(testing::SomeBytes(8, plain)), plain + 16, plain, false});
    m.size += plain;
  }
  Json doc = ManifestToJson(m);
  auto back = ManifestFromJson(doc);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->stream, m.stream);
  EXPECT_TRUE(ParseManifest(doc.dump()).ok());
  Json wrong = doc;
  wrong["size"] = m.size + 1;
  EXPECT_NE(ParseError(wrong).find("the chunks hold"), std::string::npos);
  wrong = doc;
  wrong["chunks"][1]["z"] = true;
  EXPECT_NE(ParseError(wrong).find("never compressed"), std::string::npos);
  wrong = doc;
  wrong["chunks"][2]["plain"] = 16385;
  wrong["chunks"][2]["size"] = 16401;
  wrong["size"] = m.size + 1;
  EXPECT_NE(ParseError(wrong).find("1 to chunk_size"), std::string::npos);
  // Without "stream", the same chunks are not a track's.
  wrong = doc;
  wrong.erase("stream");
  EXPECT_FALSE(ManifestFromJson(wrong).ok());
}

TEST(Manifest, StreamingReaderAgreesWithTheDom) {
  Manifest m = Sample();
  m.root = m.ComputeRoot();
  std::string text = ManifestToJson(m).dump(2);
  auto streamed = ParseManifest(text);
  ASSERT_TRUE(streamed.ok()) << streamed.status().message();
  EXPECT_EQ(ManifestToJson(*streamed), ManifestToJson(m));
  std::string trailing = ParseManifest(text + " x").status().message();
  EXPECT_EQ(trailing.rfind("invalid JSON: line 40, column 3: syntax error", 0), 0u) << trailing;
  EXPECT_EQ(ParseManifest("").status().message(), "invalid JSON: empty input");
  EXPECT_EQ(ParseManifest("[]").status().message(), "expected a JSON object, got array");
}

TEST(Manifest, HostileTextIsBadInputOnBothReaders) {
  std::string text = ManifestToJson(Sample()).dump();
  // A member nested 100,000 deep (an unknown one, which both readers skip).
  std::string deep = text;
  deep.insert(1, "\"x\":" + std::string(100000, '[') + std::string(100000, ']') + ",");
  EXPECT_EQ(ParseManifest(deep).status().message(), "invalid JSON: nested deeper than 64 levels");
  // A number no double holds, in the header and in a chunk.
  for (const char* member : {"\"size\":40000", "\"plain\":16384"}) {
    std::string huge = text;
    size_t at = huge.find(member);
    ASSERT_NE(at, std::string::npos) << member;
    huge.replace(at, std::string(member).size(),
                 std::string(member).substr(0, std::string(member).find(':') + 1) + "1e400");
    auto r = ParseManifest(huge);
    EXPECT_EQ(r.status().code(), Code::kBadInput) << member;
    EXPECT_NE(r.status().message().find("number overflow"), std::string::npos)
        << r.status().message();
  }
}

TEST(Manifest, IgnoresUnknownMembers) {
  Json j = ManifestToJson(Sample());
  j["future"] = {{"x", 1}};
  j["chunks"][0]["future"] = true;
  EXPECT_TRUE(ManifestFromJson(j).ok());
}

TEST(Manifest, ParseErrorsAreExact) {
  Json base = ManifestToJson(Sample());
  auto with = [&](auto mutate) {
    Json j = base;
    mutate(j);
    return ParseError(j);
  };
  EXPECT_EQ(with([](Json& j) { j.erase("size"); }), "missing \"size\"");
  EXPECT_EQ(with([](Json& j) { j["size"] = "big"; }), "\"size\" must be an integer, got string");
  EXPECT_EQ(with([](Json& j) { j["size"] = -1; }), "\"size\" must not be negative");
  EXPECT_EQ(with([](Json& j) { j["chunk_size"] = 1000; }),
            "\"chunk_size\": 1000 is not a power of two from 16K to 16M");
  EXPECT_EQ(with([](Json& j) { j["chunks"][1]["hash"] = "abc"; }),
            "\"chunks[1].hash\": expected 64 hex characters, got 3");
  EXPECT_EQ(with([](Json& j) { j["chunks"][2]["hash"] = std::string(63, 'a') + "x"; }),
            "\"chunks[2].hash\": not a hex digit at position 63");
  EXPECT_EQ(with([](Json& j) { j["chunks"][0]["plain"] = 5; }),
            "\"chunks[0].plain\" is 5, expected 16384");
  EXPECT_EQ(with([](Json& j) { j["chunks"][0]["size"] = 16384; }),
            "\"chunks[0].size\" is 16384, expected 16400 (plain + 16-byte tag)");
  EXPECT_EQ(with([](Json& j) { j["chunks"].erase(2); }),
            "\"chunks\" has 2 entries, but size 40000 in chunks of 16384 needs 3");
  EXPECT_EQ(with([](Json& j) { j["chunks"] = 3; }), "\"chunks\" must be an array");
  EXPECT_EQ(with([](Json& j) { j["chunks"][0]["z"] = "no"; }),
            "\"chunks[0].z\" must be true or false, got string");
  EXPECT_EQ(with([](Json& j) { j.erase("encryption"); }),
            "missing \"encryption\" (null for a clear track)");
  EXPECT_EQ(with([](Json& j) { j["encryption"]["alg"] = "rot13"; }),
            "\"encryption.alg\" is \"rot13\", only \"aes-256-gcm\" is known");
  EXPECT_EQ(with([](Json& j) { j["encryption"]["nonce_prefix"] = "00"; }),
            "\"encryption.nonce_prefix\": expected 16 hex characters, got 2");
  EXPECT_EQ(with([](Json& j) { j["source"] = "x"; }),
            "\"source\" must be an object with \"sha256\"");
  EXPECT_EQ(with([](Json& j) { j["media"]["duration"] = "long"; }),
            "\"media.duration\" must be a number");
  EXPECT_EQ(with([](Json& j) { j["schema"] = "digm.manifest/9"; }),
            "digm.manifest/9 is newer than this tool reads (digm.manifest/1)");
  EXPECT_EQ(with([](Json& j) {
              j["encryption"]["preview"] = {{"chunks", 4}, {"key", std::string(64, '0')}};
            }),
            "\"encryption.preview.chunks\" is 4, but the track has 3 chunks");
}

TEST(Manifest, ClearTrackSizesEqualPlain) {
  Manifest m = Sample();
  m.encryption.reset();
  Json j = ManifestToJson(m);
  EXPECT_EQ(ParseError(j), "\"chunks[0].size\" is 16400, expected 16384");
  for (auto& c : j["chunks"]) c["size"] = c["plain"];
  EXPECT_TRUE(ManifestFromJson(j).ok());
}

TEST(Manifest, WrongRootIsAnIntegrityError) {
  Manifest m = Sample();
  Hash256 wrong{};
  m.root = wrong;
  Status s = CheckRoot(m);
  EXPECT_EQ(s.code(), Code::kIntegrity);
  EXPECT_EQ(s.message(), "root " + HexEncode(wrong) + " does not match its chunks (computed " +
                             HexEncode(m.ComputeRoot()) + ")");
}

TEST(ChunkSize, ParsesUnitsAndRejectsOthers) {
  EXPECT_EQ(*ParseChunkSize("256K"), 262144u);
  EXPECT_EQ(*ParseChunkSize("16M"), 16777216u);
  EXPECT_EQ(*ParseChunkSize("16384"), 16384u);
  for (const char* bad : {"8K", "32M", "100K", "", "K", "256Q", "-16K", "1.5M"}) {
    auto r = ParseChunkSize(bad);
    EXPECT_EQ(r.status().code(), Code::kUsage) << bad;
  }
  EXPECT_EQ(ParseChunkSize("100K").status().message(),
            "--chunk-size '100K': expected a power of two from 16K to 16M, such as 256K or 1M");
}

}  // namespace
}  // namespace digm
