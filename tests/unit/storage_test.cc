// A swarm download's storage (lib/src/bt/storage.cc): blocks gathered in
// memory and settled pieces must read back exactly as if every byte had gone
// to the file, whichever way each block went: into memory, past the budget
// to the file, or flushed when a piece is released before it is whole.
#include "bt/storage.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "digm/file.h"
#include "test_util.h"

namespace digm::bt {
namespace {

constexpr size_t kBlock = 16 << 10;
constexpr size_t kPiece = 4 * kBlock;

class DownloadStorageTest : public ::testing::Test {
 protected:
  // A storage over a new file in the test's folder, holding at most
  // `budget` bytes of pieces in memory.
  std::shared_ptr<Storage> Make(size_t budget) {
    path_ = dir_ / "swarm";
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd_, 0);
    return DownloadStorage(fd_, budget);
  }
  // Gives block `b` of piece `p` to the storage as libtorrent's disk I/O
  // does: into memory when it takes it, else to the file.
  bool Give(Storage& s, size_t p, size_t b) {
    const char* at = bytes_.data() + p * kPiece + b * kBlock;
    if (s.TakeBlock(p * kPiece, kPiece, b * kBlock, at, kBlock)) return true;
    EXPECT_TRUE(s.Write(p * kPiece + b * kBlock, at, kBlock));
    return false;
  }
  std::string Read(Storage& s, uint64_t offset, size_t n) {
    std::string out(n, '\0');
    EXPECT_TRUE(s.Read(offset, out.data(), n));
    return out;
  }
  // What the file itself holds at `offset`.
  std::string OnDisk(uint64_t offset, size_t n) {
    std::string out(n, '\0');
    EXPECT_EQ(pread(fd_, out.data(), n, static_cast<off_t>(offset)), static_cast<ssize_t>(n));
    return out;
  }
  std::string Want(uint64_t offset, size_t n) { return bytes_.substr(offset, n); }

