#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "digm/chunker.h"
#include "digm/file.h"
#include "digm/rendezvous.h"
#include "digm/seed_api.h"
#include "digm/seed_node.h"
#include "test_util.h"

namespace digm {
namespace {

TEST(Range, ParsesTheThreeForms) {
  ByteRange r;
  EXPECT_EQ(ParseRange("bytes=0-99", 1000, &r), RangeKind::kSatisfiable);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 99u);
  EXPECT_EQ(ParseRange("bytes=900-", 1000, &r), RangeKind::kSatisfiable);
  EXPECT_EQ(r.last, 999u);
  EXPECT_EQ(ParseRange("bytes=-10", 1000, &r), RangeKind::kSatisfiable);
  EXPECT_EQ(r.first, 990u);
  EXPECT_EQ(ParseRange("bytes=-5000", 1000, &r), RangeKind::kSatisfiable);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(ParseRange("bytes=500-9999", 1000, &r), RangeKind::kSatisfiable);
  EXPECT_EQ(r.last, 999u);
  EXPECT_EQ(ParseRange("bytes=1000-", 1000, &r), RangeKind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=-0", 1000, &r), RangeKind::kUnsatisfiable);
  for (const char* ignored : {"bytes=5-1", "items=0-1", "bytes=0-1,5-6", "bytes=x-1", "bytes="}) {
    EXPECT_EQ(ParseRange(ignored, 1000, &r), RangeKind::kNone) << ignored;
  }
}

TEST(Range, SlicesAcrossFiles) {
  std::vector<FileSlice> files = {{"a", 0, 10}, {"b", 0, 10}, {"c", 0, 10}};
  auto s = SliceRange(files, {5, 24});
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].offset, 5u);
  EXPECT_EQ(s[0].length, 5u);
  EXPECT_EQ(s[1].length, 10u);
  EXPECT_EQ(s[2].length, 5u);
}

TEST(ReplicaSet, OriginAndRendezvous) {
  std::vector<std::string> live = {"0x1", "0x2", "0x3", "0x4"};
  auto set = ReplicaSet("r", "0x3", live, 3);
  ASSERT_EQ(set.size(), 3u);
  EXPECT_EQ(set[0], "0x3");
  // Without a live origin: the first three by rendezvous alone.
  auto no_origin = ReplicaSet("r", "0x9", live, 3);
  auto rank = RendezvousRank("r", live);
  EXPECT_EQ(no_origin, std::vector<std::string>(rank.begin(), rank.begin() + 3));
  EXPECT_EQ(ReplicaSet("r", "0x1", {"0x1"}, 3), std::vector<std::string>{"0x1"});
}

class SeedApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(NodeStore::Open(dir_ / "node", true)).value();
    api_ = std::make_unique<SeedApi>(*store_, node_, SeedApi::Options{.url = "http://127.0.0.1:1"});
    // A clear 3-chunk track in a local chunk folder.
    data_ = testing::SomeBytes(40000, 9);
    ASSERT_TRUE(WriteOutput(dir_ / "in", std::string(data_.begin(), data_.end())).ok());
    local_ = std::make_unique<ChunkStore>(*ChunkStore::Open(dir_ / "chunks", {}));
    int fd = open((dir_ / "in").c_str(), O_RDONLY);
    manifest_ = *ChunkStream(fd, {.chunk_size = 16384, .store = local_.get()});
    close(fd);
    root_ = HexEncode(manifest_.ComputeRoot());
  }

  HttpResponse Call(const std::string& method, const std::string& target,
                    const std::string& body = "", std::map<std::string, std::string> headers = {}) {
    return api_->Handle(HttpRequest{method, target, std::move(headers), body, "127.0.0.1"});
  }

  Json Pin(const Wallet& w, uint64_t replicas = 1) {
    Json pin{{"schema", "digm.pin/1"},
             {"root", root_},
             {"desired_replicas", replicas},
             {"duration_days", 30},
             {"owner", AddressToString(w.address)},
             {"created", Rfc3339(UnixNow())}};
    SignDocument(pin, w);
    return pin;
  }

  std::string PutTrackBody(const Json& pin) {
    return DumpDocument(Json{{"manifest", ManifestToJson(manifest_)}, {"pin", pin}});
  }

  std::string Chunk(size_t i) {
    Bytes b = *local_->Get(manifest_.chunks[i].hash);
    return std::string(b.begin(), b.end());
  }

  std::string ReadSlices(const HttpResponse& r) {
    std::string out;
    for (const auto& f : r.files) {
      std::string part(f.length, '\0');
      if (f.file) {
        EXPECT_EQ(pread(f.file->fd(), part.data(), f.length, static_cast<off_t>(f.offset)),
                  static_cast<ssize_t>(f.length));
      } else {
        std::ifstream in(f.path, std::ios::binary);
        in.seekg(static_cast<std::streamoff>(f.offset));
        in.read(part.data(), static_cast<std::streamsize>(f.length));
      }
      out += part;
    }
    return out;
  }

  void Publish() {
    ASSERT_EQ(Call("PUT", "/tracks/" + root_, PutTrackBody(Pin(artist_))).status, 201);
    for (size_t i = 0; i < manifest_.chunks.size(); ++i) {
      ASSERT_EQ(Call("PUT", "/content/" + HexEncode(manifest_.chunks[i].hash), Chunk(i)).status,
                201);
    }
  }

  testing::TempDir dir_;
  Wallet node_ = Wallet::Generate(), artist_ = Wallet::Generate();
  std::unique_ptr<NodeStore> store_;
  std::unique_ptr<SeedApi> api_;
  std::unique_ptr<ChunkStore> local_;
  Bytes data_;
  Manifest manifest_;
  std::string root_;
};

TEST_F(SeedApiTest, PingHasTheDcmxShape) {
  auto r = Call("GET", "/ping");
  EXPECT_EQ(r.status, 200);
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["schema"], "digm.pong/1");
  EXPECT_EQ(j["node_id"], AddressToString(node_.address));
  EXPECT_TRUE(ParseRfc3339(j["time"]).has_value());
}

TEST_F(SeedApiTest, UploadNeedsAPinAndTheRightBytes) {
  std::string h0 = HexEncode(manifest_.chunks[0].hash);
  EXPECT_EQ(Call("PUT", "/content/" + h0, Chunk(0)).status, 403);
  ASSERT_EQ(Call("PUT", "/tracks/" + root_, PutTrackBody(Pin(artist_))).status, 201);
  EXPECT_EQ(Call("PUT", "/content/" + h0, Chunk(1)).status, 422);
  EXPECT_EQ(Call("PUT", "/content/" + h0, Chunk(0)).status, 201);
  EXPECT_TRUE(store_->HasChunk(h0));
  EXPECT_FALSE(store_->TrackComplete(root_));
}

TEST_F(SeedApiTest, ForgedOrForeignPinsAreRefused) {
  Json forged = Pin(artist_);
  forged["desired_replicas"] = 9;  // changed after signing
  EXPECT_EQ(Call("PUT", "/tracks/" + root_, PutTrackBody(forged)).status, 403);
  Json other_owner = Pin(artist_);
  other_owner["owner"] = AddressToString(Wallet::Generate().address);
  SignDocument(other_owner, artist_);
  EXPECT_EQ(Call("PUT", "/tracks/" + root_, PutTrackBody(other_owner)).status, 403);
  Json unsigned_pin = Pin(artist_);
  unsigned_pin.erase("signature");
  EXPECT_EQ(Call("PUT", "/tracks/" + root_, PutTrackBody(unsigned_pin)).status, 403);
  EXPECT_EQ(Call("PUT", "/tracks/" + std::string(64, 'a'), PutTrackBody(Pin(artist_))).status, 422);
  // An allow list keeps other publishers out.
  SeedApi strict(*store_, node_, {.allowed_publishers = {Wallet::Generate().address}});
  EXPECT_EQ(strict.Handle({"PUT", "/tracks/" + root_, {}, PutTrackBody(Pin(artist_)), ""}).status,
            403);
  EXPECT_FALSE(store_->GetPin(root_));
}

