// Files: whole-file reads, inputs that may be "-" (stdin), and outputs that
// appear atomically (temp file in the target's folder, fsync, rename) so a
// failed or interrupted run never leaves a partial file at the target path.
// An AtomicFile is owned by one thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "digm/status.h"

namespace digm {

// Reads all of `path` ("-" is stdin). Errors are BadInput and name the path.
Result<std::string> ReadWholeFile(const std::string& path);

// Opens `path` for streaming reads ("-" is stdin, returned as fd 0). Refuses a
// directory. The caller closes the descriptor (unless it is 0).
Result<int> OpenInput(const std::string& path);

// Writes exactly `data` to `fd`, retrying short writes and EINTR.
Status WriteAll(int fd, std::span<const uint8_t> data);
Status WriteAll(int fd, std::string_view data);

// Writes a long output in order, as WriteAll does, and hands each 8 MiB
// written to a regular file to the disk's writeback at once
// (sync_file_range), so the fsync that commits the file waits only for the
// last few MiB (it was about a third of fetching 256 MiB from local nodes).
// For a pipe or a terminal it only writes.
class StreamWriter {
 public:
  explicit StreamWriter(int fd);
  Status Write(std::span<const uint8_t> data);

 private:
  int fd_;
  int64_t base_ = -1;  // the file offset the writes began at; -1: not a regular file
  uint64_t written_ = 0, started_ = 0;  // bytes written, and handed to writeback
};

// Reads until `out` is full or end of file; returns the count read.
Result<size_t> ReadFull(int fd, std::span<uint8_t> out);

// A new file that appears at its path only on Commit(). Destroying an
// uncommitted AtomicFile removes the temp file; so does SIGINT or SIGTERM once
// InstallInterruptHandler() has run. A path that is a device or a pipe
// (/dev/null, /dev/stdout) is written in place instead.
class AtomicFile {
 public:
  // `mode` is applied to the temp file before any byte is written, so a secret
  // file is never readable by others, even briefly.
  static Result<AtomicFile> Create(const std::string& path, unsigned mode = 0644);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();

  // The temp file's descriptor, for streaming writes. Owned by this object.
  int fd() const { return fd_; }
  Status Write(std::span<const uint8_t> data);
  Status Write(std::string_view data);
  // Renames into place, after an fsync unless `sync` is false (the caller
  // then makes a batch durable at once, e.g. with syncfs).
  Status Commit(bool sync = true);

 private:
  AtomicFile(std::string path, std::string temp, int fd, int slot)
      : path_(std::move(path)), temp_(std::move(temp)), fd_(fd), slot_(slot) {}
  std::string path_, temp_;
  int fd_ = -1;
  int slot_ = -1;
};

// Writes `data` to `path` atomically, or to stdout when `path` is "-".
Status WriteOutput(const std::string& path, std::string_view data, unsigned mode = 0644);

// On SIGINT or SIGTERM: removes every uncommitted AtomicFile's temp file and
// exits with status 130 (SIGINT) or 143 (SIGTERM).
void InstallInterruptHandler();

// Returns BadInput when `path` is a regular file readable or writable by group
// or others ("'k.key' is readable by others (mode 0644)").
Status CheckSecretFileMode(const std::string& path);

}  // namespace digm
