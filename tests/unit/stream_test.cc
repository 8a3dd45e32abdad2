// Live streams' documents and log (SPEC §9): the Merkle frontier against the
// whole-tree root, digm.stream/1 and digm.tree-head/1 signed by the publisher
// only, and a log that refuses every way a head can lie.
#include "digm/stream.h"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "digm/assemble.h"
#include "digm/crypto.h"
#include "digm/http_client.h"
#include "digm/http_server.h"
#include "digm/live_publish.h"
#include "digm/proof.h"
#include "digm/stream_api.h"
#include "digm/stream_directory.h"
#include "digm/stream_store.h"
#include "test_util.h"

namespace digm {
namespace {

std::vector<Hash256> Leaves(uint32_t n) { return testing::VectorLeaves(n); }

TEST(MerkleFrontier, EqualsTheWholeTreeRootAtEverySize) {
  MerkleFrontier f;
  EXPECT_EQ(HexEncode(f.Root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto all = Leaves(300);
  for (uint32_t n = 1; n <= all.size(); ++n) {
    f.Append(all[n - 1]);
    ASSERT_EQ(f.size(), n);
    ASSERT_EQ(f.Root(), MerkleRoot(std::span(all.data(), n))) << "n = " << n;
  }
  MerkleFrontier five;
  for (const auto& l : Leaves(5)) five.Append(l);
  EXPECT_EQ(HexEncode(five.Root()),
            "64a659de247108a0f35e701576e2898309b7f2323e807963f3c60f3350ec129f");
}

TEST(MerkleFrontier, ALogJoinedAtItsLastLeafGrowsAsTheWholeTree) {
  auto all = Leaves(100);
  for (uint32_t n : {1u, 2u, 5u, 6u, 7u, 8u, 33u, 64u, 65u}) {
    std::span<const Hash256> tree(all.data(), n);
    Hash256 root = MerkleRoot(tree);
    auto path = InclusionProof(tree, n - 1);
    auto f = MerkleFrontier::FromLastLeaf(all[n - 1], n, path, root);
    ASSERT_TRUE(f) << "n = " << n;
    EXPECT_EQ(f->Root(), root);
    for (uint32_t m = n; m < all.size(); ++m) f->Append(all[m]);
    EXPECT_EQ(f->Root(), MerkleRoot(all)) << "n = " << n;
    // Another leaf, another index's path, or another root: no frontier.
    EXPECT_FALSE(MerkleFrontier::FromLastLeaf(all[n], n, path, root));
    EXPECT_FALSE(MerkleFrontier::FromLastLeaf(all[n - 1], n, path, MerkleRoot(all)));
    if (n > 2) {
      EXPECT_FALSE(MerkleFrontier::FromLastLeaf(all[n - 2], n, InclusionProof(tree, n - 2), root));
    }
  }
  EXPECT_FALSE(MerkleFrontier::FromLastLeaf(all[0], 0, {}, MerkleRoot({})));
}

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StreamInfo info;
    info.title = "Friday set";
    info.artist = "dj";
    info.bitrate = 192000;
    info.created_ms = 1767225600250;
    doc_ = MakeStreamDocument(info, dj_);
    stream_ = *ReadStreamDocument(doc_);
  }

  TreeHead Head(uint64_t size, int64_t time, bool ended = false, const Wallet* by = nullptr,
                std::optional<Hash256> root = std::nullopt) {
    auto leaves = Leaves(static_cast<uint32_t>(size));
    Json doc = MakeTreeHead(stream_.id, size, root.value_or(MerkleRoot(leaves)), time, ended,
                            by ? *by : dj_);
    auto head = ReadTreeHead(doc, stream_);
    EXPECT_TRUE(head.ok()) << head.status().message();
    return *head;
  }

  Wallet dj_ = Wallet::Generate(), other_ = Wallet::Generate();
  Json doc_;
  Stream stream_;
};

TEST_F(StreamTest, TheStreamDocumentIsTheIdOfItsCanonicalFormAndOnlyItsPublisherSignsIt) {
  EXPECT_EQ(stream_.id, StreamId(doc_));
  EXPECT_EQ(stream_.info.publisher, dj_.address);
  EXPECT_EQ(stream_.info.part_ms, kDefaultPartMs);
  EXPECT_EQ(StringOr(doc_, "created"), "2026-01-01T00:00:00.250Z");
  EXPECT_TRUE(doc_["encryption"].is_null());

  Json tampered = doc_;
  tampered["title"] = "Saturday set";
  EXPECT_EQ(ReadStreamDocument(tampered).status().code(), Code::kIntegrity);
  EXPECT_NE(StreamId(tampered), stream_.id);

  Json foreign = doc_;  // another key signs a stream that names dj as its publisher
  SignDocument(foreign, other_);
  auto r = ReadStreamDocument(foreign);
  EXPECT_EQ(r.status().code(), Code::kIntegrity);
  EXPECT_NE(r.status().message().find("not by the stream's publisher"), std::string::npos);

  for (const char* bad : {R"({"schema":"digm.stream/1"})",
                          R"({"schema":"digm.stream/1","publisher":"0x1"})", "[]", "1e400"}) {
    auto j = ParseJson(bad);
    if (!j.ok()) continue;
    EXPECT_EQ(ReadStreamDocument(*j).status().code(), Code::kBadInput) << bad;
  }
  Json wrong_type = doc_;
  wrong_type["part_ms"] = "fast";
  EXPECT_EQ(ReadStreamDocument(wrong_type).status().code(), Code::kBadInput);
}

TEST_F(StreamTest, AnEncryptedStreamNamesItsKeyAndNoncePrefix) {
  StreamInfo info;
  info.created_ms = 1767225600250;
  Encryption e;
  e.key_id.fill(7);
  e.nonce_prefix.fill(9);
  info.encryption = e;
  auto s = ReadStreamDocument(MakeStreamDocument(info, dj_));
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_TRUE(s->info.encryption);
  EXPECT_EQ(s->info.encryption->key_id, e.key_id);
  EXPECT_EQ(s->info.encryption->nonce_prefix, e.nonce_prefix);
}

TEST_F(StreamTest, AHeadSignedByAnotherWalletOrOfAnotherStreamIsRefused) {
  Json forged = MakeTreeHead(stream_.id, 1, MerkleRoot(Leaves(1)), 1767225601, false, other_);
  auto r = ReadTreeHead(forged, stream_);
  EXPECT_EQ(r.status().code(), Code::kIntegrity);
  Hash256 elsewhere = stream_.id;
  elsewhere[0] ^= 1;
  Json astray = MakeTreeHead(elsewhere, 1, MerkleRoot(Leaves(1)), 1767225601, false, dj_);
  EXPECT_EQ(ReadTreeHead(astray, stream_).status().code(), Code::kIntegrity);
  Json tampered = MakeTreeHead(stream_.id, 1, MerkleRoot(Leaves(1)), 1767225601, false, dj_);
  tampered["size"] = 2;
  EXPECT_EQ(ReadTreeHead(tampered, stream_).status().code(), Code::kIntegrity);
}

TEST_F(StreamTest, TheLogGrowsChunkByChunkAndSealsAsTheTrackRoot) {
  StreamLog log(stream_);
  ASSERT_TRUE(log.Extend({}, Head(0, 1767225600)).ok());
  auto leaves = Leaves(40);
  for (uint32_t i = 0; i < 30; ++i) {
    Status s = log.Extend(std::span(&leaves[i], 1), Head(i + 1, 1767225600 + i));
    ASSERT_TRUE(s.ok()) << s.message();
  }
  // Several chunks under one head, as a listener catching up sees them.
  ASSERT_TRUE(log.Extend(std::span(leaves.data() + 30, 10), Head(40, 1767225700)).ok());
  EXPECT_TRUE(log.Heartbeat(Head(40, 1767225730)).ok());
  ASSERT_TRUE(log.Extend({}, Head(40, 1767225731, true)).ok());
  EXPECT_EQ(log.size(), 40u);
  EXPECT_EQ(log.root(), MerkleRoot(leaves));
  EXPECT_TRUE(log.head()->ended);
  // Nothing follows an ended stream.
  auto more = Leaves(41);
  EXPECT_EQ(log.Extend(std::span(&more[40], 1), Head(41, 1767225800)).code(), Code::kIntegrity);
}

TEST_F(StreamTest, EveryLieOfAHeadIsRefusedAndLeavesTheLogAsItWas) {
  StreamLog log(stream_);
  auto leaves = Leaves(6);
  ASSERT_TRUE(log.Extend(std::span(leaves.data(), 4), Head(4, 1767225610)).ok());
  auto refused = [&](Status s, const char* says) {
    EXPECT_EQ(s.code(), Code::kIntegrity) << s.message();
    EXPECT_NE(s.message().find(says), std::string::npos) << s.message();
    EXPECT_EQ(log.size(), 4u);
    EXPECT_EQ(log.head()->size, 4u);
  };
  // A size that goes back.
  refused(log.Extend({}, Head(3, 1767225620)), "size goes back");
  // A root inconsistent with the last: the next chunk is not the head's leaf.
  Hash256 wrong = leaves[4];
  wrong[5] ^= 0x40;
  refused(log.Extend(std::span(&wrong, 1), Head(5, 1767225620)), "is not that of the chunks");
  // A time that goes back.
  refused(log.Extend(std::span(&leaves[4], 1), Head(5, 1767225600)), "time goes back");
  // Too few chunks for the head's size.
  refused(log.Extend(std::span(&leaves[4], 1), Head(6, 1767225620)), "needs 2 new chunks");
  // Equivocation: the same size, another root; both heads are the evidence.
  TreeHead fork = Head(4, 1767225620, false, nullptr, MerkleRoot(Leaves(5)));
  refused(log.Heartbeat(fork), "equivocation");
  ASSERT_EQ(log.Evidence().size(), 2u);
  EXPECT_EQ(log.Evidence()[0], log.head()->doc);
  EXPECT_EQ(log.Evidence()[1], fork.doc);
  refused(log.Extend({}, fork), "equivocation");
  // And the honest next head still extends it.
  EXPECT_TRUE(log.Extend(std::span(&leaves[4], 1), Head(5, 1767225620)).ok());
}

// A node's streams: a publisher's chunks and heads appended, listed, aged by
// the node's clock, ended; lies refused with nothing kept; a restart resumes.
TEST_F(StreamTest, TheDirectoryLearnsOnlyWhatVerifiesAndIsFreshAndForgetsAnEndedStream) {
  int64_t now = 1767225600;
  StreamDirectory dir(
      {.self_url = "http://127.0.0.1:7", .stale_after = 120, .clock = [&] { return now; }});
  std::string id = HexEncode(stream_.id);
  auto entry = [&](const Json& head, Json holders, Json doc = nullptr) {
    return Json{
        {"id", id}, {"stream", doc.is_null() ? doc_ : doc}, {"head", head}, {"holders", holders}};
  };
  Json forged = doc_;
  forged["title"] = "not what was signed";
  Wallet mallory = Wallet::Generate();
  EXPECT_EQ(dir.Learn(Json::array({entry(Head(3, now).doc, {"http://127.0.0.1:9"}, forged)})), 0u);
  EXPECT_EQ(dir.Learn(Json::array(
                {entry(MakeTreeHead(stream_.id, 3, MerkleRoot(Leaves(3)), now, false, mallory),
                       {"http://127.0.0.1:9"})})),
            0u);
  EXPECT_EQ(dir.Learn(Json::array({entry(Head(3, now - 121).doc, {"http://127.0.0.1:9"})})), 0u);
  // Nobody it may reach holds it: itself, a link-local address, not a URL.
  EXPECT_EQ(dir.Learn(Json::array(
                {entry(Head(3, now).doc, {"http://127.0.0.1:7", "http://169.254.169.254", 5})})),
            0u);
  EXPECT_FALSE(dir.Find(id));
  EXPECT_EQ(dir.Learn("not a list"), 0u);

  EXPECT_EQ(dir.Learn(Json::array(
                {entry(Head(3, now - 10).doc, {"http://127.0.0.1:9", "http://127.0.0.1:7"})})),
            1u);
  auto found = dir.Find(id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->head.size, 3u);
  EXPECT_EQ(found->last_heard, now - 10);  // the head's own time, not the gossip's
  EXPECT_EQ(found->holders, std::vector<std::string>{"http://127.0.0.1:9"});
  EXPECT_EQ(dir.Live("FRIDAY").size(), 1u);
  EXPECT_EQ(dir.Live("sunday").size(), 0u);
  // A newer head moves it on and names its holder first; an older one
  // changes nothing but holders.
  dir.Learn(Json::array({entry(Head(5, now + 50).doc, {"http://127.0.0.1:8"})}));
  found = dir.Find(id);
  EXPECT_EQ(found->head.size, 5u);
  EXPECT_EQ(found->last_heard, now);  // never later than now
  EXPECT_EQ(found->holders[0], "http://127.0.0.1:8");
  dir.Learn(Json::array({entry(Head(4, now).doc, {"http://127.0.0.1:9"})}));
  EXPECT_EQ(dir.Find(id)->head.size, 5u);
  // Unheard for the stale time: gone.
  now += 121;
  EXPECT_FALSE(dir.Find(id));
  dir.Learn(Json::array({entry(Head(6, now).doc, {"http://127.0.0.1:9"})}));
  ASSERT_TRUE(dir.Find(id));
  dir.Learn(Json::array({entry(Head(6, now, true).doc, {"http://127.0.0.1:9"})}));
  EXPECT_FALSE(dir.Find(id));
}

class StreamStoreTest : public StreamTest {
 protected:
  void SetUp() override {
    StreamTest::SetUp();
    Reopen();
    ASSERT_TRUE(streams_->Announce(stream_).ok());
    id_ = HexEncode(stream_.id);
  }

