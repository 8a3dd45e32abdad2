#include "digm/torrent.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/entry.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hex.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_info.hpp>

#include "bt/disk_io.h"
#include "digm/address.h"
#include "digm/crypto.h"
#include "digm/file.h"

namespace digm {
namespace {

constexpr size_t kMaxTorrentBytes = 16 << 20;

bool IsHttps(const std::string& url) {
  return url.size() >= 6 && std::equal(url.begin(), url.begin() + 6, "https:", [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

Result<TrackTorrent> Describe(std::vector<char> bytes) {
  lt::error_code ec;
  lt::torrent_info ti(lt::span<const char>(bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())),
                      ec, lt::from_span);
  if (ec) return Status::BadInput("not a torrent: " + ec.message());
  TrackTorrent t;
  t.bytes.assign(bytes.begin(), bytes.end());
  t.btih = bt::Btih(ti.info_hashes());
  t.btmh = bt::Btmh(ti.info_hashes());
  t.magnet = lt::make_magnet_uri(ti);
  return t;
}

}  // namespace

TorrentLayout TrackLayout(const Manifest& m, const ChunkStore* store) {
  TorrentLayout l;
  std::string name = m.source_name.value_or("");
  std::replace(name.begin(), name.end(), '/', '_');
  if (name.empty() || name == "." || name == "..") name = HexEncode(m.ComputeRoot());
  bool playable = !m.encryption && std::none_of(m.chunks.begin(), m.chunks.end(),
                                                [](const ChunkRef& c) { return c.z; });
  l.name = playable ? name : name + ".digm";
  l.piece_size = static_cast<int>(std::clamp<uint64_t>(m.chunk_size, 16 << 10, 16 << 20));
  for (const auto& c : m.chunks) {
    l.offsets.push_back(l.size);
    l.sizes.push_back(c.size);
    l.paths.push_back(store ? store->PathFor(c.hash) : "");
    l.size += c.size;
  }
  return l;
}

Result<TrackTorrent> MakeTrackTorrent(const Manifest& m, const TorrentLayout& layout,
                                      const std::vector<std::string>& web_seeds, bool v1_only) {
  if (layout.size == 0) return Status::BadInput("an empty track has no torrent");
  lt::file_storage fs;
  fs.add_file(layout.name, static_cast<std::int64_t>(layout.size));
  lt::create_torrent ct(fs, layout.piece_size,
                        v1_only ? lt::create_torrent::v1_only : lt::create_flags_t{});
  auto storage = bt::ChunkFileStorage(layout);
  lt::settings_pack settings;
  lt::error_code ec;
  lt::set_piece_hashes(
      ct, ".", settings,
      bt::DiskIoConstructor([storage](const lt::storage_params&) { return storage; }),
      [](lt::piece_index_t) {}, ec);
  std::string root = HexEncode(m.ComputeRoot());
  if (ec) {
    return Status::Integrity("cannot read the chunks of " + root +
                             " from the store: " + ec.message())
        .WithHint("run digm-seed fsck");
  }
  // The chunk files must still be what the manifest says they are: the
  // torrent's hashes are only as good as the bytes they were made from.
  for (size_t i = 0; i < m.chunks.size(); ++i) {
    DIGM_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(layout.paths[i]));
    if (Sha256(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())) !=
        m.chunks[i].hash)
      return Status::Integrity("chunk " + std::to_string(i) + " of " + root + " is damaged")
          .WithHint("run digm-seed fsck --repair");
  }
  ct.set_creator("digm");
  for (const auto& url : web_seeds) ct.add_url_seed(WebSeedUrl(url, root));
  std::vector<char> bytes;
  lt::bencode(std::back_inserter(bytes), ct.generate());
  return Describe(std::move(bytes));
}

Result<TrackTorrent> WithWebSeeds(const std::string& torrent_bytes,
                                  const std::vector<std::string>& web_seeds) {
  lt::error_code ec;
  lt::bdecode_node node = lt::bdecode(torrent_bytes, ec);
  if (ec || node.type() != lt::bdecode_node::dict_t)
    return Status::BadInput("not a torrent: " + (ec ? ec.message() : "not a dictionary"));
  lt::entry e(node);
  e.dict().erase("url-list");
  if (!web_seeds.empty()) {
    lt::entry::list_type list;
    for (const auto& url : web_seeds) list.emplace_back(url);
    e["url-list"] = list;
  }
  std::vector<char> bytes;
  lt::bencode(std::back_inserter(bytes), e);
  return Describe(std::move(bytes));
}

std::string WebSeedUrl(const std::string& url, const std::string& root) {
  std::string base = BaseUrl(url);
  return base.find("/content/") != std::string::npos ? base : base + "/content/" + root;
}

Json TorrentToJson(const Hash256& root, const TrackTorrent& t) {
  Json j{{"schema", "digm.torrent/1"}, {"root", HexEncode(root)}, {"btih", t.btih}};
  if (!t.btmh.empty()) j["btmh"] = t.btmh;  // none for a BEP 3 torrent
  j["magnet"] = t.magnet;
  return j;
}

bool IsTorrentArgument(const std::string& arg) {
  auto ends = [&](std::string_view s) {
    return arg.size() >= s.size() && arg.compare(arg.size() - s.size(), s.size(), s) == 0;
  };
  return arg.rfind("magnet:", 0) == 0 || ends(".torrent");
}

Result<TorrentSource> ReadTorrentArgument(const std::string& arg) {
  TorrentSource src;
  lt::error_code ec;
  if (arg.rfind("magnet:", 0) == 0) {
    lt::add_torrent_params p = lt::parse_magnet_uri(arg, ec);
    if (ec) return Status::BadInput("not a magnet link: " + ec.message());
    src.magnet = arg;
    src.btih = bt::Btih(p.info_hashes);
    src.btmh = bt::Btmh(p.info_hashes);
    src.web_seeds = p.url_seeds;
    for (const auto& t : p.trackers) src.https_trackers |= IsHttps(t);
  } else {
    DIGM_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(arg));
    if (bytes.size() > kMaxTorrentBytes) return Status::BadInput("'" + arg + "' is too big");
    lt::torrent_info ti(bytes.data(), static_cast<int>(bytes.size()), ec);
    if (ec) return Status::BadInput("'" + arg + "' is not a torrent: " + ec.message());
    if (int files = bt::RealFiles(ti); files != 1)
      return Status::BadInput("'" + arg + "' holds " + std::to_string(files) +
                              " files; a track's torrent holds one");
    src.torrent = std::move(bytes);
    src.btih = bt::Btih(ti.info_hashes());
    src.btmh = bt::Btmh(ti.info_hashes());
    for (const auto& w : ti.web_seeds()) src.web_seeds.push_back(w.url);
    for (const auto& t : ti.trackers()) src.https_trackers |= IsHttps(t.url);
  }
  // A node's web seed names the track: BASE/content/ROOT.
  bool agree = true;
  for (const auto& url : src.web_seeds) {
    size_t at = url.rfind("/content/");
    if (at == std::string::npos) continue;
    std::string root = url.substr(at + 9);
    if (!IsHash(root)) continue;
    src.nodes.push_back(url.substr(0, at));
    if (!src.root.empty() && src.root != root) agree = false;
    src.root = root;
  }
  if (!agree) src.root.clear();
  return src;
}

}  // namespace digm
