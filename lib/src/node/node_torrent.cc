#include "digm/node_torrent.h"

#include <sys/stat.h>

#include "digm/file.h"
#include "digm/hex.h"

namespace digm {

Result<TrackTorrent> NodeTorrent(NodeStore& store, const std::string& data_dir,
                                 const std::string& root, bool v1_only) {
  if (!IsHash(root)) return Status::BadInput("'" + root + "' is not a root (64 hex digits)");
  std::optional<Manifest> m = store.GetManifest(root);
  if (!m) return Status::BadInput("no track " + root + " on this node");
  if (!store.TrackComplete(root)) {
    return Status::BadInput("track " + root + " is not complete on this node yet")
        .WithHint("wait for replication, or publish its chunks here");
  }
  std::string dir = data_dir + "/torrents",
              path = dir + "/" + root + (v1_only ? ".v1" : "") + ".torrent";
  if (auto kept = ReadWholeFile(path); kept.ok()) {
    auto t = WithWebSeeds(*kept, {});
    if (t.ok()) return t;  // a damaged copy is made again
  }
  DIGM_ASSIGN_OR_RETURN(TrackTorrent t,
                        MakeTrackTorrent(*m, TrackLayout(*m, &store.chunks()), {}, v1_only));
  mkdir(dir.c_str(), 0755);
  (void)WriteOutput(path, t.bytes);  // a copy to save work; a failure costs only time
  return t;
}

Result<Json> WriteTrackTorrent(const std::string& data_dir, const std::string& root,
                               const std::vector<std::string>& web_seeds, const std::string& out,
                               bool v1_only) {
  if (out == "-") return Status::Usage("a torrent is binary: give -o FILE.torrent");
  DIGM_ASSIGN_OR_RETURN(auto store, NodeStore::Open(data_dir, false));
  DIGM_ASSIGN_OR_RETURN(TrackTorrent t, NodeTorrent(*store, data_dir, root, v1_only));
  std::vector<std::string> urls;
  for (const auto& url : web_seeds) {
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
      return Status::Usage("--web-seed '" + url + "' is not an http:// or https:// URL");
    urls.push_back(WebSeedUrl(url, root));
  }
  DIGM_ASSIGN_OR_RETURN(t, WithWebSeeds(t.bytes, urls));
  DIGM_RETURN_IF_ERROR(WriteOutput(out, t.bytes));
  DIGM_ASSIGN_OR_RETURN(auto hash, HexDecodeArray<32>(root));
  return TorrentToJson(hash, t);
}

}  // namespace digm