TEST_F(SeedApiTest, ServesChunksWholeRangedAndAsATrack) {
  Publish();
  std::string h1 = HexEncode(manifest_.chunks[1].hash);
  auto whole = Call("GET", "/content/" + h1);
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(ReadSlices(whole), Chunk(1));
  bool immutable = false, etag = false;
  for (const auto& [k, v] : whole.headers) {
    immutable |= k == "Cache-Control" && v.find("immutable") != std::string::npos;
    etag |= k == "ETag" && v == "\"" + h1 + "\"";
  }
  EXPECT_TRUE(immutable && etag);
  auto part = Call("GET", "/content/" + h1, "", {{"range", "bytes=10-19"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(ReadSlices(part), Chunk(1).substr(10, 10));
  auto bad = Call("GET", "/content/" + h1, "", {{"range", "bytes=99999-"}});
  EXPECT_EQ(bad.status, 416);
  auto track = Call("GET", "/content/" + root_, "", {{"range", "bytes=16000-16999"}});
  EXPECT_EQ(track.status, 206);
  EXPECT_EQ(ReadSlices(track), std::string(data_.begin() + 16000, data_.begin() + 17000));
  EXPECT_EQ(Call("GET", "/content/" + h1, "", {{"if-none-match", "\"" + h1 + "\""}}).status, 304);
  auto head = Call("HEAD", "/content/" + h1);
  EXPECT_TRUE(head.head_only);
  EXPECT_EQ(head.ContentLength(), Chunk(1).size());
}

TEST_F(SeedApiTest, BadPathsAndUnknownContent) {
  EXPECT_EQ(Call("GET", "/content/../x").status, 400);
  EXPECT_EQ(Call("GET", "/content/%2e%2e/index.db").status, 400);
  EXPECT_EQ(Call("GET", "/content/" + std::string(63, 'a')).status, 400);
  EXPECT_EQ(Call("GET", "/content/" + std::string(64, 'A')).status, 400);
  EXPECT_EQ(Call("GET", "/content/" + std::string(64, 'a')).status, 404);
  EXPECT_EQ(Call("GET", "/nothing").status, 404);
  EXPECT_EQ(Call("DELETE", "/content/" + std::string(64, 'a')).status, 405);
  EXPECT_EQ(Call("POST", "/discover", "not json").status, 400);
}

TEST_F(SeedApiTest, TracksPlaylistAndMetrics) {
  Publish();
  Json tracks = Json::parse(Call("GET", "/tracks").body);
  ASSERT_EQ(tracks.size(), 1u);
  for (const char* k : {"title", "artist", "album", "duration", "size", "content_hash",
                        "created_at", "root", "chunks"}) {
    EXPECT_TRUE(tracks[0].contains(k)) << k;
  }
  EXPECT_EQ(tracks[0]["content_hash"], root_);
  std::string m3u = Call("GET", "/tracks/" + root_ + "/playlist.m3u8").body;
  EXPECT_EQ(m3u.rfind("#EXTM3U\n", 0), 0u);
  EXPECT_NE(m3u.find("/content/" + HexEncode(manifest_.chunks[2].hash)), std::string::npos);
  EXPECT_NE(m3u.find("#EXT-X-ENDLIST"), std::string::npos);
  std::string metrics = Call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("digm_chunks_received_total 3\n"), std::string::npos);
  EXPECT_NE(metrics.find("# TYPE digm_requests_total counter"), std::string::npos);
  EXPECT_EQ(Json::parse(Call("GET", "/tracks/" + root_).body)["schema"], "digm.manifest/1");
}

TEST_F(SeedApiTest, DiscoverLearnsSignedPeersOnly) {
  Wallet peer = Wallet::Generate();
  Json record{{"schema", "digm.peer/1"},
              {"node_id", AddressToString(peer.address)},
              {"url", "http://127.0.0.1:2"},
              {"address", AddressToString(peer.address)},
              {"public", HexEncode(peer.public_key)},
              {"seen", Rfc3339(UnixNow())}};
  Json forged = record;
  SignDocument(forged, peer);
  forged["url"] = "http://evil.example:1";
  auto reply = Json::parse(Call("POST", "/discover", DumpDocument(Json{{"peer", forged}})).body);
  EXPECT_TRUE(reply["peers"].empty());
  EXPECT_TRUE(reply["peer"].contains("available_tracks"));
  Json unsigned_record = record;
  Call("POST", "/discover", DumpDocument(Json{{"peer", unsigned_record}}));
  EXPECT_TRUE(Json::parse(Call("GET", "/peers").body).empty());
  SignDocument(record, peer);
  record["available_tracks"] = Json::array({root_});
  reply = Json::parse(Call("POST", "/discover", DumpDocument(Json{{"peer", record}})).body);
  ASSERT_EQ(reply["peers"].size(), 1u);
  EXPECT_EQ(reply["peers"][0]["url"], "http://127.0.0.1:2");
  EXPECT_EQ(store_->ListPeers(0)[0].roots, std::vector<std::string>{root_});
  // The node's own record verifies.
  EXPECT_EQ(AddressToString(*VerifyDocument(api_->SelfRecord())), AddressToString(node_.address));
}

TEST_F(SeedApiTest, AuditAnswersWithASignedDigest) {
  Publish();
  Json challenge{{"schema", "digm.challenge/1"},  {"root", root_}, {"chunk", 1},
                 {"nonce", std::string(32, '7')}, {"offset", 100}, {"length", 64}};
  auto r = Call("POST", "/audit", DumpDocument(challenge));
  ASSERT_EQ(r.status, 200);
  Json response = Json::parse(r.body);
  std::string bytes = Chunk(1).substr(100, 64);
  Bytes nonce = testing::FromHex(std::string(32, '7'));
  Sha256Hasher h;
  EXPECT_EQ(
      response["digest"],
      HexEncode(h.Digest(nonce, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), 64))));
  EXPECT_EQ(AddressToString(*VerifyDocument(response)), AddressToString(node_.address));
  challenge["length"] = 5000;
  EXPECT_EQ(Call("POST", "/audit", DumpDocument(challenge)).status, 400);
}

