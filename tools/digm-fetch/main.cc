// digm-fetch: a track root or manifest -> its plaintext, fetched from many
// nodes at once and verified chunk by chunk, and a signed receipt (SPEC §6).
#include <sys/stat.h>

#include <cstdlib>

#include "cli.h"
#include "digm/dht.h"
#include "digm/fetcher.h"
#include "digm/fresh_index.h"
#include "digm/key_wrap.h"

namespace {

using namespace digm;

bool IsRoot(const std::string& s) {
  struct stat st;
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos &&
         stat(s.c_str(), &st) != 0;
}


std::string DefaultCache() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/digm";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/digm";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Fetch a track from many nodes at once, verified, and print its plaintext.", "digm-fetch");
  cli::Init(app, "digm-fetch");
  std::string input, index, key_path, wrapped_path, wallet_path, output, receipt_path, cache_dir = DefaultCache();
  std::vector<std::string> peers;
  bool preview = false, no_cache = false, progress = false, quiet = false, use_dht = false, list_peers = false;
  DhtOptions dht_options;
  dht_options.default_port = 0;  // any free port
  dht_options.read_only = true;  // a lookup, gone in seconds: no routing table should keep it
  long dht_timeout_s = 30;
  long timeout_s = 10;
  app.add_option("TRACK", input, "a track root (64 hex digits) or a manifest file")->required()->type_name("");
  app.add_option("-p,--peer", peers, "a node to fetch from; its peers are asked too (repeatable)")->type_name("URL");
  app.add_option("--index", index, "a digm.fresh-index/1 whose healthy nodes to prefer")->type_name("FILE");
  app.add_flag("--dht", use_dht, "find nodes holding the track on the BitTorrent mainline DHT");
  app.add_option("--dht-bootstrap", dht_options.bootstrap, "a DHT node to join through, replacing the public routers (repeatable)")
      ->type_name("HOST:PORT");
  app.add_option("--dht-listen", dht_options.listen, "the DHT's UDP address and port (default: any free port)")->type_name("ADDR:PORT");
  app.add_option("--dht-timeout", dht_timeout_s, "seconds to look for nodes on the DHT")->capture_default_str()->check(CLI::Range(1, 3600))->type_name("S");
  app.add_flag("--list-peers", list_peers, "print the nodes found (one URL a line) and fetch nothing");
  app.add_option("-k,--key", key_path, "the track key file")->type_name("FILE");
  app.add_option("--wrapped", wrapped_path, "a digm.wrapped-key/1 for --wallet")->type_name("FILE");
  app.add_option("--wallet", wallet_path, "your wallet: opens --wrapped, signs --receipt")->type_name("FILE");
  app.add_option("-o,--output", output, "write the track here, or - for stdout")->type_name("FILE");
  app.add_option("--receipt", receipt_path, "write a signed digm.receipt/1 here (needs --wallet)")->type_name("FILE");
  app.add_option("--cache", cache_dir, "content-addressed cache of fetched chunks")->type_name("DIR");
  app.add_flag("--no-cache", no_cache, "neither read nor write the cache");
  app.add_flag("--preview", preview, "fetch only the preview chunks (no key needed)");
  app.add_option("--timeout", timeout_s, "seconds one request may take")->capture_default_str()->check(CLI::Range(1L, 86400L))->type_name("S");
  app.add_flag("--progress", progress, "draw a progress bar on stderr even when not a terminal");
  app.add_flag("-q,--quiet", quiet, "print nothing but errors");
  if (int rc = cli::Parse(app, argc, argv); rc >= 0) return rc;