  void Reopen() {
    streams_.reset();
    node_.reset();
    node_ = std::move(NodeStore::Open(dir_ / "node", true, clock_)).value();
    streams_ = std::move(StreamStore::Open(*node_, clock_)).value();
  }

  // Chunk i's stored bytes, and the head after it over every chunk so far.
  Bytes Part(uint32_t i) { return testing::SomeBytes(3000 + i, i + 1); }
  Json HeadAfter(uint32_t i, const Wallet& by, bool ended = false) {
    std::vector<Hash256> hashes;
    for (uint32_t k = 0; k <= i; ++k) hashes.push_back(Sha256(Part(k)));
    return MakeTreeHead(stream_.id, i + 1, MerkleRoot(hashes), 1767225600 + i, ended, by);
  }

  // A sealed track of the first `n` chunks.
  Manifest SealedOf(uint32_t n) {
    Manifest m;
    for (uint32_t i = 0; i < n; ++i) {
      uint64_t size = Part(i).size();
      m.chunks.push_back(ChunkRef{.hash = Sha256(Part(i)), .size = size, .plain = size});
      m.size += size;
    }
    m.stream = stream_.id;
    return m;
  }

  testing::TempDir dir_;
  int64_t now_ = 1767225600;
  Clock clock_ = [this] { return now_; };
  std::unique_ptr<NodeStore> node_;
  std::unique_ptr<StreamStore> streams_;
  std::string id_;
};

TEST_F(StreamStoreTest, ChunksAndHeadsGrowTheLogAndTheDirectoryListsTheStream) {
  for (uint32_t i = 0; i < 5; ++i) {
    Status s = streams_->Append(id_, i, Part(i), HeadAfter(i, dj_));
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_TRUE(node_->HasChunk(HexEncode(Sha256(Part(i)))));
  }
  EXPECT_EQ(streams_->ChunkHashes(id_).size(), 5u);
  auto live = streams_->ListLive(now_ - 120);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].id, id_);
  EXPECT_EQ(live[0].head["size"], 5);
  EXPECT_EQ(streams_->ListLive(now_ - 120, "FRIDAY").size(), 1u);
  EXPECT_EQ(streams_->ListLive(now_ - 120, "dj").size(), 1u);
  EXPECT_TRUE(streams_->ListLive(now_ - 120, "sunday").empty());
  // Unheard for two minutes: stale, out of the directory; a heartbeat brings it back.
  now_ += 121;
  EXPECT_TRUE(streams_->ListLive(now_ - 120).empty());
  ASSERT_TRUE(streams_->Heartbeat(id_, HeadAfter(4, dj_)).ok());
  EXPECT_EQ(streams_->ListLive(now_ - 120).size(), 1u);
  // The end: gone from the directory at once.
  ASSERT_TRUE(streams_->End(id_, HeadAfter(4, dj_, true)).ok());
  EXPECT_TRUE(streams_->ListLive(now_ - 120).empty());
  EXPECT_TRUE(streams_->Row(id_)->ended);
}