TEST_F(SeedApiTest, FsckFindsAndRepairsDamage) {
  Publish();
  auto clean = store_->Fsck(false);
  ASSERT_TRUE(clean.ok());
  EXPECT_TRUE(clean->clean());
  EXPECT_EQ(clean->checked, 3u);
  std::string path0 = store_->chunks().PathFor(manifest_.chunks[0].hash);
  { std::ofstream(path0, std::ios::binary | std::ios::app) << "x"; }            // corrupt
  std::filesystem::remove(store_->chunks().PathFor(manifest_.chunks[1].hash));  // missing
  {
    std::ofstream(store_->chunks().PathFor(manifest_.chunks[2].hash) + ".tmp-123") << "half";
  }  // interrupted write
  auto damaged = store_->Fsck(false);
  EXPECT_FALSE(damaged->clean());
  EXPECT_EQ(damaged->corrupt.size(), 1u);
  EXPECT_EQ(damaged->missing.size(), 2u);  // the corrupt one and the removed one
  EXPECT_EQ(damaged->temp_files, 1u);
  auto repaired = store_->Fsck(true);
  EXPECT_TRUE(repaired->repaired);
  EXPECT_TRUE(store_->Fsck(false)->clean());
  EXPECT_FALSE(store_->TrackComplete(root_));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "node/quarantine"));
  EXPECT_EQ(Call("GET", "/content/" + HexEncode(manifest_.chunks[0].hash)).status, 404);
}

}  // namespace
}  // namespace digm

namespace digm {
namespace {

TEST(Clock, Rfc3339RoundTripsInUtcOnly) {
  EXPECT_EQ(Rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(*ParseRfc3339("2026-11-22T10:00:00Z"), 1795341600);
  EXPECT_EQ(*ParseRfc3339("2026-11-22T10:00:00.250Z"), 1795341600);
  EXPECT_EQ(Rfc3339(1795341600), "2026-11-22T10:00:00Z");
  EXPECT_FALSE(ParseRfc3339("2026-11-22T10:00:00+01:00"));
  EXPECT_FALSE(ParseRfc3339("yesterday"));
}

}  // namespace
}  // namespace digm