  if (!use_dht) {
    for (const char* o : {"--dht-bootstrap", "--dht-listen", "--dht-timeout"}) {
      if (app.get_option(o)->count()) return cli::UsageError(std::string(o) + " goes with --dht");
    }
  }
  if (output.empty() && !list_peers) {
    if (diag::IsTerminal(1)) return cli::UsageError("refusing to write audio to a terminal", "add -o FILE, or -o - to stream");
    output = "-";
  }
  if (!receipt_path.empty() && wallet_path.empty()) return cli::UsageError("--receipt needs --wallet to sign it");
  if (!wrapped_path.empty() && wallet_path.empty()) return cli::UsageError("--wrapped needs --wallet to open it");
  if (!key_path.empty() && !wrapped_path.empty()) return cli::UsageError("give --key or --wrapped, not both");
  std::vector<std::string> struck_out;  // never used, however they are found
  if (!index.empty()) {
    auto nodes = ReadFreshIndex(index);
    if (!nodes.ok()) return diag::Fail(nodes.status());
    auto healthy = HealthyUrls(*nodes);
    peers.insert(peers.begin(), healthy.begin(), healthy.end());
    struck_out = StruckOutUrls(*nodes);
  }
  // A manifest file argument, read once, when first needed.
  std::optional<Result<Manifest>> given;
  auto given_manifest = [&]() -> Result<Manifest>& {
    if (!given) given = ReadManifest(input, false);
    return *given;
  };
  if (use_dht) {
    // The root names the track on the DHT: given, or the manifest's.
    Hash256 root{};
    if (IsRoot(input)) {
      root = *HexDecodeArray<32>(input);
    } else {
      auto& m = given_manifest();
      if (!m.ok()) return diag::Fail(m.status());
      root = m->ComputeRoot();
    }
    if (int rc = cli::CheckDhtFlags(dht_options); rc >= 0) return rc;
    cli::DhtDebugLog(dht_options);
    auto start = std::chrono::steady_clock::now();
    auto dht = Dht::Start(dht_options);
    if (!dht.ok()) return diag::Fail(dht.status());
    std::chrono::milliseconds first{0};
    double joined = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto found = (*dht)->FindPeers(root, std::chrono::seconds(dht_timeout_s), std::chrono::milliseconds(1000), &first);
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!quiet) {
      char line[160];
      int n = std::snprintf(line, sizeof line, "dht: %zu %s in %.2f s", found.size(), found.size() == 1 ? "node" : "nodes", took);
      if (!found.empty()) std::snprintf(line + n, sizeof line - n, " (the first after %.2f s)", joined + first.count() / 1000.0);
      std::fprintf(stderr, "%s: %s\n", std::string(diag::ProgramName()).c_str(), line);
    }
    if (found.empty() && peers.empty()) {
      return diag::Fail(Status::Network("no node on the DHT announces " + HexEncode(root) + " (looked for " +
                                        std::to_string(dht_timeout_s) + " s)"));
    }
    peers.insert(peers.end(), found.begin(), found.end());
  }
  if (peers.empty()) return cli::UsageError("no node to fetch from", "add --peer URL, --index FILE or --dht");
  std::optional<Wallet> wallet;
  if (!wallet_path.empty()) {
    auto w = ReadWalletFile(wallet_path);
    if (!w.ok()) return diag::Fail(w.status());
    wallet = *w;
  }
  std::optional<TrackKey> key;
  if (!key_path.empty()) {
    auto k = ReadKeyFile(key_path);
    if (!k.ok()) return diag::Fail(k.status());
    key = *k;
  } else if (!wrapped_path.empty()) {
    auto doc = ReadDocument(wrapped_path, "wrapped-key", 1);
    if (!doc.ok()) return diag::Fail(doc.status());
    auto k = UnwrapKey(*doc, *wallet);
    if (!k.ok()) return diag::Fail(k.status());
    key = *k;
  }

  FetchOptions o;
  o.peers = DiscoverPeers(peers, struck_out);
  if (list_peers) {
    for (const auto& p : o.peers) std::printf("%s\n", p.c_str());
    return o.peers.empty() ? 5 : 0;
  }
  auto manifest = IsRoot(input) ? ResolveManifest(input, o.peers) : std::move(given_manifest());
  if (!manifest.ok()) return diag::Fail(manifest.status());
  if (manifest->encryption && !key && !preview &&
      manifest->encryption->preview_chunks < manifest->chunks.size()) {
    return cli::UsageError("the track is encrypted: give --key FILE, or --wrapped FILE --wallet FILE",
                           "or fetch only the free preview with --preview");
  }
  std::optional<ChunkStore> cache;
  if (!no_cache && !cache_dir.empty()) {
    auto c = ChunkStore::Open(cache_dir, {});
    if (c.ok()) cache = std::move(*c);
  }
  o.key = key ? &*key : nullptr;
  o.preview_only = preview;
  o.cache = cache ? &*cache : nullptr;
  o.timeout_ms = timeout_s * 1000;
  diag::Progress bar(!quiet && (progress || diag::IsTerminal(2)));
  o.progress = [&](const FetchProgress& p) {
    bar.Update(p.bytes, p.total, std::to_string(p.peers) + (p.peers == 1 ? " peer" : " peers"));
  };

  Result<FetchResult> result = Status::Ok();
  if (output == "-") {
    result = FetchTrack(*manifest, o, 1);
  } else {
    auto out = AtomicFile::Create(output);
    if (!out.ok()) return diag::Fail(out.status());
    result = FetchTrack(*manifest, o, out->fd());
    if (result.ok()) {
      if (Status s = out->Commit(); !s.ok()) result = s;
    }
  }
  bar.Finish();
  if (!result.ok()) return diag::Fail(result.status());
  if (!receipt_path.empty()) {
    Status s = WriteOutput(receipt_path, DumpDocument(MakeReceipt(*manifest, *result, *wallet)) + "\n");
    if (!s.ok()) return diag::Fail(s);
  }
  return 0;
}
