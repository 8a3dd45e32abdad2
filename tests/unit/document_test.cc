#include "digm/document.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace digm
