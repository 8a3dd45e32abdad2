#include "digm/fetch_command.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>

#include "digm/address.h"
#include "digm/file.h"
#include "digm/fresh_index.h"
#include "digm/key_wrap.h"
#include "digm/node_client.h"
#include "digm/torrent.h"

namespace digm {
namespace {

struct Nodes {
  std::vector<std::string> peers, struck_out;
};

// The TRACK argument: a root, or a manifest file read once, when first needed.
class TrackArg {
 public:
  explicit TrackArg(const std::string& track) : TrackArg(track, IsRootArgument(track)) {}
  TrackArg(const std::string& track, bool is_root) : track_(track), is_root_(is_root) {}
  bool is_root() const { return is_root_; }
  const std::string& text() const { return track_; }
  const Result<Manifest>& manifest() {
    if (!manifest_) {
      manifest_ = ReadManifest(track_, false);
      struct stat st;
      if (!manifest_->ok() && stat(track_.c_str(), &st) != 0) {
        // A mistyped root reads as a file name.
        manifest_ = Result<Manifest>(manifest_->status().WithHint(
            "TRACK is a track root or stream id (64 hex digits), a manifest file, a magnet: "
            "link or a .torrent file"));
      }
    }
    return *manifest_;
  }
  // The root the DHT knows the track by: given, or its manifest's.
  Result<Hash256> Root() {
    if (is_root_) return *HexDecodeArray<32>(track_);
    if (!manifest().ok()) return manifest().status();
    return manifest()->ComputeRoot();
  }

