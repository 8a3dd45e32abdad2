// A node's torrents (SPEC §11): a track's torrent is made from the chunk
// store the first time it is asked for and kept in DATA/torrents/ROOT.torrent
// (without web seeds; the BEP 3 one, for older clients, in ROOT.v1.torrent), so a restarted node
// seeds under the same infohashes without hashing its store again.
#pragma once

#include <string>
#include <vector>

#include "digm/node_store.h"
#include "digm/torrent.h"

namespace digm {

// BadInput for a bad root, a track not held or one not yet complete;
// Integrity (with a hint to fsck) for a damaged chunk file.
Result<TrackTorrent> NodeTorrent(NodeStore& store, const std::string& data_dir,
                                 const std::string& root, bool v1_only = false);

// digm-seed torrent: writes the torrent with `web_seeds` as its url-list to
// `out` (atomically) and returns its digm.torrent/1.
Result<Json> WriteTrackTorrent(const std::string& data_dir, const std::string& root,
                               const std::vector<std::string>& web_seeds, const std::string& out,
                               bool v1_only);

}  // namespace digm
