#include <SQLiteCpp/Database.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "digm/chunker.h"
#include "digm/file.h"
#include "digm/http_client.h"
#include "digm/node_client.h"
#include "digm/peer_record.h"
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

TEST(Conditional, IfNoneMatchTakesListsWeakTagsAndStar) {
  const std::string etag = "\"abc\"";
  EXPECT_TRUE(IfNoneMatchHits("\"abc\"", etag));
  EXPECT_TRUE(IfNoneMatchHits("\"x\", \"abc\"", etag));
  EXPECT_TRUE(IfNoneMatchHits("W/\"abc\"", etag));
  EXPECT_TRUE(IfNoneMatchHits(" * ", etag));
  EXPECT_FALSE(IfNoneMatchHits("\"x\", W/\"y\"", etag));
  EXPECT_FALSE(IfNoneMatchHits("abc", etag));
  EXPECT_FALSE(IfNoneMatchHits("", etag));
}

TEST(Conditional, IfRangeNeedsTheSameStrongTag) {
  const std::string etag = "\"abc\"";
  EXPECT_TRUE(IfRangeHolds("\"abc\"", etag));
  EXPECT_FALSE(IfRangeHolds("W/\"abc\"", etag));
  EXPECT_FALSE(IfRangeHolds("\"abd\"", etag));
  EXPECT_FALSE(IfRangeHolds("Sat, 29 Oct 1994 19:43:31 GMT", etag));
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

TEST(SeedApiClock, AFixedClockDatesTheNodesRecordAndJudgesOthers) {
  testing::TempDir dir;
  const int64_t now = 1767225600;  // 2026-01-01T00:00:00Z
  Clock clock = [&] { return now; };
  auto store = std::move(NodeStore::Open(dir / "node", true, clock)).value();
  Wallet node = Wallet::Generate(), peer = Wallet::Generate();
  SeedApi api(*store, node, SeedApi::Options{.url = "http://127.0.0.1:1", .clock = clock});
  EXPECT_EQ(StringOr(api.SelfRecord(), "seen"), "2026-01-01T00:00:00Z");
  auto rejected = [&] {
    std::string text = api.Handle(HttpRequest{"GET", "/metrics", {}, "", "127.0.0.1"}).body;
    const std::string key = "\ndigm_rejected_records_total ";
    size_t at = text.find(key);
    return at == std::string::npos ? -1 : std::atoi(text.c_str() + at + key.size());
  };
  // Ten minutes old by this node's clock: stale news, dropped without blame.
  EXPECT_FALSE(api.LearnPeer(MakePeerRecord(peer, "http://127.0.0.1:2", now - 600)));
  EXPECT_EQ(rejected(), 0);
  // An hour ahead of it: refused as a record that would never go stale.
  EXPECT_FALSE(api.LearnPeer(MakePeerRecord(peer, "http://127.0.0.1:2", now + 3600)));
  EXPECT_EQ(rejected(), 1);
}

class SeedApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(NodeStore::Open(dir_ / "node", true)).value();
    api_ = std::make_unique<SeedApi>(
        *store_, node_, SeedApi::Options{.url = "http://127.0.0.1:1", .prove = Prover()});
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

  // Proves the keys the test put in proven_, as the nodes at those URLs would.
  std::function<Result<Address>(const std::string&)> Prover() {
    return [this](const std::string& url) -> Result<Address> {
      auto it = proven_.find(url);
      if (it == proven_.end()) return Status::Network(url + ": refused");
      return it->second;
    };
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
  std::map<std::string, Address> proven_;  // url -> the key the node there holds
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

TEST_F(SeedApiTest, RoomIsCountedInTheChunksATrackStillNeeds) {
  uint64_t all = 0;
  for (const auto& c : manifest_.chunks) all += c.size;
  EXPECT_EQ(store_->MissingBytes(manifest_), all);
  ASSERT_EQ(Call("PUT", "/tracks/" + root_, PutTrackBody(Pin(artist_))).status, 201);
  ASSERT_EQ(Call("PUT", "/content/" + HexEncode(manifest_.chunks[0].hash), Chunk(0)).status, 201);
  EXPECT_EQ(store_->MissingBytes(manifest_), all - manifest_.chunks[0].size);
  // A chunk listed twice is needed once.
  Manifest twice = manifest_;
  twice.chunks.push_back(twice.chunks[1]);
  EXPECT_EQ(store_->MissingBytes(twice), all - manifest_.chunks[0].size);

  auto free = store_->FreeBytes();
  ASSERT_TRUE(free.has_value());
  EXPECT_EQ(store_->NoRoomFor(0).has_value(), *free < NodeStore::kReserveBytes);
  auto full = store_->NoRoomFor(*free);  // all of it: none left for the reserve
  ASSERT_TRUE(full.has_value());
  EXPECT_NE(full->find("disk is full"), std::string::npos) << *full;
  // An upload is refused on its headers when its declared length does not
  // fit; a chunk held already takes no room.
  auto upload = [&](size_t i, uint64_t length) {
    return api_->Admit(HttpRequest{"PUT",
                                   "/content/" + HexEncode(manifest_.chunks[i].hash),
                                   {{"content-length", std::to_string(length)}},
                                   "",
                                   "127.0.0.1"});
  };
  auto refused = upload(1, *free);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 507);
  EXPECT_FALSE(upload(0, *free).has_value());
  EXPECT_NE(Call("GET", "/metrics").body.find("\ndigm_store_free_bytes "), std::string::npos);
}

TEST_F(SeedApiTest, TheStoreLimitCountsWhatEveryProcessStoresAndRemoves) {
  ASSERT_EQ(manifest_.chunks.size(), 3u);
  uint64_t size[3];
  for (size_t i = 0; i < 3; ++i) size[i] = manifest_.chunks[i].size;
  auto upload = [&](size_t i) {
    return Call("PUT", "/content/" + HexEncode(manifest_.chunks[i].hash), Chunk(i));
  };
  EXPECT_EQ(store_->StoredBytes(), 0u);
  // A track that does not fit under the limit is refused before its pin is kept.
  store_->LimitBytes(size[0] + size[1]);
  auto refused = Call("PUT", "/tracks/" + root_, PutTrackBody(Pin(artist_)));
  EXPECT_EQ(refused.status, 507);
  EXPECT_NE(refused.body.find("store is full"), std::string::npos) << refused.body;
  EXPECT_TRUE(store_->ListPins(UnixNow()).empty());
  store_->LimitBytes(0);
  ASSERT_EQ(Call("PUT", "/tracks/" + root_, PutTrackBody(Pin(artist_))).status, 201);
  store_->LimitBytes(size[0] + size[1]);
  ASSERT_EQ(upload(0).status, 201);
  ASSERT_EQ(upload(0).status, 201);  // held already: counted once
  EXPECT_EQ(store_->StoredBytes(), size[0]);
  ASSERT_EQ(upload(1).status, 201);  // exactly fits
  auto over = upload(2);
  EXPECT_EQ(over.status, 507);
  EXPECT_NE(over.body.find("--max-storage"), std::string::npos) << over.body;
  EXPECT_EQ(store_->StoredBytes(), size[0] + size[1]);
  std::string metrics = Call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("\ndigm_store_bytes " + std::to_string(size[0] + size[1]) + "\n"),
            std::string::npos);
  EXPECT_NE(metrics.find("\ndigm_store_max_bytes " + std::to_string(size[0] + size[1]) + "\n"),
            std::string::npos);

  // An index made before the count: it is counted when first opened.
  {
    SQLite::Database db(dir_ / "node/index.db", SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER chunk_stored; DROP TRIGGER chunk_forgotten; DROP TABLE stored");
  }
  auto reopened = NodeStore::Open(dir_ / "node", false);
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  EXPECT_EQ((*reopened)->StoredBytes(), size[0] + size[1]);
  EXPECT_EQ(store_->StoredBytes(), size[0] + size[1]);
  // Another process removing the track (rm, or gc from cron) frees its room
  // for the node at once.
  // fsck --repair makes a count edited by hand agree with the index again.
  {
    SQLite::Database db(dir_ / "node/index.db", SQLite::OPEN_READWRITE);
    db.exec("UPDATE stored SET bytes = 7");
  }
  EXPECT_EQ(store_->StoredBytes(), 7u);
  ASSERT_TRUE(store_->Fsck(false).ok());
  EXPECT_EQ(store_->StoredBytes(), 7u);
  ASSERT_TRUE(store_->Fsck(true).ok());
  EXPECT_EQ(store_->StoredBytes(), size[0] + size[1]);
  ASSERT_TRUE((*reopened)->RemoveTrack(root_).ok());
  EXPECT_EQ(store_->StoredBytes(), 0u);
  EXPECT_FALSE(store_->NoRoomFor(size[0] + size[1]).has_value());
  EXPECT_TRUE(store_->NoRoomFor(size[0] + size[1] + 1).has_value());
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
  EXPECT_TRUE(store_->ListPins(UnixNow()).empty());
}

TEST_F(SeedApiTest, OnlyAValidCurrentPinAuthorisesAndPinsAccumulatePerOwner) {
  auto pin_with = [&](const Wallet& w, uint64_t replicas, int64_t created, int64_t days) {
    Json pin{{"schema", "digm.pin/1"},
             {"root", root_},
             {"desired_replicas", replicas},
             {"duration_days", days},
             {"owner", AddressToString(w.address)},
             {"created", Rfc3339(created)}};
    SignDocument(pin, w);
    return pin;
  };
  int64_t now = UnixNow();
  auto put = [&](const Json& pin) {
    return Call("PUT", "/tracks/" + root_, PutTrackBody(pin)).status;
  };
  EXPECT_EQ(put(pin_with(artist_, 3, now - 40 * 86400, 30)), 400);  // expired
  EXPECT_EQ(put(pin_with(artist_, 3, now, 0)), 400);                // zero days
  EXPECT_EQ(put(pin_with(artist_, 3, now + 86400, 30)), 400);       // dated tomorrow
  EXPECT_TRUE(store_->ListPins(now).empty());
  EXPECT_EQ(put(pin_with(artist_, 3, now, 30)), 201);
  // A stranger's pin stands beside the artist's; it replaces nothing.
  Wallet stranger = Wallet::Generate();
  EXPECT_EQ(put(pin_with(stranger, 1, now, 1)), 201);
  auto pins = store_->ListPins(now);
  ASSERT_EQ(pins.size(), 2u);
  std::set<std::string> owners{pins[0].owner, pins[1].owner};
  EXPECT_TRUE(owners.count(AddressToString(artist_.address)));
  for (const auto& p : pins) {
    if (p.owner == AddressToString(artist_.address)) {
      EXPECT_EQ(p.pin["desired_replicas"], 3);
    }
  }
  // An unsigned "origin" beside the pin is not taken: only the pin's own.
  Json body = Json::parse(PutTrackBody(pin_with(artist_, 3, now, 30)));
  body["origin"] = AddressToString(stranger.address);
  EXPECT_EQ(Call("PUT", "/tracks/" + root_, DumpDocument(body)).status, 201);
  for (const auto& p : store_->ListPins(now))
    EXPECT_NE(p.origin, AddressToString(stranger.address));
  // The chunks are covered while a pin lives, and not once every pin expired.
  std::string h = HexEncode(manifest_.chunks[0].hash);
  EXPECT_TRUE(store_->ChunkIsPinned(h));
  EXPECT_EQ(store_->ListPins(now + 31 * 86400).size(), 0u);
  auto gone = store_->CollectGarbage(now + 31 * 86400);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->tracks, std::vector<std::string>{root_});
  EXPECT_FALSE(store_->ChunkIsPinned(h));
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
  // Not audio HLS can carry: 409, naming what plays it instead.
  auto refused = Call("GET", "/tracks/" + root_ + "/playlist.m3u8");
  EXPECT_EQ(refused.status, 409);
  EXPECT_NE(Json::parse(refused.body)["alternative"].get<std::string>().find("digm-fetch"),
            std::string::npos);
  std::string metrics = Call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("digm_chunks_received_total 3\n"), std::string::npos);
  EXPECT_NE(metrics.find("# TYPE digm_requests_total counter"), std::string::npos);
  EXPECT_EQ(Json::parse(Call("GET", "/tracks/" + root_).body)["schema"], "digm.manifest/1");
}

