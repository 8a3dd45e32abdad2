// A listener of a live stream (SPEC §9): follows the signed heads of every
// given node at once by long poll, takes a head only once it verifies (the
// publisher's signature, a size and time that do not go back, a root its
// chunks make), fetches and checks the new chunks, decrypts them with the
// track key, and writes them in order. A node that serves bad chunks or
// heads is named and left; two signed heads of one size with different
// roots, or a head no node's chunks can reconcile with the one accepted, are
// a fork: Integrity, with both heads as evidence. Memory does not grow with
// the stream: the log is O(log n) hashes and a catch-up is verified chunk by
// chunk against inclusion proofs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "digm/stream.h"
#include "digm/track_key.h"

namespace digm {

struct LiveFetchOptions {
  std::vector<std::string> peers;  // base URLs
  bool from_start = false;         // from chunk 0; else from the live edge (the newest chunk)
  std::optional<TrackKey> key;     // for an encrypted stream
  int wait_s = 10;                 // each head long poll
  long timeout_ms = 10000;         // each chunk request
  int give_up_s = 60;              // no node answers at all for this long: Network error
  std::function<void(const Stream&)> on_stream;           // the verified stream document
  std::function<void(const TreeHead&)> on_head;           // each head accepted
  std::function<void(const std::string&)> on_peer_error;  // a node left out, and why
};

struct LiveFetchResult {
  Stream stream;
  uint64_t first = 0;            // the first chunk written
  uint64_t chunks = 0;           // chunks written
  uint64_t bytes = 0;            // plaintext bytes written
  std::optional<TreeHead> head;  // the last accepted
  bool ended = false;            // the stream ended (else: stopped by `stop` or the reader)
};

// Plays stream `id` into `fd` until it ends, `stop` is set, or the reader
// closes the pipe. Usage error for an encrypted stream without its key;
// Integrity for the wrong key or a fork (then `*evidence` holds both heads,
// [accepted, offered]); Network when no node serves the stream.
Result<LiveFetchResult> FetchLive(const Hash256& id, int fd, const LiveFetchOptions& options,
                                  const std::atomic<bool>* stop, Json* evidence);

}  // namespace digm
