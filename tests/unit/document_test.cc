#include "digm/document.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "digm/file.h"
#include "test_util.h"

namespace digm {
namespace {

Status Check(const std::string& text, const char* kind = "manifest") {
  auto doc = ParseJson(text);
  if (!doc.ok()) return doc.status();
  return CheckSchema(*doc, kind, 1);
}

TEST(Schema, AcceptsKnownKindAndOlderOrMinorVersions) {
  EXPECT_TRUE(Check(R"({"schema":"digm.manifest/1"})").ok());
  EXPECT_TRUE(Check(R"({"schema":"digm.manifest/1.3","extra":1})").ok());
}

TEST(Schema, ErrorsSayWhatWasFound) {
  EXPECT_EQ(Check(R"({"a":1})").message(), "missing \"schema\" member: not a digm document");
  EXPECT_EQ(Check(R"([1,2])").message(), "expected a JSON object, got array");
  EXPECT_EQ(Check(R"({"schema":5})").message(), "\"schema\" must be a string");
  EXPECT_EQ(Check(R"({"schema":"digm.proof/1"})").message(),
            "expected a digm.manifest document, got digm.proof/1");
  EXPECT_EQ(Check(R"({"schema":"digm.manifest/2"})").message(),
            "digm.manifest/2 is newer than this tool reads (digm.manifest/1)");
  EXPECT_EQ(Check(R"({"schema":"manifest"})").message(),
            "\"schema\" is \"manifest\", expected \"digm.<kind>/<version>\"");
  EXPECT_EQ(Check(R"({"schema":"digm.manifest/x"})").code(), Code::kBadInput);
}

TEST(Json, ParseErrorsGivePosition) {
  EXPECT_EQ(ParseJson("").status().message(), "invalid JSON: empty input");
  std::string m = ParseJson("{\n  \"a\": }").status().message();
  EXPECT_EQ(m.rfind("invalid JSON: line 2, column 8:", 0), 0u) << m;
}

TEST(Json, ReadDocumentNamesTheFile) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteOutput(dir / "p.json", R"({"schema":"digm.pong/1"})").ok());
  auto r = ReadDocument(dir / "p.json", "manifest", 1);
  EXPECT_EQ(r.status().message(),
            "reading '" + dir / "p.json" + "': expected a digm.manifest document, got digm.pong/1");
  EXPECT_EQ(ReadDocument(dir / "nope.json", "manifest", 1).status().message(),
            "'" + dir / "nope.json" + "': no such file");
}

TEST(Json, DeepNestingIsRefusedBeforeParsing) {
  // 200,000 levels once crashed every reader: nlohmann copies and dumps recurse.
  for (const std::string& deep : {std::string(200000, '['), std::string(100000, '{') + "\"a\":"}) {
    auto r = ParseJson(deep);
    EXPECT_EQ(r.status().code(), Code::kBadInput);
    EXPECT_EQ(r.status().message(), "invalid JSON: nested deeper than 64 levels");
  }
  std::string deepest = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(ParseJson(deepest).ok());
  EXPECT_FALSE(ParseJson("[" + deepest + "]").ok());
  // Brackets in strings, escaped quotes included, are text.
  EXPECT_TRUE(ParseJson(R"({"a":")" + std::string(1000, '[') + R"("})").ok());
  EXPECT_TRUE(ParseJson(R"(["\"[[[[[", "\\", "{{{"])").ok());
  EXPECT_EQ(ParseJson("[1]", 2).status().message(), "invalid JSON: longer than 2 bytes");
}

TEST(Json, NumbersOutOfRangeAreBadInput) {
  // 1e400 made nlohmann throw out_of_range past ParseJson: an abort.
  auto r = ParseJson(R"({"size":1e400})");
  EXPECT_EQ(r.status().code(), Code::kBadInput);
  EXPECT_NE(r.status().message().find("number overflow"), std::string::npos)
      << r.status().message();
}

TEST(Json, LenientMembersNeverThrow) {
  Json doc = Json::parse(R"({"s":"x","n":2.5,"b":true,"null":null,"o":{}})");
  EXPECT_EQ(StringOr(doc, "s"), "x");
  EXPECT_EQ(StringOr(doc, "null", "d"), "d");
  EXPECT_EQ(StringOr(doc, "n"), "");
  EXPECT_EQ(NumberOr(doc, "n", 0), 2.5);
  EXPECT_EQ(NumberOr(doc, "s", 7), 7);
  EXPECT_TRUE(BoolOr(doc, "b", false));
  EXPECT_FALSE(BoolOr(doc, "o", false));
  EXPECT_EQ(StringOr(Json::array(), "s", "d"), "d");
}

TEST(SecretDocument, ParseErrorsNeverQuoteTheSecret) {
  testing::TempDir dir;
  const std::string secret = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
  int n = 0;
  for (const std::string& text : {R"({"schema":"digm.wallet/1","secret":")" + secret + R"("x})",
                                  R"({"schema":"digm.wallet/1","secret":")" + secret + "x",
                                  R"({"schema":"digm.wallet/1","secret":)" + secret + "}",
                                  R"({"schema":"digm.key/1","key":")" + secret + R"(",,})"}) {
    std::string path = dir / ("w" + std::to_string(n++));
    ASSERT_TRUE(WriteOutput(path, text, 0600).ok());
    auto r = ReadSecretDocument(path, "wallet", 1);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kBadInput);
    const std::string& m = r.status().message();
    EXPECT_EQ(m.find(secret.substr(0, 8)), std::string::npos) << m;
    EXPECT_EQ(m.rfind("reading '" + path + "': not valid JSON at line 1, column ", 0), 0u) << m;
  }
}

TEST(AtomicFile, UncommittedLeavesNothing) {
  testing::TempDir dir;
  {
    auto f = AtomicFile::Create(dir / "out");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->Write("partial").ok());
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  auto f = AtomicFile::Create(dir / "out", 0600);
  ASSERT_TRUE(f->Write("whole").ok());
  ASSERT_TRUE(f->Commit().ok());
  EXPECT_EQ(*ReadWholeFile(dir / "out"), "whole");
  EXPECT_EQ(std::filesystem::status(dir / "out").permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(StreamWriter, WritesInOrderFromTheFilesOffsetAndIntoAPipe) {
  testing::TempDir dir;
  // 20 MiB: past two writeback steps; after a header written before it.
  std::string big(20 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 4096);
  auto bytes = [](std::string_view s) {
    return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  auto f = AtomicFile::Create(dir / "out");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Write("header").ok());
  StreamWriter out(f->fd());
  for (size_t at = 0; at < big.size(); at += 3 << 20) {
    ASSERT_TRUE(out.Write(bytes(std::string_view(big).substr(at, 3 << 20))).ok());
  }
  ASSERT_TRUE(f->Commit().ok());
  EXPECT_EQ(*ReadWholeFile(dir / "out"), "header" + big);

  int p[2];
  ASSERT_EQ(pipe(p), 0);
  StreamWriter to_pipe(p[1]);
  EXPECT_TRUE(to_pipe.Write(bytes("through a pipe")).ok());
  close(p[1]);
  char got[32] = {};
  EXPECT_EQ(read(p[0], got, sizeof got), 14);
  close(p[0]);
  EXPECT_EQ(std::string(got), "through a pipe");
}

}  // namespace
}  // namespace digm