TEST_F(StreamStoreTest, GcRemovesAStreamUnheardForADayAndKeepsChunksATrackUses) {
  for (uint32_t i = 0; i < 3; ++i)
    ASSERT_TRUE(streams_->Append(id_, i, Part(i), HeadAfter(i, dj_)).ok());
  // A track that holds chunk 0 too (as a sealed stream's track does).
  Manifest m = SealedOf(1);
  ASSERT_TRUE(node_->AddTrack(m).ok());
  auto file = [&](uint32_t i) { return node_->chunks().PathFor(Sha256(Part(i))); };
  // Silent for less than a day: kept, and a removed track leaves its chunks.
  auto g = node_->CollectGarbage(now_ + kStreamKeepSeconds - 1);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_TRUE(g->streams.empty());
  // A day: gone with the chunks only it named; the track's stays.
  g = node_->CollectGarbage(now_ + kStreamKeepSeconds + 1);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->streams, std::vector<std::string>{id_});
  EXPECT_FALSE(streams_->Row(id_));
  EXPECT_TRUE(node_->HasChunk(HexEncode(Sha256(Part(0)))));
  EXPECT_TRUE(std::filesystem::exists(file(0)));
  for (uint32_t i : {1u, 2u}) {
    EXPECT_FALSE(node_->HasChunk(HexEncode(Sha256(Part(i)))));
    EXPECT_FALSE(std::filesystem::exists(file(i)));
  }
  EXPECT_TRUE(node_->Fsck(false)->clean());
  // Its publisher back under the same id, the log still held in memory: a
  // heartbeat or a chunk is refused, nothing of it kept, until the stream is
  // announced anew (and then it starts over).
  EXPECT_EQ(streams_->Heartbeat(id_, HeadAfter(2, dj_)).code(), Code::kBadInput);
  ASSERT_TRUE(streams_->Announce(stream_).ok());
  ASSERT_TRUE(streams_->Append(id_, 0, Part(0), HeadAfter(0, dj_)).ok());
  now_ += 2 * kStreamKeepSeconds;
  ASSERT_EQ(node_->CollectGarbage(now_ + 1)->streams, std::vector<std::string>{id_});
  EXPECT_EQ(streams_->Append(id_, 1, Part(1), HeadAfter(1, dj_)).code(), Code::kBadInput);
  EXPECT_FALSE(node_->HasChunk(HexEncode(Sha256(Part(1)))));
  EXPECT_TRUE(streams_->ChunkHashes(id_).empty());
}

