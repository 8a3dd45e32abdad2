// What digm-fetch does (SPEC §6) as library calls: find the nodes that may
// hold a track (given, a fresh index's healthy ones, the DHT's, and the peers
// they know; never a struck-out one), then fetch it into a file or stdout and
// sign a receipt. The tool parses flags into a FetchRequest and prints.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "digm/dht.h"
#include "digm/fetcher.h"

namespace digm {

// What a DHT lookup found, for the tool to report.
struct DhtLookup {
  size_t nodes = 0;
  double seconds = 0;      // the whole lookup, joining included
  double first_after = 0;  // when the first node was found (0: none)
};

struct FetchRequest {
  // A root (64 hex digits, not a file), a manifest file, or a track's magnet
  // link or .torrent (SPEC §11), whose manifest is `manifest` or is found by
  // `root` (default: the root its web seeds name).
  std::string track;
  std::string manifest, root;
  std::vector<std::string> peers;  // base URLs
  std::string index;               // a digm.fresh-index/1
  std::optional<DhtOptions> dht;   // look the root up on the DHT
  long dht_timeout_s = 30;
  std::string key, wrapped, wallet;  // the track key, or a wrapped one for the wallet
  std::string output = "-";          // a file (written atomically) or "-"
  std::string receipt;               // where the signed receipt goes (needs wallet)
  std::string cache;                 // a chunk cache folder; empty: none
  uint64_t cache_size = 2ULL << 30;  // after a fetch that adds to the cache, it is trimmed to this
  std::vector<std::string> pay;      // digm.channel/1 files, paid from wallet (SPEC §12)
  bool preview = false;
  long timeout_ms = 10000;
  std::function<void(const FetchProgress&)> progress;
  std::function<void(const DhtLookup&)> on_dht;
  // What the user should hear that does not stop the fetch (a cache that
  // cannot be opened, or that filled up); empty: nothing is said.
  std::function<void(const std::string&)> warn;
  // Where the swarm's temporary (unlinked) file goes; empty: $TMPDIR or /tmp.
  std::string temp_dir;
};

// True when `track` names a root rather than a manifest file.
bool IsRootArgument(const std::string& track);

// The nodes to fetch from, after one round of gossip with the ones found.
// Usage error (with a hint) when no node is given in any way; Network when
// the DHT was asked, nothing else was given, and no node announces the track.
Result<std::vector<std::string>> FindTrackNodes(const FetchRequest& r);

// Usage error for --wrapped without --wallet, or --key with --wrapped.
Status CheckKeyFlags(const FetchRequest& r);

// The wallet and track key a request gives (after CheckKeyFlags): --wallet
// read, and --key's file or --wrapped opened with the wallet; each absent
// when not given.
struct RequestKeys {
  std::optional<Wallet> wallet;
  std::optional<TrackKey> key;
};
Result<RequestKeys> OpenRequestKeys(const FetchRequest& r);

// Finds the nodes, fetches and verifies the track into r.output (from a
// torrent's swarm too, when TRACK is one), and writes the receipt. Nothing is left at r.output or
// r.receipt on failure.
Status FetchCommand(const FetchRequest& r);

}  // namespace digm
