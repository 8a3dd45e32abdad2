// The auditor's database and judgement: challenges used once, strikes after
// three failed epochs and only then, the decaying score, and the verdict on
// answers from a real node handler.
#include <fcntl.h>
#include <unistd.h>

#include <set>

#include "digm/audit_db.h"
#include "digm/auditor.h"
#include "digm/chunker.h"
#include "digm/file.h"
#include "digm/node_store.h"
#include "digm/seed_api.h"
#include "test_util.h"

namespace digm {
namespace {

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Bytes data = testing::SomeBytes(40000, 3);  // three chunks of 16 KiB
    ASSERT_TRUE(WriteOutput(dir_ / "in", std::string(data.begin(), data.end())).ok());
    chunks_ = std::make_unique<ChunkStore>(*ChunkStore::Open(dir_ / "chunks", {}));
    int fd = open((dir_ / "in").c_str(), O_RDONLY);
    manifest_ = *ChunkStream(fd, {.chunk_size = 16384, .store = chunks_.get()});
    close(fd);
    manifest_.root = manifest_.ComputeRoot();
    root_ = HexEncode(*manifest_.root);
    db_ = std::move(AuditDb::Open(dir_ / "audit.db", true)).value();
  }

  AuditResult MakeResult(int64_t epoch, bool ok) {
    AuditResult r;
    r.epoch = epoch;
    r.node_id = "0xnode";
    r.root = root_;
    r.ok = ok;
    r.reason = ok ? "" : "missing";
    r.evidence = Json{{"epoch", epoch}};
    return r;
  }

  std::optional<Json> Epoch(int64_t epoch, bool ok) {
    return std::move(
               db_->RecordEpoch("0xnode", "http://n", epoch, {MakeResult(epoch, ok)}, nullptr))
        .value();
  }

  testing::TempDir dir_;
  std::unique_ptr<ChunkStore> chunks_;
  Manifest manifest_;
  std::string root_;
  std::unique_ptr<AuditDb> db_;
};

TEST_F(AuditTest, PrepareMakesCountChallengesPerChunk) {
  auto report = db_->Prepare(manifest_, *chunks_, 4);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->chunks, 3u);
  EXPECT_EQ(report->added, 12u);
  EXPECT_EQ(report->unused, 12u);
  EXPECT_EQ(*db_->PreparedRoots(), std::vector<std::string>{root_});
}

TEST_F(AuditTest, ChallengesAreTakenOnceAndAnswerFromTheChunk) {
  ASSERT_TRUE(db_->Prepare(manifest_, *chunks_, 5).ok());
  std::set<int64_t> ids;
  std::set<std::string> nonces;
  std::set<uint64_t> chunks;
  for (int epoch = 0; epoch < 20; ++epoch) {
    auto taken = db_->Take({root_}, 1, epoch, "0xnode");
    ASSERT_TRUE(taken.ok());
    if (taken->empty()) break;
    const Challenge& c = taken->front();
    EXPECT_TRUE(ids.insert(c.id).second);
    EXPECT_TRUE(nonces.insert(HexEncode(c.nonce)).second);
    chunks.insert(c.chunk);
    Bytes chunk = *chunks_->Get(manifest_.chunks[c.chunk].hash);
    ASSERT_LE(c.offset + c.length, chunk.size());
    EXPECT_EQ(c.length, std::min<uint64_t>(4096, chunk.size()));
    Sha256Hasher h;
    EXPECT_EQ(h.Digest(c.nonce, std::span(chunk.data() + c.offset, c.length)), c.expected);
  }
  EXPECT_EQ(ids.size(), 15u);
  EXPECT_EQ(chunks.size(), 3u);
  EXPECT_TRUE(db_->Take({root_}, 1, 99, "0xnode")->empty());
  auto low = *db_->LowStock();
  ASSERT_EQ(low.size(), 1u);
  EXPECT_EQ(low[0].unused, 0u);
  EXPECT_EQ(low[0].exhausted_chunks, 3u);
}

// A counter as the random source: the same seed draws the same challenges.
RandomSource Counter(uint8_t start) {
  auto next = std::make_shared<uint8_t>(start);
  return [next](std::span<uint8_t> out) {
    for (auto& b : out) b = (*next)++;
  };
}

