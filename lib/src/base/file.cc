#include "digm/file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace digm {
namespace {

std::string Quote(const std::string& path) { return path == "-" ? "stdin" : "'" + path + "'"; }

Status Errno(const std::string& what, int err) {
  return Status::BadInput(what + ": " + std::strerror(err));
}

// Temp files an interrupt must remove. Signal handlers read the table without
// locks, so slots are fixed buffers claimed under a mutex and published by an
// atomic flag.
constexpr int kSlots = 32;
constexpr size_t kPathMax = 4096;
struct TempSlot {
  std::atomic<bool> used{false};
  char path[kPathMax];
};
TempSlot g_slots[kSlots];
std::mutex g_slots_mu;

int ClaimSlot(const std::string& path) {
  if (path.size() >= kPathMax) return -1;
  std::lock_guard<std::mutex> lock(g_slots_mu);
  for (int i = 0; i < kSlots; ++i) {
    if (!g_slots[i].used.load()) {
      std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
      g_slots[i].used.store(true);
      return i;
    }
  }
  return -1;
}

void ReleaseSlot(int slot) {
  if (slot >= 0) g_slots[slot].used.store(false);
}

void OnInterrupt(int sig) {
  for (auto& slot : g_slots) {
    if (slot.used.load()) unlink(slot.path);
  }
  _exit(128 + sig);
}

}  // namespace

Result<int> OpenInput(const std::string& path) {
  if (path == "-") return 0;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::BadInput(Quote(path) + ": no such file");
    return Errno("cannot open " + Quote(path), err);
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    return Status::BadInput(Quote(path) + " is a directory, expected a file");
  }
  return fd;
}

Result<size_t> ReadFull(int fd, std::span<uint8_t> out) {
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = read(fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("read failed", errno);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  DIGM_ASSIGN_OR_RETURN(int fd, OpenInput(path));
  std::string data;
  // Room for the whole file and some slack, so parsers that want padding
  // after the text (simdjson) need no copy.
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    data.reserve(static_cast<size_t>(st.st_size) + 64);
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      if (fd != 0) close(fd);
      return Errno("reading " + Quote(path), err);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  if (fd != 0) close(fd);
  return data;
}

Status WriteAll(int fd, std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write failed", errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data) {
  return WriteAll(fd, std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

StreamWriter::StreamWriter(int fd) : fd_(fd) {
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) base_ = lseek(fd, 0, SEEK_CUR);
}

Status StreamWriter::Write(std::span<const uint8_t> data) {
  DIGM_RETURN_IF_ERROR(WriteAll(fd_, data));
  written_ += data.size();
  constexpr uint64_t kWriteback = 8 << 20;
  if (base_ >= 0 && written_ - started_ >= kWriteback) {
    (void)sync_file_range(fd_, static_cast<off_t>(base_) + static_cast<off_t>(started_),
                          static_cast<off_t>(written_ - started_), SYNC_FILE_RANGE_WRITE);
    started_ = written_;
  }
  return Status::Ok();
}

Result<AtomicFile> AtomicFile::Create(const std::string& path, unsigned mode) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::BadInput("'" + path + "' is a directory");
  }
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    // A device or a pipe (-o /dev/null, -o >(...)) is written in place:
    // renaming over it would replace it with a file.
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open '" + path + "'", errno);
    return AtomicFile(path, "", fd, -1);
  }
  std::string temp = path + ".tmp-XXXXXX";
  int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return Errno("cannot create '" + path + "'", errno);
  int slot = ClaimSlot(temp);
  if (fchmod(fd, mode) != 0) {
    int err = errno;
    close(fd);
    unlink(temp.c_str());
    ReleaseSlot(slot);
    return Errno("cannot set the mode of '" + path + "'", err);
  }
  return AtomicFile(path, std::move(temp), fd, slot);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      temp_(std::move(other.temp_)),
      fd_(other.fd_),
      slot_(other.slot_) {
  other.fd_ = -1;
  other.slot_ = -1;
  other.temp_.clear();
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) close(fd_);
  if (!temp_.empty()) unlink(temp_.c_str());
  ReleaseSlot(slot_);
}

Status AtomicFile::Write(std::span<const uint8_t> data) {
  Status s = WriteAll(fd_, data);
  return s.ok() ? s : s.Context("writing '" + path_ + "'");
}

Status AtomicFile::Write(std::string_view data) {
  return Write(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Status AtomicFile::Commit(bool sync) {
  if (temp_.empty()) {  // written in place
    int fd = fd_;
    fd_ = -1;
    return close(fd) == 0 ? Status::Ok() : Errno("writing '" + path_ + "'", errno);
  }
  if (sync && fsync(fd_) != 0) return Errno("writing '" + path_ + "'", errno);
  int fd = fd_;
  fd_ = -1;
  if (close(fd) != 0) return Errno("writing '" + path_ + "'", errno);
  if (rename(temp_.c_str(), path_.c_str()) != 0) {
    return Errno("cannot rename into '" + path_ + "'", errno);
  }
  temp_.clear();
  ReleaseSlot(slot_);
  slot_ = -1;
  return Status::Ok();
}

Status WriteOutput(const std::string& path, std::string_view data, unsigned mode) {
  if (path == "-") {
    Status s = WriteAll(1, data);
    return s.ok() ? s : s.Context("writing stdout");
  }
  DIGM_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(path, mode));
  DIGM_RETURN_IF_ERROR(out.Write(data));
  return out.Commit();
}

void InstallInterruptHandler() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

Status CheckSecretFileMode(const std::string& path) {
  struct stat st;
  if (path == "-" || stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return Status::Ok();
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return Status::BadInput("'" + path + "' is accessible by others (mode " + mode +
                            "); a secret file must be mode 0600");
  }
  return Status::Ok();
}

}  // namespace digm