TEST_F(SeedApiTest, HlsSegmentsCarryTheirFormatsExtension) {
  manifest_.media.format = "mp3";  // the root covers the chunks only
  manifest_.media.mime = "audio/mpeg";
  Publish();
  std::string m3u = Call("GET", "/tracks/" + root_ + "/playlist.m3u8").body;
  EXPECT_EQ(m3u.rfind("#EXTM3U\n", 0), 0u);
  std::string h2 = HexEncode(manifest_.chunks[2].hash);
  EXPECT_NE(m3u.find("/content/" + h2 + ".mp3\n"), std::string::npos);
  EXPECT_NE(m3u.find("#EXT-X-ENDLIST"), std::string::npos);
  auto segment = Call("GET", "/content/" + h2 + ".mp3");
  EXPECT_EQ(segment.status, 200);
  EXPECT_EQ(ReadSlices(segment), Chunk(2));
  std::map<std::string, std::string> h(segment.headers.begin(), segment.headers.end());
  EXPECT_EQ(h["Content-Type"], "audio/mpeg");
  EXPECT_EQ(Call("GET", "/content/" + h2 + ".exe").status, 404);
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
  // Learned once the node at the URL proves the key, not before.
  reply = Json::parse(Call("POST", "/discover", DumpDocument(Json{{"peer", record}})).body);
  EXPECT_TRUE(reply["peers"].empty());
  EXPECT_EQ(api_->ProvePending(10), 0u);  // nobody answers at that URL yet
  Call("POST", "/discover", DumpDocument(Json{{"peer", record}}));
  proven_["http://127.0.0.1:2"] = peer.address;
  EXPECT_EQ(api_->ProvePending(10), 1u);
  reply = Json::parse(Call("POST", "/discover", DumpDocument(Json{{"peer", record}})).body);
  ASSERT_EQ(reply["peers"].size(), 1u);
  EXPECT_EQ(reply["peers"][0]["url"], "http://127.0.0.1:2");
  EXPECT_EQ(store_->ListPeers(0)[0].roots, std::vector<std::string>{root_});
  // The node's own record verifies.
  EXPECT_EQ(AddressToString(*VerifyDocument(api_->SelfRecord())), AddressToString(node_.address));
}