TEST_F(StreamStoreTest, GcKeepsAnEndedStreamWhileItsSealedTrackIsHeld) {
  for (uint32_t i = 0; i < 3; ++i)
    ASSERT_TRUE(streams_->Append(id_, i, Part(i), HeadAfter(i, dj_)).ok());
  ASSERT_TRUE(streams_->End(id_, HeadAfter(2, dj_, true)).ok());
  Manifest m = SealedOf(3);
  ASSERT_TRUE(node_->AddTrack(m).ok());
  std::string root = HexEncode(m.ComputeRoot());
  ASSERT_EQ(streams_->Row(id_)->head["root"], root);
  // Silent for two days, its recording held: its id still names it.
  auto g = node_->CollectGarbage(now_ + 2 * kStreamKeepSeconds);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_TRUE(g->streams.empty());
  ASSERT_TRUE(streams_->Row(id_));
  EXPECT_EQ(streams_->ChunkHashes(id_).size(), 3u);
  // The track removed, the stream goes at the next gc, with its chunks.
  ASSERT_TRUE(node_->RemoveTrack(root).ok());
  g = node_->CollectGarbage(now_ + 2 * kStreamKeepSeconds);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->streams, std::vector<std::string>{id_});
  EXPECT_FALSE(streams_->Row(id_));
  for (uint32_t i = 0; i < 3; ++i) EXPECT_FALSE(node_->HasChunk(HexEncode(Sha256(Part(i)))));
  EXPECT_TRUE(node_->Fsck(false)->clean());
}

