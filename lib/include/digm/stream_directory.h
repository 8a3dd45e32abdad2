// The live streams a node has heard of from other nodes (SPEC §9): gossip
// carries each node's directory, and a node lists the streams it holds and
// the ones it heard of, with the nodes holding each. Nothing is taken on a
// peer's word: a stream's document and head must verify (signed by its
// publisher), and a stream is as fresh as its newest signed head's time, so
// no node can keep a dead stream listed. Bounded in streams and holders.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "digm/clock.h"
#include "digm/stream.h"

namespace digm {

class StreamDirectory {
 public:
  struct Options {
    std::string self_url;       // never listed as a holder of what is heard
    int64_t stale_after = 120;  // seconds since the newest head
    size_t max_streams = 4096;
    size_t max_holders = 16;
    Clock clock = UnixNow;
  };
  struct Entry {
    Stream stream;
    TreeHead head;
    int64_t last_heard = 0;            // the head's time, never later than now
    std::vector<std::string> holders;  // most recently named first
    // {"id","stream","head","last_heard","holders"}, as GET /streams lists it.
    Json ToJson() const;
  };

  explicit StreamDirectory(Options options);

  // Learns a gossiped directory ([{"id","stream","head","holders"}, …]):
  // an entry whose document or head does not verify, whose head is stale or
  // ended, or whose holder URL a node at self_url may not reach, is left
  // out (an ended head also forgets the stream). Returns the entries kept.
  size_t Learn(const Json& entries);
  std::optional<Entry> Find(const std::string& id);
  // Fresh entries whose title or artist holds `query` (any case; "": all).
  std::vector<Entry> Live(const std::string& query = "");

 private:
  void DropStale(int64_t now);

  Options options_;
  std::mutex mu_;
  std::map<std::string, Entry> heard_;  // by hex id
};

// True when `info`'s title or artist contains `query`, in any case.
bool StreamMatches(const StreamInfo& info, const std::string& query);

}  // namespace digm
