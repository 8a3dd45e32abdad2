// digm.peer/1 (SPEC §5): the signed record a node gossips about itself, with
// the roots it holds alongside ("available_tracks", outside the signature).
// The one writer and the one reader of the record, for a node learning its
// peers and for digm-audit identifying a node. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "digm/document.h"
#include "digm/wallet.h"

namespace digm {

// {"schema","node_id","url","address","public","seen","signer","signature"},
// signed by `identity`; `seen` in unix seconds. A node that charges adds its
// "price" ({"asset","per_mb"}, SPEC §12) when `price` is not null.
Json MakePeerRecord(const Wallet& identity, const std::string& url, int64_t seen,
                    const Json& price = nullptr);

struct PeerRecord {
  Address signer{};
  std::string node_id;             // the signer's address, as written
  std::string url;                 // an http(s) URL, as written
  int64_t seen = 0;                // unix seconds
  Json record;                     // the signed part, as received
  bool has_roots = false;          // "available_tracks" was an array
  std::vector<std::string> roots;  // its entries that are hashes
};

// Reads a record as gossip carries it: the schema, a valid signature by the
// key node_id names, an http(s) url and an RFC 3339 seen. Integrity error for
// a record that fails any of these; never throws.
Result<PeerRecord> ReadPeerRecord(const Json& record);

}  // namespace digm