TEST_F(StreamStoreTest, GcRemovesAnEndedStreamWhoseHeadIsDamagedAndGoesOn) {
  for (uint32_t i = 0; i < 2; ++i)
    ASSERT_TRUE(streams_->Append(id_, i, Part(i), HeadAfter(i, dj_)).ok());
  ASSERT_TRUE(streams_->End(id_, HeadAfter(1, dj_, true)).ok());
  ASSERT_TRUE(node_->AddTrack(SealedOf(2)).ok());
  {
    SQLite::Database db(dir_ / "node/index.db", SQLite::OPEN_READWRITE);
    db.exec("UPDATE streams SET head = 'not json'");
  }
  // No sealed root to be read: it goes as any silent stream; the track stays.
  auto g = node_->CollectGarbage(now_ + 2 * kStreamKeepSeconds);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->streams, std::vector<std::string>{id_});
  for (uint32_t i = 0; i < 2; ++i) EXPECT_TRUE(node_->HasChunk(HexEncode(Sha256(Part(i)))));
  EXPECT_TRUE(node_->Fsck(false)->clean());
}

TEST_F(StreamStoreTest, RemovingATrackKeepsTheChunksALiveStreamNames) {
  ASSERT_TRUE(streams_->Append(id_, 0, Part(0), HeadAfter(0, dj_)).ok());
  Manifest m = SealedOf(1);
  ASSERT_TRUE(node_->AddTrack(m).ok());
  ASSERT_TRUE(node_->RemoveTrack(HexEncode(m.ComputeRoot())).ok());
  EXPECT_TRUE(node_->HasChunk(HexEncode(Sha256(Part(0)))));
  EXPECT_TRUE(std::filesystem::exists(node_->chunks().PathFor(Sha256(Part(0)))));
}

TEST_F(StreamStoreTest, EveryLieIsRefusedAndNothingOfItIsKept) {
  ASSERT_TRUE(streams_->Append(id_, 0, Part(0), HeadAfter(0, dj_)).ok());
  auto nothing_kept = [&](Status s, Code code) {
    EXPECT_EQ(s.code(), code) << s.message();
    EXPECT_EQ(streams_->ChunkHashes(id_).size(), 1u);
    EXPECT_FALSE(node_->HasChunk(HexEncode(Sha256(Part(1)))));
    EXPECT_EQ(streams_->Row(id_)->head["size"], 1);
  };
  // A head signed by another wallet.
  nothing_kept(streams_->Append(id_, 1, Part(1), HeadAfter(1, other_)), Code::kIntegrity);
  // A chunk whose hash is not the head's new leaf.
  Bytes altered = Part(1);
  altered[7] ^= 1;
  nothing_kept(streams_->Append(id_, 1, altered, HeadAfter(1, dj_)), Code::kIntegrity);
  EXPECT_FALSE(node_->HasChunk(HexEncode(Sha256(altered))));
  // A chunk out of order, and a stream nobody announced.
  nothing_kept(streams_->Append(id_, 2, Part(1), HeadAfter(1, dj_)), Code::kBadInput);
  nothing_kept(streams_->Append(std::string(64, 'a'), 0, Part(1), HeadAfter(1, dj_)),
               Code::kBadInput);
  // A forged heartbeat, and one that forks the log: equivocation, with evidence.
  nothing_kept(streams_->Heartbeat(id_, HeadAfter(0, other_)), Code::kIntegrity);
  Json fork = MakeTreeHead(stream_.id, 1, Sha256(Part(9)), 1767225601, false, dj_);
  nothing_kept(streams_->Heartbeat(id_, fork), Code::kIntegrity);
  EXPECT_EQ(streams_->Evidence(id_).size(), 2u);
  // An end that is not the end.
  nothing_kept(streams_->End(id_, HeadAfter(0, dj_)), Code::kBadInput);
  // And the honest publisher carries on.
  EXPECT_TRUE(streams_->Append(id_, 1, Part(1), HeadAfter(1, dj_)).ok());
}

