#include "digm/wallet.h"

#include <gtest/gtest.h>

#include <set>

#include "digm/crypto.h"
#include "digm/keccak.h"
#include "digm/key_wrap.h"
#include "digm/rendezvous.h"
#include "test_util.h"

namespace digm {
namespace {

std::span<const uint8_t> Str(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::array<uint8_t, 32> Secret(uint8_t last) {
  std::array<uint8_t, 32> s{};
  s[31] = last;
  return s;
}

TEST(Keccak256, KnownAnswersAcrossTheRate) {
  EXPECT_EQ(HexEncode(Keccak256({})),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  int checked = 0;
  for (const auto& file : testing::VectorFiles("keccak")) {
    Json v = testing::ReadJsonFile(file);
    ASSERT_EQ(v["expect"], "ok");
    EXPECT_EQ(HexEncode(Keccak256(Str(v["message_ascii"]))), v["keccak256"]) << file;
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

TEST(Wallet, AddressesOfKnownSecrets) {
  EXPECT_EQ(AddressToString(Wallet::FromSecret(Secret(1))->address),
            "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf");
  EXPECT_EQ(AddressToString(Wallet::FromSecret(Secret(2))->address),
            "0x2b5ad5c4795c026514f8317c7a215e218dccd6cf");
  EXPECT_EQ(Wallet::FromSecret(Secret(0)).status().message(), "not a valid secp256k1 secret key");
}

TEST(Wallet, JsonRoundTripAndDamage) {
  Wallet w = Wallet::Generate();
  auto back = WalletFromJson(WalletToJson(w));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->address, w.address);
  EXPECT_FALSE(IdentityToJson(w).contains("secret"));
  Json damaged = WalletToJson(w);
  damaged["address"] = AddressToString(Wallet::Generate().address);
  EXPECT_EQ(WalletFromJson(damaged).status().message(),
            "\"address\" is not the address of this secret: the wallet is damaged");
}

TEST(Signature, RecoversTheSigner) {
  Wallet w = *Wallet::FromSecret(Secret(1));
  Hash256 h = Sha256(Str("digm"));
  Signature sig = SignHash(w, h);
  EXPECT_TRUE(sig[64] == 27 || sig[64] == 28);
  EXPECT_EQ(*RecoverSigner(h, sig), w.address);
  Hash256 other = Sha256(Str("digm!"));
  auto r = RecoverSigner(other, sig);
  EXPECT_TRUE(!r.ok() || *r != w.address);
}

TEST(SignedDocument, CanonicalFormSortsAndDropsTheSignature) {
  Json doc = Json{{"schema", "digm.peer/1"}, {"url", "http://x"}, {"a", 1}, {"signature", "zz"}};
  EXPECT_EQ(CanonicalForm(doc), R"({"a":1,"schema":"digm.peer/1","url":"http://x"})");
}

TEST(SignedDocument, VerifiesAndCatchesForgeries) {
  Wallet w = Wallet::Generate();
  Json doc =
      Json{{"schema", "digm.pin/1"}, {"root", std::string(64, 'a')}, {"desired_replicas", 3}};
  SignDocument(doc, w);
  EXPECT_EQ(*VerifyDocument(doc), w.address);
  Json changed = doc;
  changed["desired_replicas"] = 30;
  auto r = VerifyDocument(changed);
  EXPECT_EQ(r.status().code(), Code::kIntegrity);
  EXPECT_EQ(r.status().message().rfind("bad signature: signed by 0x", 0), 0u);
  Json claimed = doc;
  claimed["signer"] = AddressToString(Wallet::Generate().address);
  EXPECT_FALSE(VerifyDocument(claimed).ok());
  Json unsigned_doc = doc;
  unsigned_doc.erase("signature");
  EXPECT_EQ(VerifyDocument(unsigned_doc).status().message(),
            "unsigned document: no \"signer\" and \"signature\"");
  Json reordered = Json::parse(doc.dump());
  Json rebuilt = Json::object();
  for (auto it = reordered.rbegin(); it != reordered.rend(); ++it) rebuilt[it.key()] = it.value();
  EXPECT_EQ(*VerifyDocument(rebuilt), w.address) << "member order does not matter";
}

// A signer seen before is checked against its key rather than recovered:
// the answers must be the ones recovery gives, for every document.
TEST(SignedDocument, AKnownSignerGetsTheAnswersRecoveryGives) {
  Wallet w = Wallet::Generate();
  Json doc = Json{{"schema", "digm.voucher/1"}, {"seq", 1}};
  SignDocument(doc, w);
  ASSERT_EQ(*VerifyDocument(doc), w.address);  // now known
  EXPECT_EQ(*VerifyDocument(doc), w.address);
  // The same signature with s replaced by n - s (and the other recovery id)
  // recovers to the same key, so it verifies as it did before.
  static constexpr uint8_t kOrder[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                         0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
                                         0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B,
                                         0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};
  Signature sig;
  ASSERT_TRUE(HexDecodeInto(doc["signature"].get<std::string>(), sig).ok());
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = kOrder[i] - sig[32 + i] - borrow;
    borrow = d < 0;
    sig[32 + i] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
  }
  sig[64] = sig[64] == 27 ? 28 : 27;
  Json high_s = doc;
  high_s["signature"] = HexEncode(sig);
  EXPECT_EQ(*VerifyDocument(high_s), w.address);
  // Another key's signature claiming the known signer is refused with the
  // recovered signer named, as for an unknown one.
  Wallet other = Wallet::Generate();
  Json forged = doc;
  forged["signature"] = HexEncode(SignHash(other, Sha256(Str(CanonicalForm(doc)))));
  EXPECT_EQ(VerifyDocument(forged).status().message(), "bad signature: signed by " +
                                                           AddressToString(other.address) +
                                                           ", not " + AddressToString(w.address));
  Json changed = doc;
  changed["seq"] = 2;
  EXPECT_EQ(VerifyDocument(changed).status().code(), Code::kIntegrity);
}

// A signature checked against the signer expected gives what recovery
// gives, before and after that signer's key is known, and for another's.
TEST(SignedHash, RecoveringWithAnExpectedSignerGivesTheSameAnswers) {
  Wallet w = Wallet::Generate(), other = Wallet::Generate();
  Hash256 hash{};
  hash[0] = 0x5a;  // any 32 bytes
  Signature sig = SignHash(w, hash);
  for (int round = 0; round < 2; ++round) {  // unknown, then known
    EXPECT_EQ(*RecoverSigner(hash, sig, w.address), w.address) << round;
    EXPECT_EQ(*RecoverSigner(hash, sig, other.address), w.address) << round;
  }
  Hash256 changed = hash;
  changed[0] ^= 1;
  auto expected = RecoverSigner(changed, sig), got = RecoverSigner(changed, sig, w.address);
  ASSERT_EQ(got.ok(), expected.ok());
  if (got.ok()) {
    EXPECT_EQ(*got, *expected);
    EXPECT_NE(*got, w.address);
  }
  Signature bad{};
  EXPECT_EQ(RecoverSigner(hash, bad, w.address).status().code(), Code::kIntegrity);
}

TEST(Rendezvous, StableAndMinimalMovement) {
  std::vector<std::string> nodes = {"0xa", "0xb", "0xc", "0xd", "0xe"};
  auto rank = RendezvousRank("root1", nodes);
  ASSERT_EQ(rank.size(), 5u);
  auto shuffled = nodes;
  std::reverse(shuffled.begin(), shuffled.end());
  EXPECT_EQ(RendezvousRank("root1", shuffled), rank) << "input order does not matter";
  // Removing one node keeps the others in the same relative order.
  auto without = nodes;
  without.erase(std::find(without.begin(), without.end(), rank[1]));
  auto rank2 = RendezvousRank("root1", without);
  std::vector<std::string> expected = rank;
  expected.erase(expected.begin() + 1);
  EXPECT_EQ(rank2, expected);
  // Different roots spread over different nodes.
  std::set<std::string> firsts;
  for (int i = 0; i < 50; ++i) firsts.insert(RendezvousRank("root" + std::to_string(i), nodes)[0]);
  EXPECT_GE(firsts.size(), 4u);
}

}  // namespace
}  // namespace digm

namespace digm {
namespace {

TEST(KeyWrap, OnlyTheBuyerUnwraps) {
  TrackKey key = TrackKey::Generate();
  Wallet buyer = Wallet::Generate(), other = Wallet::Generate();
  auto wrapped = WrapKey(key, buyer.public_key);
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ((*wrapped)["recipient"], AddressToString(buyer.address));
  EXPECT_EQ((*wrapped)["sealed"].get<std::string>().size(), 96u);
  auto back = UnwrapKey(*wrapped, buyer);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->key, key.key);
  EXPECT_EQ(UnwrapKey(*wrapped, other).status().code(), Code::kIntegrity);
  // Addressed to the other wallet but sealed for the buyer: the tag refuses it.
  Json redirected = *wrapped;
  redirected["recipient"] = AddressToString(other.address);
  EXPECT_EQ(UnwrapKey(redirected, other).status().message(),
            "the wrapped key does not open with this wallet");
  Json tampered = *wrapped;
  std::string sealed = tampered["sealed"];
  sealed[0] = sealed[0] == '0' ? '1' : '0';
  tampered["sealed"] = sealed;
  EXPECT_EQ(UnwrapKey(tampered, buyer).status().code(), Code::kIntegrity);
  Json other_id = *wrapped;
  other_id["key_id"] = HexEncode(TrackKey::Generate().id);
  EXPECT_FALSE(UnwrapKey(other_id, buyer).ok()) << "the key id is bound as additional data";
}

}  // namespace
}  // namespace digm

#include "digm/fetcher.h"

namespace digm {
namespace {

TEST(Receipt, SignedByTheListenerAndNamesTheDropped) {
  Manifest m;
  m.size = 20000;
  m.chunk_size = 16384;
  m.chunks = {ChunkRef{Sha256(testing::SomeBytes(4, 1)), 16384, 16384, false},
              ChunkRef{Sha256(testing::SomeBytes(4, 2)), 3616, 3616, false}};
  FetchResult r;
  r.started = 1795000000;
  r.finished = 1795000002;
  r.deliveries = {Delivery{"http://a", "0xaa", {0}, 16384, false, ""},
                  Delivery{"http://b", "0xbb", {1}, 3616, false, ""},
                  Delivery{"http://c", "0xcc", {}, 0, true, "served bad bytes for chunk 1"}};
  Wallet listener = *Wallet::FromSecret(Secret(1));
  Json receipt = MakeReceipt(m, r, listener);
  EXPECT_EQ(receipt["schema"], "digm.receipt/1");
  EXPECT_EQ(receipt["root"], HexEncode(m.ComputeRoot()));
  EXPECT_EQ(receipt["started"], "2026-11-18T11:06:40Z");
  EXPECT_EQ(receipt["deliveries"].size(), 2u);
  EXPECT_EQ(receipt["dropped"][0]["url"], "http://c");
  EXPECT_EQ(AddressToString(*VerifyDocument(receipt)),
            "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf");
  receipt["deliveries"][0]["bytes"] = 999999;  // a listener cannot be made to pay more
  EXPECT_FALSE(VerifyDocument(receipt).ok());
}

}  // namespace
}  // namespace digm
