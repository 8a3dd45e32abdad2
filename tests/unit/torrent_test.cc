// A track's torrent (SPEC §11) made from real chunk files, and a swarm of two
// real libtorrent sessions on 127.0.0.1: one seeds from the chunk files
// through the custom disk I/O, the other joins by magnet link and reads the
// track back.
#include "digm/torrent.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <thread>

#include "digm/chunker.h"
#include "digm/dht.h"
#include "digm/file.h"
#include "test_util.h"

namespace digm {
namespace {

class TorrentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<ChunkStore>(*ChunkStore::Open(dir_ / "chunks", {}));
    data_ = testing::SomeBytes(100000, 3);
    ASSERT_TRUE(WriteOutput(dir_ / "in", std::string(data_.begin(), data_.end())).ok());
    int fd = open((dir_ / "in").c_str(), O_RDONLY);
    manifest_ = *ChunkStream(fd, {.chunk_size = 16384, .store = store_.get()});
    close(fd);
    manifest_.source_name = "tone.flac";
    manifest_.root = manifest_.ComputeRoot();
    root_ = HexEncode(*manifest_.root);
  }

  // The track's stored bytes in order: what the torrent's one file holds.
  std::string Stored() {
    std::string out;
    for (const auto& c : manifest_.chunks) {
      Bytes b = *store_->Get(c.hash);
      out.append(b.begin(), b.end());
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<ChunkStore> store_;
  Bytes data_;
  Manifest manifest_;
  std::string root_;
};

TEST_F(TorrentTest, TheLayoutLaysTheFileOverTheChunkFilesInOrder) {
  TorrentLayout l = TrackLayout(manifest_, store_.get());
  EXPECT_EQ(l.name, "tone.flac");
  EXPECT_EQ(l.piece_size, 16384);
  ASSERT_EQ(l.paths.size(), manifest_.chunks.size());
  uint64_t at = 0;
  for (size_t i = 0; i < l.paths.size(); ++i) {
    EXPECT_EQ(l.paths[i], store_->PathFor(manifest_.chunks[i].hash));
    EXPECT_EQ(l.offsets[i], at);
    at += l.sizes[i];
  }
  EXPECT_EQ(l.size, at);
  EXPECT_TRUE(TrackLayout(manifest_, nullptr).paths[0].empty());
}

TEST_F(TorrentTest, HybridTorrentIsStableAndReadsBack) {
  TorrentLayout l = TrackLayout(manifest_, store_.get());
  auto a = MakeTrackTorrent(manifest_, l, {"http://127.0.0.1:7071", "http://127.0.0.1:7072/"});
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = MakeTrackTorrent(manifest_, l, {});
  ASSERT_TRUE(b.ok());
  // The web seeds are outside the info dictionary: the infohashes stay.
  EXPECT_EQ(a->btih, b->btih);
  EXPECT_EQ(a->btmh, b->btmh);
  EXPECT_EQ(a->btih.size(), 40u);
  EXPECT_EQ(a->btmh.substr(0, 4), "1220");
  EXPECT_EQ(a->btmh.size(), 68u);
  EXPECT_NE(a->bytes, b->bytes);
  EXPECT_EQ(a->magnet.rfind("magnet:?xt=urn:btih:" + a->btih, 0), 0u);

  ASSERT_TRUE(WriteOutput(dir_ / "t.torrent", a->bytes).ok());
  auto src = ReadTorrentArgument(dir_ / "t.torrent");
  ASSERT_TRUE(src.ok()) << src.status().message();
  EXPECT_EQ(src->btih, a->btih);
  EXPECT_EQ(src->btmh, a->btmh);
  EXPECT_EQ(src->root, root_);
  EXPECT_EQ(src->nodes,
            (std::vector<std::string>{"http://127.0.0.1:7071", "http://127.0.0.1:7072"}));
  EXPECT_EQ(src->web_seeds[0], "http://127.0.0.1:7071/content/" + root_);

  auto swapped = WithWebSeeds(b->bytes, {WebSeedUrl("http://127.0.0.1:9", root_)});
  ASSERT_TRUE(swapped.ok());
  EXPECT_EQ(swapped->btih, b->btih);
  EXPECT_NE(swapped->bytes.find("http://127.0.0.1:9/content/" + root_), std::string::npos);

  Json j = TorrentToJson(*manifest_.root, *a);
  EXPECT_EQ(j["schema"], "digm.torrent/1");
  EXPECT_EQ(j["root"], root_);
  EXPECT_EQ(j["btmh"], a->btmh);
}

TEST_F(TorrentTest, V1TorrentHasNoV2Hash) {
  TorrentLayout l = TrackLayout(manifest_, store_.get());
  auto hybrid = MakeTrackTorrent(manifest_, l, {});
  auto v1 = MakeTrackTorrent(manifest_, l, {}, true);
  ASSERT_TRUE(v1.ok() && hybrid.ok());
  EXPECT_TRUE(v1->btmh.empty());
  EXPECT_NE(v1->btih, hybrid->btih);
  EXPECT_FALSE(TorrentToJson(*manifest_.root, *v1).contains("btmh"));
  auto magnet = ReadTorrentArgument(v1->magnet);
  ASSERT_TRUE(magnet.ok());
  EXPECT_EQ(magnet->btih, v1->btih);
  EXPECT_TRUE(magnet->btmh.empty());
}

TEST_F(TorrentTest, AMissingOrChangedChunkFileIsAnIntegrityError) {
  TorrentLayout l = TrackLayout(manifest_, store_.get());
  std::string second = l.paths[1];
  std::string saved = *ReadWholeFile(second);
  std::string changed = saved;
  changed[100] ^= 1;
  ASSERT_TRUE(WriteOutput(second, changed).ok());
  auto r = MakeTrackTorrent(manifest_, l, {});
  EXPECT_EQ(r.status().code(), Code::kIntegrity);
  ASSERT_EQ(unlink(second.c_str()), 0);
  r = MakeTrackTorrent(manifest_, l, {});
  EXPECT_EQ(r.status().code(), Code::kIntegrity);
}

// Downloads `t` from the seed at `peer` in a session of its own; the bytes,
// or empty after 20 s.
std::string DownloadFrom(const TrackTorrent& t, uint64_t size, const std::string& peer,
                         const std::string& temp) {
  auto session = Dht::Start({.listen = "127.0.0.1:0",
                             .bootstrap = {"none"},
                             .dht = false,
                             .bittorrent = true,
                             .bt_listen = {"127.0.0.1:0"}});
  if (!session.ok()) return "";
  auto swarm = (*session)->Join({.magnet = t.magnet + "&x.pe=" + peer}, size, temp);
  if (!swarm.ok()) return "";
  (*swarm)->Want(0, size);
  for (int i = 0; i < 200 && !(*swarm)->Has(0, size); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto bytes = (*swarm)->Read(0, size);
  return (*swarm)->Has(0, size) && bytes.ok() ? *bytes : "";
}

// A seed keeps the pieces it reads in memory for the blocks asked next, for
// every torrent it seeds: each is served its own, also one seeded after
// another was downloaded and stopped.
TEST_F(TorrentTest, ATorrentSeededAfterAnotherIsServedItsOwnPieces) {
  Bytes other = testing::SomeBytes(100000, 4);
  ASSERT_TRUE(WriteOutput(dir_ / "in2", std::string(other.begin(), other.end())).ok());
  int fd = open((dir_ / "in2").c_str(), O_RDONLY);
  Manifest m2 = *ChunkStream(fd, {.chunk_size = 16384, .store = store_.get()});
  close(fd);
  m2.source_name = "other.flac";
  TorrentLayout l1 = TrackLayout(manifest_, store_.get()), l2 = TrackLayout(m2, store_.get());
  TrackTorrent t1 = *MakeTrackTorrent(manifest_, l1, {}), t2 = *MakeTrackTorrent(m2, l2, {});
  auto seed = std::move(Dht::Start({.listen = "127.0.0.1:0",
                                    .bootstrap = {"none"},
                                    .dht = false,
                                    .bittorrent = true,
                                    .bt_listen = {"127.0.0.1:0"}}))
                  .value();
  std::string stored1 = Stored();
  ASSERT_TRUE(seed->Seed(std::string(t1.bytes.begin(), t1.bytes.end()), l1).ok());
  EXPECT_EQ(DownloadFrom(t1, l1.size, seed->endpoint(), dir_.path()), stored1);
  seed->StopSeeding(t1.btih);
  ASSERT_TRUE(seed->Seed(std::string(t2.bytes.begin(), t2.bytes.end()), l2).ok());
  std::string stored2;
  for (const auto& c : m2.chunks) {
    Bytes b = *store_->Get(c.hash);
    stored2.append(b.begin(), b.end());
  }
  EXPECT_EQ(DownloadFrom(t2, l2.size, seed->endpoint(), dir_.path()), stored2);
}

TEST(TorrentArgument, BadLinksAndFilesAreBadInput) {
  EXPECT_TRUE(IsTorrentArgument("magnet:?xt=urn:btih:00"));
  EXPECT_TRUE(IsTorrentArgument("x.torrent"));
  EXPECT_FALSE(IsTorrentArgument("track.json"));
  EXPECT_EQ(ReadTorrentArgument("magnet:?xt=urn:btih:nothex").status().code(), Code::kBadInput);
  testing::TempDir dir;
  ASSERT_TRUE(WriteOutput(dir / "junk.torrent", "d4:infoi3ee").ok());
  EXPECT_EQ(ReadTorrentArgument(dir / "junk.torrent").status().code(), Code::kBadInput);
}

TEST(TorrentArgument, ALinkWithAnHttpsTrackerIsNoted) {
  std::string link = "magnet:?xt=urn:btih:" + std::string(40, 'a');
  EXPECT_FALSE(ReadTorrentArgument(link)->https_trackers);
  EXPECT_FALSE(ReadTorrentArgument(link + "&tr=http://127.0.0.1:1/announce")->https_trackers);
  EXPECT_FALSE(ReadTorrentArgument(link + "&tr=udp://127.0.0.1:1")->https_trackers);
  EXPECT_TRUE(ReadTorrentArgument(link + "&tr=udp://127.0.0.1:1&tr=HTTPS://127.0.0.1:1/announce")
                  ->https_trackers);
}

// A session that makes no TLS connection skips the CA certificates through
// OpenSSL's environment variable, and leaves the variable as it found it.
TEST(DhtSession, ASessionWithoutHttpsTrackersLeavesTheEnvironmentAsItWas) {
  DhtOptions o;
  o.dht = false;
  o.bittorrent = true;
  o.bt_listen = {"127.0.0.1:0"};
  o.https_trackers = false;
  const char* name = "SSL_CERT_FILE";
  std::optional<std::string> before;
  if (const char* v = std::getenv(name)) before = v;
  setenv(name, "/etc/ssl/certs/some.pem", 1);
  ASSERT_TRUE(Dht::Start(o).ok());
  ASSERT_NE(std::getenv(name), nullptr);
  EXPECT_STREQ(std::getenv(name), "/etc/ssl/certs/some.pem");
  unsetenv(name);
  ASSERT_TRUE(Dht::Start(o).ok());
  EXPECT_EQ(std::getenv(name), nullptr);
  if (before) setenv(name, before->c_str(), 1);
}

TEST_F(TorrentTest, ASwarmReadsTheTrackFromASessionSeedingChunkFiles) {
  TorrentLayout l = TrackLayout(manifest_, store_.get());
  auto t = MakeTrackTorrent(manifest_, l, {});
  ASSERT_TRUE(t.ok());
  DhtOptions o;
  o.dht = false;
  o.bittorrent = true;
  o.bt_listen = {"127.0.0.1:0"};
  auto seeder = Dht::Start(o);
  o.https_trackers = false;  // as digm-fetch's: the swarm needs no CA certificates
  auto leecher = Dht::Start(o);
  ASSERT_TRUE(seeder.ok() && leecher.ok());
  ASSERT_TRUE((*seeder)->Seed(t->bytes, l).ok());
  EXPECT_EQ((*seeder)->Seeding(), std::vector<std::string>{t->btih});
  // Bytes that are not this layout's torrent are refused.
  EXPECT_EQ((*seeder)->Seed("not a torrent", l).code(), Code::kBadInput);

  auto src = ReadTorrentArgument(t->magnet + "&x.pe=" + (*seeder)->endpoint());
  ASSERT_TRUE(src.ok());
  auto swarm = (*leecher)->Join(*src, l.size, dir_.path());
  ASSERT_TRUE(swarm.ok()) << swarm.status().message();
  (*swarm)->Want(0, l.size);
  for (int i = 0; i < 300 && !(*swarm)->Has(0, l.size); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE((*swarm)->Has(0, l.size));
  EXPECT_TRUE((*swarm)->status().ok());
  EXPECT_EQ(*(*swarm)->Read(0, l.size), Stored());
  EXPECT_EQ((*swarm)->Sender(0, 16384), (*seeder)->endpoint());
  EXPECT_TRUE((*swarm)->Banned().empty());

  // One swarm per torrent and session.
  EXPECT_EQ((*leecher)->Join(*src, l.size, dir_.path()).status().code(), Code::kBadInput);
  swarm->reset();
  // A torrent of another size is not this track's: known once the metadata is in.
  auto wrong = (*leecher)->Join(*src, l.size + 1, dir_.path());
  ASSERT_TRUE(wrong.ok());
  (*wrong)->Want(0, 1);
  for (int i = 0; i < 300 && (*wrong)->status().ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ((*wrong)->status().code(), Code::kIntegrity);
}

}  // namespace
}  // namespace digm
