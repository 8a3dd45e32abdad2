#include "digm/chunk_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "digm/file.h"

namespace digm {
namespace {

Status Errno(const std::string& what) {
  return Status::BadInput(what + ": " + std::strerror(errno));
}

}  // namespace

Result<ChunkStore> ChunkStore::Open(const std::string& dir, Options options) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT || !options.create) return Errno("cannot open store '" + dir + "'");
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return Errno("cannot create store '" + dir + "'");
    }
  } else if (!S_ISDIR(st.st_mode)) {
    return Status::BadInput("store '" + dir + "' is not a directory");
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0 && options.create) {
    return Errno("store '" + dir + "' is not writable");
  }
  return ChunkStore(dir, options);
}

std::string ChunkStore::PathFor(const Hash256& hash) const {
  std::string hex = HexEncode(hash);
  return dir_ + "/" + hex.substr(0, 2) + "/" + hex;
}

bool ChunkStore::Has(const Hash256& hash) const { return access(PathFor(hash).c_str(), F_OK) == 0; }

Status ChunkStore::Put(const Hash256& hash, std::span<const uint8_t> data) const {
  std::string path = PathFor(hash);
  if (access(path.c_str(), F_OK) == 0) return Status::Ok();  // deduplicated
  std::string shard = path.substr(0, dir_.size() + 3);
  if (mkdir(shard.c_str(), 0755) != 0 && errno != EEXIST) {
    return Errno("cannot create '" + shard + "'");
  }
  Status s;
  if (auto out = AtomicFile::Create(path, 0644); !out.ok()) {
    s = out.status();
  } else if (s = out->Write(data); s.ok()) {
    s = out->Commit(options_.fsync_each);
  }
  return s.ok() ? s : s.Context("storing chunk " + HexEncode(hash));
}

Result<Bytes> ChunkStore::Get(const Hash256& hash) const { return Read(hash, 0, UINT64_MAX); }

Result<Bytes> ChunkStore::Read(const Hash256& hash, uint64_t offset, uint64_t length) const {
  std::string path = PathFor(hash);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return Status::BadInput("chunk " + HexEncode(hash) + " is not in '" + dir_ + "'");
    }
    return Errno("cannot open '" + path + "'");
  }
  struct stat st;
  Bytes data;
  if (fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < offset) {
    close(fd);
    return Status::BadInput("offset " + std::to_string(offset) + " is past the end of chunk " +
                            HexEncode(hash));
  }
  data.resize(static_cast<size_t>(std::min(length, static_cast<uint64_t>(st.st_size) - offset)));
  if (offset && lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
    close(fd);
    return Errno("seeking in '" + path + "'");
  }
  auto n = ReadFull(fd, data);
  close(fd);
  if (!n.ok()) return n.status().Context("reading '" + path + "'");
  data.resize(*n);
  return data;
}

bool ChunkStore::Touch(const Hash256& hash, int64_t unix_ns) const {
  struct timespec t = {static_cast<time_t>(unix_ns / 1000000000),
                       static_cast<long>(unix_ns % 1000000000)};
  struct timespec times[2] = {t, t};
  return utimensat(AT_FDCWD, PathFor(hash).c_str(), times, 0) == 0;
}

Result<uint64_t> ChunkStore::Trim(uint64_t max_bytes) const {
  struct Held {
    struct timespec used;
    uint64_t size;
    std::string path;
  };
  std::vector<Held> held;
  uint64_t total = 0;
  try {  // another process may remove what is listed
    for (const auto& shard : std::filesystem::directory_iterator(dir_)) {
      std::string name = shard.path().filename();
      if (name.size() != 2) continue;  // chunk files' names are checked below
      std::error_code gone;
      for (const auto& f : std::filesystem::directory_iterator(shard.path(), gone)) {
        std::string file = f.path().filename();
        struct stat st;
        if (!IsHash(file) || file.compare(0, 2, name) != 0) continue;
        if (lstat(f.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        held.push_back({st.st_mtim, static_cast<uint64_t>(st.st_size), f.path()});
        total += static_cast<uint64_t>(st.st_size);
      }
    }
  } catch (const std::filesystem::filesystem_error& e) {
    return Status::BadInput("cannot list store '" + dir_ + "': " + e.code().message());
  }
  if (total <= max_bytes) return uint64_t{0};
  std::sort(held.begin(), held.end(), [](const Held& a, const Held& b) {
    return a.used.tv_sec != b.used.tv_sec ? a.used.tv_sec < b.used.tv_sec
                                          : a.used.tv_nsec < b.used.tv_nsec;
  });
  uint64_t removed = 0;
  for (const auto& h : held) {
    if (total - removed <= max_bytes) break;
    if (unlink(h.path.c_str()) == 0) removed += h.size;
  }
  return removed;
}

Status ChunkStore::Sync() const {
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open store '" + dir_ + "'");
  int rc = syncfs(fd);
  close(fd);
  if (rc != 0) return Errno("syncing store '" + dir_ + "'");
  return Status::Ok();
}

}  // namespace digm