TEST_F(StreamStoreTest, AfterARestartTheStoredPrefixVerifiesAndTheNextAppendContinuesIt) {
  for (uint32_t i = 0; i < 3; ++i)
    ASSERT_TRUE(streams_->Append(id_, i, Part(i), HeadAfter(i, dj_)).ok());
  Reopen();
  auto stream = streams_->Get(id_);
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->id, stream_.id);
  EXPECT_EQ(streams_->Append(id_, 2, Part(2), HeadAfter(2, dj_)).code(), Code::kBadInput);
  ASSERT_TRUE(streams_->Append(id_, 3, Part(3), HeadAfter(3, dj_)).ok());
  auto hashes = streams_->ChunkHashes(id_);
  ASSERT_EQ(hashes.size(), 4u);
  EXPECT_EQ(MerkleRoot(hashes), MerkleRoot(std::vector<Hash256>{Sha256(Part(0)), Sha256(Part(1)),
                                                                Sha256(Part(2)), Sha256(Part(3))}));
}

// The routes of SPEC §9 over a node's stream store: what each refusal answers,
// and a long poll answered when the log grows, over a real socket.
class StreamApiTest : public StreamStoreTest {
 protected:
  void SetUp() override {
    StreamStoreTest::SetUp();
    api_ = std::make_unique<StreamApi>(
        *streams_, node_->chunks(),
        StreamApi::Options{.url = "http://127.0.0.1:1", .stale_after = 120, .clock = clock_});
  }
  void TearDown() override { api_.reset(); }

  HttpResponse Call(const std::string& method, const std::string& target, std::string body = "",
                    std::map<std::string, std::string> headers = {}) {
    HttpRequest r{method, target, std::move(headers), std::move(body), "127.0.0.1"};
    auto segs = Segments(PathOf(target));
    return api_->Handle(r, *segs);
  }
  HttpResponse PutPart(uint32_t i, const Wallet& by, std::optional<Bytes> bytes = std::nullopt) {
    Bytes b = bytes.value_or(Part(i));
    std::string head = DumpDocument(HeadAfter(i, by));  // sorted keys, no spaces
    return Call(
        "PUT", "/streams/" + id_ + "/" + std::to_string(i), std::string(b.begin(), b.end()),
        {{"digm-tree-head",
          Base64UrlEncode(std::span(reinterpret_cast<const uint8_t*>(head.data()), head.size()))}});
  }

  std::unique_ptr<StreamApi> api_;
};

TEST_F(StreamApiTest, TheRoutesKeepWhatVerifiesAndAnswerEachLieWithItsStatus) {
  EXPECT_EQ(Call("PUT", "/streams/" + id_, DumpDocument(doc_)).status, 201);
  EXPECT_EQ(Call("PUT", "/streams/" + std::string(64, 'b'), DumpDocument(doc_)).status, 400);
  Json forged = doc_;
  forged["title"] = "not what was signed";
  EXPECT_EQ(Call("PUT", "/streams/" + id_, DumpDocument(forged)).status, 403);
  for (uint32_t i = 0; i < 3; ++i) ASSERT_EQ(PutPart(i, dj_).status, 201) << PutPart(i, dj_).body;
  EXPECT_EQ(PutPart(3, other_).status, 403);  // another wallet's head
  Bytes altered = Part(3);
  altered[0] ^= 1;
  EXPECT_EQ(PutPart(3, dj_, altered).status, 409);                    // not the head's leaf
  EXPECT_EQ(PutPart(5, dj_).status, 409);                             // out of order
  EXPECT_EQ(Call("PUT", "/streams/" + id_ + "/3", "x").status, 400);  // no head header
  EXPECT_EQ(
      Call("POST", "/streams/" + id_ + "/heartbeat", DumpDocument(HeadAfter(2, other_))).status,
      403);
  EXPECT_EQ(Call("POST", "/streams/" + id_ + "/heartbeat", DumpDocument(HeadAfter(2, dj_))).status,
            200);
  EXPECT_EQ(streams_->ChunkHashes(id_).size(), 3u);

  auto listed = ParseJson(Call("GET", "/streams").body);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0]["id"], id_);
  EXPECT_EQ((*listed)[0]["head"]["size"], 3);
  EXPECT_EQ((*listed)[0]["holders"][0], "http://127.0.0.1:1");
  EXPECT_EQ(ParseJson(Call("GET", "/streams?q=friday").body)->size(), 1u);
  EXPECT_EQ(ParseJson(Call("GET", "/streams?q=sunday").body)->size(), 0u);
  EXPECT_EQ(ParseJson(Call("GET", "/streams?q=" + PercentEncode("friday s")).body)->size(), 1u);
  EXPECT_EQ(ParseJson(Call("GET", "/streams?q=FRIDAY+S").body)->size(), 1u);
  EXPECT_EQ(Call("GET", "/streams?q=%zz").status, 400);

  HttpResponse chunk = Call("GET", "/streams/" + id_ + "/1");
  ASSERT_EQ(chunk.status, 200);
  EXPECT_EQ(Bytes(chunk.body.begin(), chunk.body.end()), Part(1));
  EXPECT_EQ(Call("GET", "/streams/" + id_ + "/3").status, 404);

  auto proof = ConsistencyProofFromJson(
      *ParseJson(Call("GET", "/streams/" + id_ + "/consistency?from=1&to=3").body));
  ASSERT_TRUE(proof.ok()) << proof.status().message();
  EXPECT_TRUE(
      VerifyConsistency(proof->size1, proof->size2, proof->root1, proof->root2, proof->path));
  EXPECT_EQ(proof->root2, MerkleRoot(streams_->ChunkHashes(id_)));
  EXPECT_EQ(Call("GET", "/streams/" + id_ + "/consistency?from=2&to=9").status, 400);

  EXPECT_EQ(Call("DELETE", "/streams/" + id_, DumpDocument(HeadAfter(2, dj_))).status, 400);
  EXPECT_EQ(Call("DELETE", "/streams/" + id_, DumpDocument(HeadAfter(2, dj_, true))).status, 200);
  EXPECT_EQ(ParseJson(Call("GET", "/streams").body)->size(), 0u);
  // An ended stream is not begun again under its old document.
  EXPECT_EQ(Call("PUT", "/streams/" + id_, DumpDocument(doc_)).status, 409);
  EXPECT_EQ(ParseJson(Call("GET", "/streams").body)->size(), 0u);
}

