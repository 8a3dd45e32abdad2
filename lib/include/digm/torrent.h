// A track as a BitTorrent torrent (SPEC §11): one file, the track's stored
// bytes in order (for a clear, uncompressed track the playable file), in a
// hybrid v1 + v2 (BEP 52) torrent whose web seeds (BEP 19) are nodes'
// /content/{root} URLs. The piece hashes come from one streaming pass over
// the chunk files: the track is never read into memory. libtorrent stays
// behind this header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "digm/chunk_store.h"
#include "digm/document.h"
#include "digm/manifest.h"

namespace digm {

// The torrent's one file, laid over the chunk files.
struct TorrentLayout {
  std::string name;  // source.name (".digm" added when the bytes are not the playable file)
  uint64_t size = 0;
  int piece_size = 0;              // the chunk size, within 16 KiB .. 16 MiB
  std::vector<std::string> paths;  // chunk files in order ("" when not stored)
  std::vector<uint64_t> sizes;     // their stored sizes
  std::vector<uint64_t> offsets;   // where each starts in the file
};

// The layout of `manifest`'s torrent; `store` names the chunk files (null:
// no paths, for a downloader that knows only the manifest).
TorrentLayout TrackLayout(const Manifest& manifest, const ChunkStore* store);

struct TrackTorrent {
  std::string bytes;  // the bencoded .torrent
  std::string btih;   // v1 infohash, 40 hex digits
  std::string btmh;   // v2 infohash as a multihash: "1220" + 64 hex digits
  std::string magnet;
};

// Hashes the stored chunk files (Integrity error when one is missing or has
// changed) and makes the torrent, with `web_seeds` as its url-list (a node's
// base URL becomes URL/content/ROOT). `v1_only`: a BEP 3 torrent, for
// clients that do not read BEP 52 (aria2 1.36 drops the "" keys of its file
// tree, and so joins a hybrid torrent's swarm under a wrong infohash).
Result<TrackTorrent> MakeTrackTorrent(const Manifest& manifest, const TorrentLayout& layout,
                                      const std::vector<std::string>& web_seeds,
                                      bool v1_only = false);
// A node's base URL as the web seed of track `root`: URL/content/ROOT (a
// URL naming /content/ already is kept as it is).
std::string WebSeedUrl(const std::string& url, const std::string& root);
// The same torrent with another url-list (the info dictionary, and so the
// infohashes, unchanged).
Result<TrackTorrent> WithWebSeeds(const std::string& torrent_bytes,
                                  const std::vector<std::string>& web_seeds);

// digm.torrent/1: {"schema","root","btih","btmh","magnet"} (no btmh for a BEP 3 torrent).
Json TorrentToJson(const Hash256& root, const TrackTorrent& t);

// What `digm-fetch magnet:…` or `digm-fetch FILE.torrent` names.
struct TorrentSource {
  std::string magnet;      // the link, when given one
  std::string torrent;     // the bencoded .torrent, when given one
  std::string btih, btmh;  // hex, each empty when unknown
  std::vector<std::string> web_seeds;
  std::vector<std::string> nodes;  // web seeds of the form BASE/content/ROOT: BASE
  std::string root;                // the ROOT those name, when they agree
  bool https_trackers = false;     // whether it names a tracker at an https: URL
};

// True for a magnet link or a file whose name ends in .torrent.
bool IsTorrentArgument(const std::string& arg);
// BadInput for a malformed link or torrent, or one of more than one file.
Result<TorrentSource> ReadTorrentArgument(const std::string& arg);

}  // namespace digm
