// What digm-chunk does (SPEC §2) as library calls: chunk a file into a store
// and write its manifest (and a new track key), or join a track back from a
// store. The tool parses flags into these requests and prints.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "digm/status.h"

namespace digm {

struct ChunkRequest {
  std::string input;         // a file, or "-" for stdin
  std::string store;         // where chunks go; empty: only the manifest
  std::string key_out;       // a new track key is written here
  std::string key_in;        // or the key in this file is reused
  std::string output = "-";  // the manifest
  std::string name;          // the source name recorded (default: the file's)
  std::string chunk_size = "256K";
  bool encrypt = false, compress = false;
  double preview_seconds = 0;
  int threads = 1;
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// Usage errors for flags that do not go together, found before any chunk is
// stored; then chunks the input and writes the key and the manifest. A
// manifest that cannot be written leaves no key behind.
Status ChunkCommand(const ChunkRequest& r);

// Reassembles the track of the manifest at `manifest` from the chunks in
// `store` into `output`, with the key in `key_path` when the track is
// encrypted (Usage error when it is and none is given).
Status JoinCommand(const std::string& manifest, const std::string& store,
                   const std::string& key_path, const std::string& output);

}  // namespace digm