TEST_F(StreamApiTest, ANodeOnlyTakesStreamsFromItsAllowedPublishers) {
  StreamApi strict(*streams_, node_->chunks(),
                   StreamApi::Options{.allowed_publishers = {other_.address}, .clock = clock_});
  HttpRequest r{"PUT", "/streams/" + id_, {}, DumpDocument(doc_), "127.0.0.1"};
  EXPECT_EQ(strict.Handle(r, *Segments(PathOf(r.target))).status, 403);
}

TEST_F(StreamApiTest, AHeadLongPollIsAnsweredWhenTheLogGrowsOrItsWaitEnds) {
  ASSERT_EQ(PutPart(0, dj_).status, 201);
  auto server = HttpServer::Bind(
      "127.0.0.1:0",
      [this](const HttpRequest& r) { return api_->Handle(r, *Segments(PathOf(r.target))); },
      ServerLimits{.threads = 2});
  ASSERT_TRUE(server.ok()) << server.status().message();
  std::thread run([&] { (*server)->Run(); });
  std::string base = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/streams/" + id_;
  // Nothing new yet: the poll waits, holding no server thread (two polls
  // and a request on a 2-thread server), and is answered by the append.
  Result<HttpResult> grown = Status::Ok(), other = Status::Ok();
  std::thread poll([&] { grown = HttpCall("GET", base + "/head?after=1&wait=20"); });
  std::thread poll2([&] { other = HttpCall("GET", base + "/head?after=1&wait=20"); });
  for (int i = 0; i < 1000 && api_->Waiting() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(api_->Waiting(), 2u);  // (not ASSERT: the polls must still be joined)
  auto quick = HttpCall("GET", base + "/head");
  ASSERT_TRUE(quick.ok());
  EXPECT_EQ(ParseJson(quick->body)->at("size"), 1);
  ASSERT_EQ(PutPart(1, dj_).status, 201);
  poll.join();
  poll2.join();
  ASSERT_TRUE(grown.ok()) << grown.status().message();
  EXPECT_EQ(grown->status, 200);
  EXPECT_EQ(ParseJson(grown->body)->at("size"), 2);
  EXPECT_EQ(ParseJson(other->body)->at("size"), 2);
  // A wait that runs out answers with the head as it is.
  auto waited = HttpCall("GET", base + "/head?after=5&wait=1");
  ASSERT_TRUE(waited.ok());
  EXPECT_EQ(ParseJson(waited->body)->at("size"), 2);
  EXPECT_EQ(api_->Waiting(), 0u);
  (*server)->Shutdown();
  run.join();
}

// The publisher: input arriving over time is cut into chunks by time, each
// sent with its head to a real node over 127.0.0.1, and ended; the node's
// copy is the input, byte for byte, clear or sealed under the track key.
class LivePublishTest : public StreamStoreTest {
 protected:
  void SetUp() override {
    StreamStoreTest::SetUp();
    api_ = std::make_unique<StreamApi>(*streams_, node_->chunks(), StreamApi::Options{});
    auto server = HttpServer::Bind(
        "127.0.0.1:0",
        [this](const HttpRequest& r) { return api_->Handle(r, *Segments(PathOf(r.target))); },
        ServerLimits{.threads = 2});
    ASSERT_TRUE(server.ok());
    server_ = std::move(*server);
    run_ = std::thread([this] { server_->Run(); });
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    server_->Shutdown();
    run_.join();
    api_.reset();
  }

  // Publishes 12 writes of 1,000 bytes, 60 ms apart, through a pipe.
  Result<LivePublishResult> Publish(const LivePublishOptions& o, Bytes* input) {
    *input = testing::SomeBytes(12000, 5);
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    std::thread feeder([&, w = fds[1]] {
      for (size_t at = 0; at < input->size(); at += 1000) {
        EXPECT_EQ(write(w, input->data() + at, 1000), 1000);
        std::this_thread::sleep_for(std::chrono::milliseconds(60));
      }
      close(w);
    });
    auto r = PublishLive(fds[0], dj_, o);
    feeder.join();
    close(fds[0]);
    return r;
  }

  std::unique_ptr<StreamApi> api_;
  std::unique_ptr<HttpServer> server_;
  std::thread run_;
  std::string url_;
};

TEST_F(LivePublishTest, AClearStreamReachesTheNodeByteForByteAndEnds) {
  LivePublishOptions o;
  o.info.title = "Friday set";
  o.info.part_ms = 100;
  o.nodes = {url_, "http://127.0.0.1:1"};  // the second is down: named, tried again
  std::vector<std::string> errors;
  o.on_node_error = [&](const std::string& e) { errors.push_back(e); };
  size_t heads = 0;
  o.on_head = [&](const TreeHead&) { ++heads; };
  Bytes input;
  auto r = Publish(o, &input);
  ASSERT_TRUE(r.ok()) << r.status().message();
  // This node serves streams only (no /ping, no /tracks): it cannot take the
  // sealed track, and says so; the down node was never sent it.
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].find("http://127.0.0.1:1: "), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("trying again"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("missed the stream's end"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find(url_ + ": did not store the sealed track"), std::string::npos)
      << errors[2];
  EXPECT_TRUE(r->stored_on.empty());
  ASSERT_TRUE(r->sealed);
  EXPECT_EQ(*r->sealed->root, r->root);
  EXPECT_EQ(r->sealed->ComputeRoot(), r->root);
  EXPECT_EQ(*r->sealed->stream, r->id);
  EXPECT_EQ(r->sealed->size, input.size());
  EXPECT_EQ(r->sealed->media.title, "Friday set");
  // It is an ordinary manifest: it reads back as written.
  auto again = ManifestFromJson(ManifestToJson(*r->sealed));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->ComputeRoot(), r->root);
  EXPECT_GT(r->chunks.size(), 1u);  // cut by time, not at the end
  EXPECT_EQ(heads, r->chunks.size() + 1);
  EXPECT_EQ(r->size, input.size());
  EXPECT_EQ(r->source_sha256, Sha256(input));
  std::string id = HexEncode(r->id);
  auto hashes = streams_->ChunkHashes(id);
  ASSERT_EQ(hashes.size(), r->chunks.size());
  EXPECT_EQ(MerkleRoot(hashes), r->root);
  Bytes stored;
  for (const auto& h : hashes) {
    Bytes b = *node_->chunks().Get(h);
    stored.insert(stored.end(), b.begin(), b.end());
  }
  EXPECT_EQ(stored, input);
  EXPECT_TRUE(streams_->Row(id)->ended);
}