  testing::TempDir dir_;
  std::string path_;
  int fd_ = -1;
  std::string bytes_ = [] {
    Bytes b = testing::SomeBytes(4 * kPiece, 7);
    return std::string(b.begin(), b.end());
  }();
};

TEST_F(DownloadStorageTest, APieceGatheredInMemoryIsHashedFromItAndReachesTheFileWhenSettled) {
  auto s = Make(2 * kPiece);
  for (size_t b : {2, 0, 3, 1}) EXPECT_TRUE(Give(*s, 1, b));  // in any order
  struct stat st;
  ASSERT_EQ(fstat(fd_, &st), 0);
  EXPECT_EQ(st.st_size, 0);  // not one write yet
  EXPECT_EQ(Read(*s, kPiece + 100, 2 * kBlock), Want(kPiece + 100, 2 * kBlock));

  auto piece = s->Settle(kPiece);
  ASSERT_NE(piece, nullptr);
  EXPECT_EQ(std::string(piece->data.get(), piece->size), Want(kPiece, kPiece));
  EXPECT_EQ(s->Settle(kPiece), piece);  // the same bytes, not written twice
  EXPECT_EQ(OnDisk(kPiece, kPiece), Want(kPiece, kPiece));

  // Taken by the fetch: memory lets go, and the file answers the same.
  s->Release(kPiece, kPiece);
  EXPECT_EQ(s->Settle(kPiece), nullptr);
  EXPECT_EQ(Read(*s, kPiece, kPiece), Want(kPiece, kPiece));
}

TEST_F(DownloadStorageTest, PastTheBudgetBlocksGoToTheFileAndReadsSpanBoth) {
  auto s = Make(kPiece);
  EXPECT_TRUE(Give(*s, 0, 0));
  EXPECT_FALSE(Give(*s, 2, 0));  // a second piece does not fit: the file takes it
  for (size_t b = 1; b < 4; ++b) EXPECT_TRUE(Give(*s, 0, b));
  for (size_t b = 1; b < 4; ++b) EXPECT_FALSE(Give(*s, 2, b));
  ASSERT_NE(s->Settle(0), nullptr);
  EXPECT_EQ(s->Settle(2 * kPiece), nullptr);  // not held: read from the file
  // A read across a held piece, the file's gap between, and the file's piece.
  for (size_t b = 0; b < 4; ++b) Give(*s, 1, b);
  EXPECT_EQ(Read(*s, kBlock, 3 * kPiece - 2 * kBlock), Want(kBlock, 3 * kPiece - 2 * kBlock));
}

TEST_F(DownloadStorageTest, APieceReleasedBeforeItIsWholeKeepsEveryBlockItGot) {
  auto s = Make(4 * kPiece);
  EXPECT_TRUE(Give(*s, 3, 0));
  EXPECT_TRUE(Give(*s, 3, 2));
  // Its chunk came from an HTTP node: what memory holds goes to the file, and
  // the blocks still in flight then land in a new buffer.
  s->Release(3 * kPiece, kPiece);
  EXPECT_EQ(OnDisk(3 * kPiece, kBlock), Want(3 * kPiece, kBlock));
  EXPECT_TRUE(Give(*s, 3, 1));
  EXPECT_TRUE(Give(*s, 3, 3));
  // Settling finds it partly on disk: the rest is written, and it is read
  // from the file, whole and right.
  EXPECT_EQ(s->Settle(3 * kPiece), nullptr);
  EXPECT_EQ(OnDisk(3 * kPiece, kPiece), Want(3 * kPiece, kPiece));
  EXPECT_EQ(Read(*s, 3 * kPiece, kPiece), Want(3 * kPiece, kPiece));
}

TEST_F(DownloadStorageTest, APieceThatFailedItsHashIsForgottenAndGatheredAgain) {
  auto s = Make(4 * kPiece);
  std::string bad(kBlock, 'x');
  EXPECT_TRUE(s->TakeBlock(0, kPiece, 0, bad.data(), kBlock));
  for (size_t b = 1; b < 4; ++b) Give(*s, 0, b);
  auto piece = s->Settle(0);
  ASSERT_NE(piece, nullptr);
  EXPECT_EQ(std::string(piece->data.get(), kBlock), bad);
  s->Clear(0);  // libtorrent's verdict: it is downloaded again
  for (size_t b = 0; b < 4; ++b) EXPECT_TRUE(Give(*s, 0, b));
  piece = s->Settle(0);
  ASSERT_NE(piece, nullptr);
  EXPECT_EQ(std::string(piece->data.get(), piece->size), Want(0, kPiece));
  EXPECT_EQ(OnDisk(0, kPiece), Want(0, kPiece));
  // A block that does not fit its piece, and part of a block, go to the
  // file; a short last piece is held.
  EXPECT_FALSE(s->TakeBlock(kPiece, kPiece, kPiece - kBlock, bad.data(), 2 * kBlock));
  EXPECT_FALSE(s->TakeBlock(kPiece, kPiece, 100, bad.data(), 1000));
  EXPECT_FALSE(s->TakeBlock(kPiece, kPiece, 0, bad.data(), 1000));
  EXPECT_TRUE(s->TakeBlock(2 * kPiece, 100, 0, bytes_.data() + 2 * kPiece, 100));
  EXPECT_EQ(Read(*s, 2 * kPiece, 100), Want(2 * kPiece, 100));
}

TEST_F(DownloadStorageTest, OnceTheFileCannotBeWrittenEveryReadOfItFailsWithTheError) {
  // A file the storage cannot write to, as a full disk: each write fails.
  path_ = dir_ / "swarm";
  ASSERT_TRUE(WriteOutput(path_, "").ok());
  fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd_, 0);
  auto s = DownloadStorage(fd_, 4 * kPiece);
  for (size_t b = 0; b < 4; ++b) EXPECT_TRUE(Give(*s, 0, b));
  // Its hash is still taken from memory, where the fetch reads it too.
  auto piece = s->Settle(0);
  ASSERT_NE(piece, nullptr);
  EXPECT_EQ(std::string(piece->data.get(), piece->size), Want(0, kPiece));
  EXPECT_EQ(Read(*s, 0, kPiece), Want(0, kPiece));
  // What needs the file fails, with the write's error, not with its zeros.
  s->Release(0, kPiece);
  std::string out(kBlock, '\0');
  errno = 0;
  EXPECT_FALSE(s->Read(0, out.data(), kBlock));
  EXPECT_EQ(errno, EBADF);
  EXPECT_FALSE(s->Write(kPiece, out.data(), kBlock));
}

}  // namespace
}  // namespace digm::bt
