#include "digm/crypto.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace digm {
namespace {

using testing::FromHex;

std::span<const uint8_t> Str(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256(Str("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  Bytes data = testing::SomeBytes(100000, 1);
  Sha256Hasher h;
  for (size_t at = 0; at < data.size(); at += 777) {
    h.Update(std::span(data).subspan(at, std::min<size_t>(777, data.size() - at)));
  }
  EXPECT_EQ(h.Final(), Sha256(data));
  EXPECT_EQ(h.Final(), Sha256({})) << "Final resets the hasher";
}

TEST(Hex, RoundTripAndStrictDecoding) {
  Bytes b = {0x00, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "00abff");
  EXPECT_EQ(*HexDecode("00ABff"), b);
  EXPECT_EQ(HexDecode("abc").status().message(), "odd number of hex characters");
  EXPECT_EQ(HexDecode("0g").status().message(), "not a hex digit at position 1");
  EXPECT_EQ(HexDecodeArray<4>("00").status().message(), "expected 8 hex characters, got 2");
  EXPECT_EQ(HexDecode("zz").status().code(), Code::kBadInput);
}

// Each file in vectors/gcm is one case; "expect" names the outcome, so a
// tag failure can never pass for a successful decryption or the reverse.
TEST(Aes256Gcm, KnownAnswerVectors) {
  int checked = 0;
  for (const auto& file : testing::VectorFiles("gcm")) {
    SCOPED_TRACE(file.filename().string());
    Json v = testing::ReadJsonFile(file);
    Key256 key;
    ASSERT_TRUE(HexDecodeInto(v["key"].get<std::string>(), key).ok());
    GcmNonce iv;
    ASSERT_TRUE(HexDecodeInto(v["iv"].get<std::string>(), iv).ok());
    Bytes aad = FromHex(v["aad"]), plain = FromHex(v["plaintext"]);
    Bytes sealed = FromHex(v["ciphertext"].get<std::string>() + v["tag"].get<std::string>());
    Aes256Gcm gcm(key);
    Bytes out(sealed.size());
    Status s = gcm.Open(iv, aad, sealed, out);
    std::string expect = v["expect"];
    if (expect == "ok") {
      ASSERT_TRUE(s.ok()) << s.message();
      out.resize(plain.size());
      EXPECT_EQ(out, plain);
      Bytes again(plain.size() + kGcmTagSize);
      gcm.Seal(iv, aad, plain, again);
      EXPECT_EQ(again, sealed);
    } else {
      ASSERT_EQ(expect, "tag-mismatch");
      EXPECT_EQ(s.code(), Code::kIntegrity);
      EXPECT_EQ(s.message(), "authentication tag mismatch");
    }
    ++checked;
  }
  EXPECT_GE(checked, 9);
}

TEST(Aes256Gcm, SealsInPlaceAndRejectsShortInput) {
  Key256 key{};
  key[0] = 7;
  GcmNonce iv{};
  Aes256Gcm gcm(key);
  Bytes buf = testing::SomeBytes(1000, 2);
  Bytes original = buf;
  buf.resize(1000 + kGcmTagSize);
  gcm.Seal(iv, {}, std::span(buf).first(1000), buf);
  EXPECT_NE(Bytes(buf.begin(), buf.begin() + 1000), original);
  ASSERT_TRUE(gcm.Open(iv, {}, buf, buf).ok());
  EXPECT_EQ(Bytes(buf.begin(), buf.begin() + 1000), original);
  Bytes tiny(5);
  EXPECT_EQ(gcm.Open(iv, {}, tiny, tiny).message(),
            "ciphertext shorter than its authentication tag");
}

TEST(Random, BytesDiffer) {
  Key256 a, b;
  RandomBytes(a);
  RandomBytes(b);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace digm