 private:
  std::string track_;
  bool is_root_;
  std::optional<Result<Manifest>> manifest_;
};

// `session`: the process's session when it is open already (for BitTorrent).
Status AddDhtNodes(const FetchRequest& r, TrackArg& track, std::vector<std::string>& peers,
                   Dht* session) {
  DIGM_ASSIGN_OR_RETURN(Hash256 root, track.Root());
  using Steady = std::chrono::steady_clock;
  auto seconds_since = [](Steady::time_point t) {
    return std::chrono::duration<double>(Steady::now() - t).count();
  };
  auto start = Steady::now();
  std::unique_ptr<Dht> own;
  if (!session) {
    DhtOptions o = *r.dht;
    o.https_trackers = false;  // a lookup alone; the process has no threads yet
    DIGM_ASSIGN_OR_RETURN(own, Dht::Start(o));
    session = own.get();
  }
  Dht* dht = session;
  double joined = seconds_since(start);
  std::chrono::milliseconds first{0};
  auto found = dht->FindPeers(root, std::chrono::seconds(r.dht_timeout_s),
                              std::chrono::milliseconds(1000), &first);
  if (r.on_dht) {
    r.on_dht(
        {found.size(), seconds_since(start), found.empty() ? 0 : joined + first.count() / 1000.0});
  }
  if (found.empty() && peers.empty()) {
    return Status::Network("no node on the DHT announces " + HexEncode(root) + " (looked for " +
                           std::to_string(r.dht_timeout_s) + " s)");
  }
  peers.insert(peers.end(), found.begin(), found.end());
  return Status::Ok();
}

// `swarm`: with a torrent, whose web seeds are `seeds` and whose peers may be
// all there is (then no node is needed).
Result<Nodes> GivenNodes(const FetchRequest& r, TrackArg& track, Dht* swarm = nullptr,
                         const std::vector<std::string>& seeds = {}) {
  Nodes n{r.peers, {}};
  n.peers.insert(n.peers.end(), seeds.begin(), seeds.end());
  if (!r.index.empty()) {
    DIGM_ASSIGN_OR_RETURN(auto nodes, ReadFreshIndex(r.index));
    auto healthy = HealthyUrls(nodes);
    n.peers.insert(n.peers.begin(), healthy.begin(), healthy.end());
    n.struck_out = StruckOutUrls(nodes);  // never used, however they are found
  }
  if (r.dht) {
    Status s = AddDhtNodes(r, track, n.peers, swarm);
    if (!s.ok() && !(swarm && s.code() == Code::kNetwork)) return s;
  }
  if (n.peers.empty() && !swarm) {
    return Status::Usage("no node to fetch from").WithHint("add --peer URL, --index FILE or --dht");
  }
  return n;
}

// TRACK as a torrent, when it is one.
Result<std::optional<TorrentSource>> TorrentOf(const FetchRequest& r) {
  if (!IsTorrentArgument(r.track)) return std::optional<TorrentSource>();
  DIGM_ASSIGN_OR_RETURN(TorrentSource t, ReadTorrentArgument(r.track));
  return std::optional<TorrentSource>(std::move(t));
}

// The nodes a torrent's web seeds name.
std::vector<std::string> SeedNodes(const std::optional<TorrentSource>& t) {
  return t ? t->nodes : std::vector<std::string>{};
}

// The track a request names: TRACK itself, or for a torrent its --manifest
// or --root (by default the root its web seeds name).
Result<TrackArg> NamedTrack(const FetchRequest& r, const TorrentSource* torrent) {
  if (!torrent) {
    if (!r.manifest.empty() || !r.root.empty())
      return Status::Usage("--manifest and --root go with a magnet link or a .torrent");
    return TrackArg(r.track);
  }
  if (!r.manifest.empty() && !r.root.empty())
    return Status::Usage("give --manifest or --root, not both");
  if (!r.manifest.empty()) return TrackArg(r.manifest, false);
  std::string root = r.root.empty() ? torrent->root : r.root;
  if (root.empty()) {
    return Status::Usage("which track is the torrent of? add --manifest FILE")
        .WithHint("or --root ROOT, with a node that has its manifest");
  }
  if (!IsHash(root)) return Status::Usage("--root takes a track root (64 hex digits)");
  return TrackArg(root, true);
}

// The process's one libtorrent session, for a torrent's swarm and, with
// --dht, the lookup of nodes too. It listens on any free port. Started
// before the fetch has threads of its own.
Result<std::unique_ptr<Dht>> SwarmSession(const FetchRequest& r, const TorrentSource& torrent) {
  DhtOptions o;
  if (r.dht) {
    o = *r.dht;
  } else {
    o.dht = false;
  }
  o.bittorrent = true;
  o.bt_listen = {"0.0.0.0:0", "127.0.0.1:0"};
  o.tick_ms = 20;  // the link's peers are connected on the first tick
  o.https_trackers = torrent.https_trackers;
  return Dht::Start(o);
}

// The manifest of the track `root` names. When no peer has one, a peer that
// knows a live stream of that id says what was meant.
Result<Manifest> ManifestOfRoot(const std::string& root, const std::vector<std::string>& peers) {
  auto m = ResolveManifest(root, peers);
  if (m.ok() || m.status().code() != Code::kNetwork) return m;
  std::vector<std::string> bases;
  for (const auto& p : peers) bases.push_back(BaseUrl(p));
  if (AnyPeerAnswers(bases, "/streams/" + root)) {
    return m.status().WithHint(root +
                               " is a live stream's id, not a track's root: add --live (a stream "
                               "that has ended is written whole)");
  }
  return m;
}

std::string TempDir(const FetchRequest& r) {
  if (!r.temp_dir.empty()) return r.temp_dir;
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

}  // namespace

bool IsRootArgument(const std::string& s) {
  struct stat st;
  return IsHash(s) && stat(s.c_str(), &st) != 0;
}

Status CheckKeyFlags(const FetchRequest& r) {
  if (!r.wrapped.empty() && r.wallet.empty())
    return Status::Usage("--wrapped needs --wallet to open it");
  if (!r.key.empty() && !r.wrapped.empty())
    return Status::Usage("give --key or --wrapped, not both");
  return Status::Ok();
}

Result<RequestKeys> OpenRequestKeys(const FetchRequest& r) {
  RequestKeys out;
  if (!r.wallet.empty()) {
    DIGM_ASSIGN_OR_RETURN(Wallet w, ReadWalletFile(r.wallet));
    out.wallet = std::move(w);
  }
  if (!r.key.empty()) {
    DIGM_ASSIGN_OR_RETURN(TrackKey k, ReadKeyFile(r.key));
    out.key = k;
  } else if (!r.wrapped.empty()) {
    DIGM_RETURN_IF_ERROR(CheckKeyFlags(r));  // the wallet that opens it
    DIGM_ASSIGN_OR_RETURN(Json doc, ReadDocument(r.wrapped, "wrapped-key", 1));
    DIGM_ASSIGN_OR_RETURN(TrackKey k, UnwrapKey(doc, *out.wallet));
    out.key = k;
  }
  return out;
}

Result<std::vector<std::string>> FindTrackNodes(const FetchRequest& r) {
  DIGM_ASSIGN_OR_RETURN(auto torrent, TorrentOf(r));
  DIGM_ASSIGN_OR_RETURN(TrackArg track, NamedTrack(r, torrent ? &*torrent : nullptr));
  DIGM_ASSIGN_OR_RETURN(Nodes n, GivenNodes(r, track, nullptr, SeedNodes(torrent)));
  return DiscoverPeers(n.peers, n.struck_out);
}

// The channels of --pay, each paid by the wallet.
Result<std::vector<Channel>> PayChannels(const FetchRequest& r, const std::optional<Wallet>& w) {
  std::vector<Channel> out;
  for (const auto& path : r.pay) {
    DIGM_ASSIGN_OR_RETURN(Json doc, ReadDocument(path, "channel", 1));
    auto c = ReadChannel(doc);
    if (!c.ok()) return c.status().Context("'" + path + "'");
    if (c->payer != w->address) {
      return Status::Usage("'" + path + "' is paid by " + AddressToString(c->payer) +
                           ", not by --wallet " + AddressToString(w->address));
    }
    out.push_back(std::move(*c));
  }
  return out;
}

Status FetchCommand(const FetchRequest& r) {
  if (!r.receipt.empty() && r.wallet.empty())
    return Status::Usage("--receipt needs --wallet to sign it");
  if (!r.pay.empty() && r.wallet.empty())
    return Status::Usage("--pay needs --wallet: the payer's, which signs the vouchers");
  DIGM_RETURN_IF_ERROR(CheckKeyFlags(r));
  DIGM_ASSIGN_OR_RETURN(auto torrent, TorrentOf(r));
  DIGM_ASSIGN_OR_RETURN(TrackArg track, NamedTrack(r, torrent ? &*torrent : nullptr));
  if (!track.is_root()) DIGM_RETURN_IF_ERROR(track.manifest().status());  // before any node
  std::unique_ptr<Dht> session;
  if (torrent) {
    DIGM_ASSIGN_OR_RETURN(session, SwarmSession(r, *torrent));
  }
  DIGM_ASSIGN_OR_RETURN(Nodes nodes, GivenNodes(r, track, session.get(), SeedNodes(torrent)));
  DIGM_ASSIGN_OR_RETURN(RequestKeys keys, OpenRequestKeys(r));
  const std::optional<Wallet>& wallet = keys.wallet;
  const std::optional<TrackKey>& key = keys.key;
  FetchOptions o;
  DIGM_ASSIGN_OR_RETURN(o.channels, PayChannels(r, wallet));
  if (!r.pay.empty()) o.payer = &*wallet;
  o.peers = DiscoverPeers(nodes.peers, nodes.struck_out);
  // Who the peers are and what they charge, asked while the manifest is.
  o.probes = ProbePeers(o.peers, o.payer ? o.channels : std::vector<Channel>{});
  if (torrent && track.is_root() && o.peers.empty()) {
    return Status::Usage("no node to get the manifest of " + track.text() + " from")
        .WithHint("add --manifest FILE, or --peer URL");
  }
  DIGM_ASSIGN_OR_RETURN(Manifest manifest,
                        track.is_root() ? ManifestOfRoot(track.text(), o.peers) : track.manifest());
  std::unique_ptr<Swarm> swarm;
  if (torrent) {
    std::string root = HexEncode(manifest.ComputeRoot());
    if (!torrent->root.empty() && torrent->root != root) {
      return Status::BadInput("the torrent's web seeds serve track " + torrent->root +
                              ", not the manifest's " + root);
    }
    DIGM_ASSIGN_OR_RETURN(swarm,
                          session->Join(*torrent, TrackLayout(manifest, nullptr).size, TempDir(r)));
    o.swarm = swarm.get();
  }
  if (manifest.encryption && !key && !r.preview &&
      manifest.encryption->preview_chunks < manifest.chunks.size()) {
    return Status::Usage("the track is encrypted: give --key FILE, or --wrapped FILE --wallet FILE")
        .WithHint("or fetch only the free preview with --preview");
  }
  std::optional<ChunkStore> cache;
  if (!r.cache.empty()) {
    auto c = ChunkStore::Open(r.cache, {});
    if (c.ok()) {
      cache = std::move(*c);
    } else if (r.warn) {  // a cache that cannot be opened is only slower
      r.warn("no cache: " + c.status().message());
    }
  }
  o.key = key ? &*key : nullptr;
  o.preview_only = r.preview;
  o.cache = cache ? &*cache : nullptr;
  o.timeout_ms = r.timeout_ms;
  o.swarm_stall_ms = 3 * r.timeout_ms;
  o.progress = r.progress;
  std::optional<FetchResult> result;
  if (r.output == "-") {
    DIGM_ASSIGN_OR_RETURN(FetchResult got, FetchTrack(manifest, o, 1));
    result = std::move(got);
  } else {
    DIGM_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(r.output));
    o.written = [&out] { return out.Commit(); };
    DIGM_ASSIGN_OR_RETURN(FetchResult got, FetchTrack(manifest, o, out.fd()));
    result = std::move(got);
  }
  if (!result->cache_error.empty() && r.warn)
    r.warn("chunks are no longer cached: " + result->cache_error);
  if (cache) {
    // This track's chunks are the ones used last, its first ones latest (a
    // cache too small for it keeps the start, which plays first); then the
    // cache keeps to its size, which only what this fetch put in can pass
    // (the walk over the whole cache is not made for a fetch that added
    // nothing).
    int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    for (size_t i = 0; i < manifest.chunks.size(); ++i)
      cache->Touch(manifest.chunks[i].hash, now_ns - static_cast<int64_t>(i));
    if (result->to_cache > 0) {
      auto trimmed = cache->Trim(r.cache_size);
      if (!trimmed.ok() && r.warn)
        r.warn("the cache was not trimmed: " + trimmed.status().message());
    }
  }
  if (r.receipt.empty()) return Status::Ok();
  return WriteOutput(r.receipt, DumpDocument(MakeReceipt(manifest, *result, *wallet)) + "\n");
}

}  // namespace digm