TEST_F(AuditTest, AFixedClockAndRandomSourceMakeTheRunRepeatable) {
  auto challenges = [&](const std::string& name, uint8_t seed) {
    auto db = std::move(AuditDb::Open(
                            dir_ / name, true, [] { return int64_t{1767225600}; }, Counter(seed)))
                  .value();
    EXPECT_TRUE(db->Prepare(manifest_, *chunks_, 2).ok());
    std::vector<std::string> drawn;
    for (int epoch = 0; epoch < 6; ++epoch) {
      auto taken = db->Take({root_}, 1, epoch, "0xnode");
      for (const auto& c : *taken) {
        drawn.push_back(std::to_string(c.chunk) + ":" + HexEncode(c.nonce));
      }
    }
    auto index = db->FreshIndex(0, 0.9);
    EXPECT_EQ(StringOr(*index, "generated"), "2026-01-01T00:00:00Z");
    return drawn;
  };
  auto a = challenges("a.db", 1), b = challenges("b.db", 1), c = challenges("c.db", 2);
  EXPECT_EQ(a.size(), 6u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST_F(AuditTest, PrepareRefusesAChunkThatDoesNotMatchItsHash) {
  std::string path = chunks_->PathFor(manifest_.chunks[1].hash);
  ASSERT_TRUE(WriteOutput(path, "not the chunk").ok());
  auto report = db_->Prepare(manifest_, *chunks_, 2);
  EXPECT_EQ(report.status().code(), Code::kIntegrity);
  EXPECT_TRUE(db_->PreparedRoots()->empty());
}

TEST_F(AuditTest, ThirdFailedEpochInARowStrikesOnce) {
  EXPECT_FALSE(Epoch(1, true));
  EXPECT_FALSE(Epoch(2, false));
  EXPECT_FALSE(Epoch(3, false));
  auto slash = Epoch(4, false);
  ASSERT_TRUE(slash);
  EXPECT_EQ((*slash)["schema"], "digm.slash/1");
  EXPECT_EQ((*slash)["epoch"], 4);
  ASSERT_EQ((*slash)["evidence"].size(), 3u);
  EXPECT_EQ((*slash)["evidence"][0]["epoch"], 2);
  EXPECT_FALSE(Epoch(5, false));  // still failing: no second record
  EXPECT_FALSE(Epoch(6, true));   // recovers
  EXPECT_FALSE(Epoch(7, false));
  EXPECT_FALSE(Epoch(8, false));
  EXPECT_TRUE(Epoch(9, false));  // a new offence after recovering
}

TEST_F(AuditTest, RecordingAnEpochTwiceKeepsTheFirst) {
  Epoch(1, false);
  Epoch(2, false);
  auto slash = Epoch(3, false);
  ASSERT_TRUE(slash);
  auto again = db_->RecordEpoch("0xnode", "http://n", 3, {MakeResult(3, true)}, nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(**again, *slash);
  auto results = *db_->EpochResults("0xnode", 3);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].ok);
  auto index = *db_->FreshIndex(3, 0.9);
  EXPECT_EQ(index["nodes"][0]["failed"], 3);
}

TEST(DecayingScore, FollowsTheFormula) {
  EXPECT_EQ(DecayingScore({}, 0.9), 0);
  EXPECT_DOUBLE_EQ(DecayingScore({true}, 0.9), 1);
  EXPECT_DOUBLE_EQ(DecayingScore({true, true, false}, 0.9), 1.71 / 2.71);
  EXPECT_DOUBLE_EQ(DecayingScore({false, true}, 0.5), 1 / 1.5);
}

TEST_F(AuditTest, FreshIndexScoresAndHealth) {
  std::vector<bool> history = {true, true, false, true};
  for (size_t e = 0; e < history.size(); ++e) Epoch(static_cast<int64_t>(e + 1), history[e]);
  auto index = *db_->FreshIndex(4, 0.9);
  EXPECT_EQ(index["schema"], "digm.fresh-index/1");
  const Json& n = index["nodes"][0];
  EXPECT_NEAR(n["score"].get<double>(), DecayingScore(history, 0.9), 1e-6);
  EXPECT_FALSE(n["healthy"]);  // 0.85 < 0.9
  EXPECT_EQ(n["passed"], 3);
  EXPECT_EQ(n["consecutive_failures"], 0);
  for (int64_t e = 5; e <= 10; ++e) Epoch(e, true);
  EXPECT_TRUE((*db_->FreshIndex(10, 0.9))["nodes"][0]["healthy"]);
  EXPECT_TRUE((*db_->FreshIndex(11, 0.9))["nodes"][0]["healthy"]);
  EXPECT_FALSE((*db_->FreshIndex(12, 0.9))["nodes"][0]["healthy"]);  // not audited lately
}

TEST_F(AuditTest, JudgesANodesAnswers) {
  auto store = std::move(NodeStore::Open(dir_ / "node", true)).value();
  ASSERT_TRUE(store->ImportTrack(manifest_, *chunks_).ok());
  Wallet node = Wallet::Generate(), other = Wallet::Generate();
  SeedApi api(*store, node, SeedApi::Options{.url = "http://127.0.0.1:1"});
  ASSERT_TRUE(db_->Prepare(manifest_, *chunks_, 2).ok());
  Challenge c = db_->Take({root_}, 1, 1, "n")->front();
  auto ask = [&] {
    return api.Handle(HttpRequest{"POST", "/audit", {}, DumpDocument(c.ToJson()), "127.0.0.1"});
  };
  std::string id = AddressToString(node.address);
  Json response;
  auto honest = ask();
  EXPECT_EQ(JudgeResponse(c, id, honest.status, honest.body, &response), "");
  EXPECT_EQ(response["node_id"], id);
  EXPECT_EQ(JudgeResponse(c, AddressToString(other.address), honest.status, honest.body, &response),
            "wrong-signer");
  Json forged = response;
  forged["digest"] = std::string(64, '0');
  EXPECT_EQ(JudgeResponse(c, id, 200, DumpDocument(forged), &response), "bad-signature");
  SignDocument(forged, node);
  EXPECT_EQ(JudgeResponse(c, id, 200, DumpDocument(forged), &response), "wrong-digest");
  // Outsourcing: another key re-signing the holder's answer as its own fails,
  // for the answer is bound to the key that gives it.
  Json relayed = Json::parse(honest.body);
  relayed["node_id"] = AddressToString(other.address);
  SignDocument(relayed, other);
  EXPECT_EQ(JudgeResponse(c, AddressToString(other.address), 200, DumpDocument(relayed), &response),
            "wrong-digest");
  EXPECT_EQ(JudgeResponse(c, id, 200, "{}", &response), "bad-response");
  EXPECT_EQ(JudgeResponse(c, id, 503, "", &response), "http-503");
  ASSERT_EQ(unlink(store->chunks().PathFor(manifest_.chunks[c.chunk].hash).c_str()), 0);
  auto gone = ask();
  EXPECT_EQ(JudgeResponse(c, id, gone.status, gone.body, &response), "missing");
}

}  // namespace
}  // namespace digm