TEST_F(SeedApiTest, UploadsNoPinCoversAreRefusedOnTheHeaders) {
  std::string target = "/content/" + HexEncode(manifest_.chunks[0].hash);
  auto refused = api_->Admit(HttpRequest{"PUT", target, {}, "", "127.0.0.1"});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_FALSE(api_->Admit(HttpRequest{"GET", target, {}, "", "127.0.0.1"}));
  EXPECT_FALSE(api_->Admit(HttpRequest{"PUT", "/tracks/" + root_, {}, "", "127.0.0.1"}));
  ASSERT_EQ(Call("PUT", "/tracks/" + root_, PutTrackBody(Pin(artist_))).status, 201);
  EXPECT_FALSE(api_->Admit(HttpRequest{"PUT", target, {}, "", "127.0.0.1"}));
}

TEST_F(SeedApiTest, BrowsersGetCorsHeadersAndPreflights) {
  Publish();
  auto pre = Call("OPTIONS", "/content/" + root_);
  EXPECT_EQ(pre.status, 204);
  std::map<std::string, std::string> h(pre.headers.begin(), pre.headers.end());
  EXPECT_EQ(h["Access-Control-Allow-Origin"], "*");
  EXPECT_NE(h["Access-Control-Allow-Headers"].find("Range"), std::string::npos);
  EXPECT_NE(h["Access-Control-Allow-Methods"].find("GET"), std::string::npos);
  for (const char* target : {"/tracks", "/nothing"}) {
    auto r = Call("GET", target);
    std::map<std::string, std::string> g(r.headers.begin(), r.headers.end());
    EXPECT_EQ(g["Access-Control-Allow-Origin"], "*") << target;
  }
  auto r = Call("GET", "/content/" + root_);
  std::map<std::string, std::string> g(r.headers.begin(), r.headers.end());
  EXPECT_NE(g["Access-Control-Expose-Headers"].find("Content-Range"), std::string::npos);
  EXPECT_NE(g["Access-Control-Expose-Headers"].find("ETag"), std::string::npos);
}