TEST_F(LivePublishTest, AnEncryptedStreamOpensWithTheTrackKeyOnly) {
  LivePublishOptions o;
  o.info.part_ms = 100;
  o.nodes = {url_};
  o.key = TrackKey::Generate();
  Bytes input;
  auto r = Publish(o, &input);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto stream = ReadStreamDocument(r->stream);
  ASSERT_TRUE(stream.ok() && stream->info.encryption);
  Manifest m;
  m.chunks = r->chunks;
  m.size = r->size;
  m.encryption = stream->info.encryption;
  auto opener = ChunkOpener::Create(m, &*o.key);
  ASSERT_TRUE(opener.ok()) << opener.status().message();
  Bytes plain;
  for (size_t i = 0; i < m.chunks.size(); ++i) {
    Bytes stored = *node_->chunks().Get(m.chunks[i].hash);
    EXPECT_NE(stored, Bytes(input.begin(), input.begin() + std::min(stored.size(), input.size())));
    auto opened = opener->Open(i, stored, false);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    plain.insert(plain.end(), opened->begin(), opened->end());
  }
  EXPECT_EQ(plain, input);
  TrackKey other = TrackKey::Generate();
  EXPECT_EQ(ChunkOpener::Create(m, &other).status().code(), Code::kIntegrity);
}

TEST(PercentCodingTest, QueryValuesRoundTripAndBadEscapesAreRefused) {
  for (std::string text : {"", "Friday set", "a&b=c?d#e", "100% \xc3\xa9t\xc3\xa9", "~-._"}) {
    EXPECT_EQ(PercentDecode(PercentEncode(text)), text);
  }
  EXPECT_EQ(PercentEncode("a b&c"), "a%20b%26c");
  EXPECT_EQ(PercentDecode("a+b%2Bc"), "a b+c");
  for (const char* bad : {"%", "%4", "%g0", "a%0", "%00"})
    EXPECT_EQ(PercentDecode(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace digm