TEST_F(SeedApiTest, ConditionalRequestsFollowRfc9110) {
  Publish();
  std::string h1 = HexEncode(manifest_.chunks[1].hash), etag = "\"" + h1 + "\"";
  std::string target = "/content/" + h1;
  EXPECT_EQ(Call("GET", target, "", {{"if-none-match", "\"x\", " + etag}}).status, 304);
  EXPECT_EQ(Call("GET", target, "", {{"if-none-match", "W/" + etag}}).status, 304);
  EXPECT_EQ(Call("GET", target, "", {{"if-none-match", "*"}}).status, 304);
  EXPECT_EQ(Call("GET", target, "", {{"if-none-match", "\"x\""}}).status, 200);
  auto same = Call("GET", target, "", {{"range", "bytes=0-9"}, {"if-range", etag}});
  EXPECT_EQ(same.status, 206);
  auto other = Call("GET", target, "", {{"range", "bytes=0-9"}, {"if-range", "\"other\""}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(ReadSlices(other), Chunk(1));
}

TEST_F(SeedApiTest, HostileJsonBodiesAreRefusedNotFatal) {
  std::string deep = "{\"peer\":" + std::string(200000, '[') + "}";
  EXPECT_EQ(Call("POST", "/discover", deep).status, 400);
  EXPECT_EQ(Call("PUT", "/tracks/" + root_, "{\"manifest\":" + std::string(200000, '{')).status,
            400);
  EXPECT_EQ(Call("POST", "/discover", R"({"peer":{"seen":1e400}})").status, 400);
  EXPECT_EQ(Call("POST", "/audit", R"({"schema":"digm.challenge/1","offset":1e400})").status, 400);
}

TEST_F(SeedApiTest, AChunkMovedBehindTheNodeIsNotServed) {
  Publish();
  std::string h = HexEncode(manifest_.chunks[1].hash);
  ASSERT_EQ(Call("GET", "/content/" + h).status, 200);  // now open and cached
  std::string path = store_->chunks().PathFor(manifest_.chunks[1].hash);
  ASSERT_EQ(rename(path.c_str(), (dir_ / "quarantined").c_str()), 0);  // as fsck --repair does
  std::this_thread::sleep_for(SeedApi::kRecheck + std::chrono::milliseconds(100));
  EXPECT_EQ(Call("GET", "/content/" + h).status, 404);
}

TEST_F(SeedApiTest, APeerIsLearnedOnlyWhereItProvesItsKey) {
  Wallet honest = Wallet::Generate(), mallory = Wallet::Generate();
  proven_["http://127.0.0.1:7"] = honest.address;
  // Mallory signs a record claiming the honest node's URL: the node there
  // proves another key, so nothing is learned.
  EXPECT_FALSE(api_->LearnPeer(MakePeerRecord(mallory, "http://127.0.0.1:7", UnixNow())));
  EXPECT_EQ(api_->ProvePending(10), 0u);
  EXPECT_TRUE(store_->ListPeers(0).empty());
  // Addresses no node lives at are refused outright, queued for nothing.
  for (const char* url : {"http://169.254.169.254/latest", "http://0.0.0.0:7070", "http://[::]:1",
                          "http://[fe80::1]:80", "http://224.0.0.1:1", "ftp://127.0.0.1:7"}) {
    EXPECT_FALSE(api_->LearnPeer(MakePeerRecord(mallory, url, UnixNow()))) << url;
  }
  EXPECT_EQ(api_->PendingPeers(), 0u);
  EXPECT_FALSE(api_->LearnPeer(MakePeerRecord(honest, "http://127.0.0.1:7", UnixNow())));
  EXPECT_EQ(api_->ProvePending(10), 1u);
  EXPECT_TRUE(
      api_->LearnPeer(MakePeerRecord(honest, "http://127.0.0.1:7", UnixNow())));  // known: at once
}

TEST(RefusalText, TheNodesJsonErrorOrTheStartOfItsBodyTrimmed) {
  HttpResult r;
  r.status = 507;
  r.body = R"({"error":"this node's disk is full"})"
           "\n";
  EXPECT_EQ(RefusalText(r), "this node's disk is full");
  r.body = "Service Unavailable\r\n";
  EXPECT_EQ(RefusalText(r), "Service Unavailable");
  r.body = std::string(5000, 'x');
  EXPECT_EQ(RefusalText(r), std::string(300, 'x') + "...");
  r.body = R"({"no":"error field"})";
  EXPECT_EQ(RefusalText(r), r.body);
  r.body = "";
  EXPECT_EQ(RefusalText(r), "");
}

TEST(PeerPolicy, ScopesOfAddresses) {
  EXPECT_EQ(ScopeOfUrl("http://127.0.0.1:1"), HostScope::kLoopback);
  EXPECT_EQ(ScopeOfUrl("http://[::1]:1"), HostScope::kLoopback);
  EXPECT_EQ(ScopeOfUrl("http://localhost:1"), HostScope::kLoopback);
  EXPECT_EQ(ScopeOfUrl("http://10.1.2.3"), HostScope::kPrivate);
  EXPECT_EQ(ScopeOfUrl("http://172.20.0.1"), HostScope::kPrivate);
  EXPECT_EQ(ScopeOfUrl("http://192.168.1.1:80/x"), HostScope::kPrivate);
  EXPECT_EQ(ScopeOfUrl("http://[fd00::1]:1"), HostScope::kPrivate);
  EXPECT_EQ(ScopeOfUrl("https://node.example:443"), HostScope::kPublic);
  EXPECT_EQ(ScopeOfUrl("http://8.8.8.8"), HostScope::kPublic);
  EXPECT_EQ(ScopeOfUrl("http://[::ffff:169.254.169.254]"), HostScope::kNever);
  EXPECT_EQ(ScopeOfUrl("http://255.255.255.255"), HostScope::kNever);
  EXPECT_EQ(ScopeOfUrl("gopher://8.8.8.8"), HostScope::kNever);
  // A public node learns public peers only; a loopback mesh learns any.
  EXPECT_FALSE(PeerUrlAllowed("http://10.0.0.1:1", "http://203.0.113.5:7070"));
  EXPECT_FALSE(PeerUrlAllowed("http://127.0.0.1:1", "http://203.0.113.5:7070"));
  EXPECT_TRUE(PeerUrlAllowed("http://198.51.100.7:1", "http://203.0.113.5:7070"));
  EXPECT_TRUE(PeerUrlAllowed("http://10.0.0.1:1", "http://10.0.0.2:1"));
  EXPECT_TRUE(PeerUrlAllowed("http://127.0.0.1:9", "http://127.0.0.1:1"));
  EXPECT_FALSE(PeerUrlAllowed("http://169.254.169.254", "http://127.0.0.1:1"));
}

TEST_F(SeedApiTest, ThePeerTableIsBoundedAndRefusesTheFuture) {
  std::map<std::string, Address> keys;  // each record's key, proven at its URL
  SeedApi api(*store_, node_,
              SeedApi::Options{.url = "http://127.0.0.1:1",
                               .max_peers = 6,
                               .max_peers_per_host = 3,
                               .max_peers_listed = 4,
                               .prove = [&keys](const std::string& url) -> Result<Address> {
                                 auto it = keys.find(url);
                                 if (it == keys.end()) return Status::Network("refused");
                                 return it->second;
                               }});
  auto learn = [&](const Wallet& w, const std::string& url, int64_t seen) {
    keys[url] = w.address;
    api.LearnPeer(MakePeerRecord(w, url, seen));
    api.ProvePending(100);
    for (const auto& p : store_->ListPeers(0)) {
      if (p.node_id == AddressToString(w.address) && p.url == url) return true;
    }
    return false;
  };
  int64_t now = UnixNow();
  // A record dated in 2100 would never go stale: refused.
  EXPECT_FALSE(learn(Wallet::Generate(), "http://10.0.0.1:1", 4102444800));
  EXPECT_TRUE(learn(Wallet::Generate(), "http://10.0.0.1:1", now - 100));
  // One host gets three places, however many keys it signs with.
  Wallet again = Wallet::Generate();
  EXPECT_TRUE(learn(again, "http://10.0.0.2:1", now));
  EXPECT_TRUE(learn(Wallet::Generate(), "http://10.0.0.2:2", now));
  EXPECT_TRUE(learn(Wallet::Generate(), "http://10.0.0.2:3", now));
  EXPECT_FALSE(learn(Wallet::Generate(), "http://10.0.0.2:4", now));
  EXPECT_TRUE(learn(again, "http://10.0.0.2:1", now + 1));  // an update
  // Six in all.
  EXPECT_TRUE(learn(Wallet::Generate(), "http://10.0.0.3:1", now));
  EXPECT_TRUE(learn(Wallet::Generate(), "http://10.0.0.4:1", now));
  EXPECT_FALSE(learn(Wallet::Generate(), "http://10.0.0.5:1", now));
  EXPECT_EQ(store_->ListPeers(0).size(), 6u);
  // A reply carries at most four, the most recently seen: not the oldest.
  Json listed = api.PeersJson();
  ASSERT_EQ(listed.size(), 4u);
  for (const auto& p : listed) EXPECT_NE(p["url"], "http://10.0.0.1:1");
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
  // SHA-256(SHA-256(nonce || bytes) || the node's address): its own answer only.
  Sha256Hasher h;
  Hash256 inner = h.Digest(nonce, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), 64));
  Sha256Hasher outer;
  EXPECT_EQ(response["digest"], HexEncode(outer.Digest(inner, node_.address)));
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
  EXPECT_EQ(Rfc3339Ms(1795341600250), "2026-11-22T10:00:00.250Z");
  EXPECT_EQ(Rfc3339Ms(1795341600007), "2026-11-22T10:00:00.007Z");
  EXPECT_EQ(*ParseRfc3339Ms("2026-11-22T10:00:00.250Z"), 1795341600250);
  EXPECT_EQ(*ParseRfc3339Ms("2026-11-22T10:00:00.2509Z"), 1795341600250);
  EXPECT_EQ(*ParseRfc3339Ms("2026-11-22T10:00:00Z"), 1795341600000);
  EXPECT_FALSE(ParseRfc3339Ms("2026-11-22T10:00:00.Z"));
  EXPECT_FALSE(ParseRfc3339Ms("2026-11-22T10:00:00.2.5Z"));
}

}  // namespace
}  // namespace digm
