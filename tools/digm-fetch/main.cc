// digm-fetch: a track root or manifest -> its plaintext, fetched from many
// nodes at once and verified chunk by chunk, and a signed receipt (SPEC §6).
// What it does is digm/fetch_command.h; this file parses and prints.
#include <cstdio>
#include <cstdlib>

#include "cli.h"
#include "digm/fetch_command.h"
#include "flags.h"
#include "live.h"

namespace {

using namespace digm;

std::string DefaultCache() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/digm";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/digm";
  return "";
}

void ReportDht(const DhtLookup& d) {
  char line[160];
  int n = std::snprintf(line, sizeof line, "dht: %zu %s in %.2f s", d.nodes,
                        d.nodes == 1 ? "node" : "nodes", d.seconds);
  if (d.nodes > 0) {
    std::snprintf(line + n, sizeof line - n, " (the first after %.2f s)", d.first_after);
  }
  diag::Log(line);
}

int ListPeers(const FetchRequest& r) {
  auto nodes = FindTrackNodes(r);
  if (!nodes.ok()) return diag::Fail(nodes.status());
  for (const auto& p : *nodes) cli::PrintText(p);
  return nodes->empty() ? static_cast<int>(Code::kNetwork) : 0;
}

}  // namespace

static int Run(int argc, char** argv) {
  CLI::App app("Fetch a track from many nodes at once, verified, and print its plaintext.",
               "digm-fetch");
  cli::Init(app, "digm-fetch");
  FetchRequest r;
  r.cache = DefaultCache();
  r.output.clear();
  bool no_cache = false, progress = false, quiet = false, use_dht = false, list_peers = false,
       live = false, from_start = false;
  DhtOptions dht;
  dht.default_port = 0;  // any free port
  dht.read_only = true;  // a lookup, gone in seconds: no routing table should keep it
  long timeout_s = 10;
  app.add_option("TRACK", r.track,
                 "a track root (64 hex digits), a manifest, a magnet link or .torrent, "
                 "or a stream id")
      ->required()
      ->type_name("");
  app.add_option("--manifest", r.manifest, "with a magnet link or .torrent: the track's manifest")
      ->type_name("FILE");
  app.add_option("--root", r.root, "with a magnet link or .torrent: the track's root")
      ->type_name("ROOT");
  app.add_option("-p,--peer", r.peers, "a node to fetch from; its peers are asked too (repeatable)")
      ->type_name("URL");
  app.add_option("--index", r.index, "a digm.fresh-index/1 whose healthy nodes to prefer")
      ->type_name("FILE");
  app.add_flag("--dht", use_dht, "find nodes holding the track on the BitTorrent mainline DHT");
  cli::AddDhtFlags(&app, dht, "any free port", false);
  app.add_option("--dht-timeout", r.dht_timeout_s, "seconds to look for nodes on the DHT")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600))
      ->type_name("S");
  app.add_flag("--list-peers", list_peers,
               "print the nodes found (one URL a line) and fetch nothing");
  app.add_option("-k,--key", r.key, "the track key file")->type_name("FILE");
  app.add_option("--wrapped", r.wrapped, "a digm.wrapped-key/1 for --wallet")->type_name("FILE");
  app.add_option("--wallet", r.wallet,
                 "your wallet: opens --wrapped, signs --receipt and the vouchers of --pay")
      ->type_name("FILE");
  app.add_option("-o,--output", r.output, "write the track here, or - for stdout")
      ->type_name("FILE");
  app.add_option("--pay", r.pay, "pay per chunk through this digm.channel/1 (repeatable)")
      ->type_name("CHANNEL");
  app.add_option("--receipt", r.receipt, "write a signed digm.receipt/1 here (needs --wallet)")
      ->type_name("FILE");
  app.add_option("--cache", r.cache, "content-addressed cache of fetched chunks")->type_name("DIR");
  app.add_flag("--no-cache", no_cache, "neither read nor write the cache");
  cli::AddBytesOption(&app, "--cache-size", &r.cache_size,
                      "keep the cache to this size, least recently used first", "500M")
      ->default_str("2G");
  app.add_flag("--preview", r.preview, "fetch only the preview chunks (no key needed)");
  app.add_option("--timeout", timeout_s, "seconds one request may take")
      ->capture_default_str()
      ->check(CLI::Range(1L, 86400L))
      ->type_name("S");
  app.add_flag("--progress", progress, "draw a progress bar on stderr even when not a terminal");
  app.add_flag("-q,--quiet", quiet, "print nothing but errors");
  app.add_flag("--live", live, "TRACK is a live stream's id: play it as it grows");
  app.add_flag("--from-start", from_start, "with --live: from the stream's first chunk");
  if (int rc = cli::Parse(app, argc, argv); rc >= 0) return rc;

  if (!use_dht) {
    for (const char* o : {"--dht-bootstrap", "--dht-listen", "--dht-timeout"}) {
      if (app.get_option(o)->count()) return cli::UsageError(std::string(o) + " goes with --dht");
    }
  }
  if (r.output.empty() && !list_peers) {
    if (diag::IsTerminal(1)) {
      return cli::UsageError("refusing to write audio to a terminal",
                             "add -o FILE, or -o - to stream");
    }
    r.output = "-";
  }
  if (use_dht) {
    if (int rc = cli::CheckDhtFlags(dht); rc >= 0) return rc;
    cli::DhtDebugLog(dht);
    r.dht = dht;
    if (!quiet) r.on_dht = ReportDht;
  }
  if (no_cache) r.cache.clear();
  if (!quiet) r.warn = [](const std::string& m) { diag::Warning(m); };
  r.timeout_ms = timeout_s * 1000;
  if (live) return ListenLive(app, r, from_start, quiet);
  if (from_start) return cli::UsageError("--from-start goes with --live");
  if (list_peers) return ListPeers(r);
  diag::Progress bar(!quiet && (progress || diag::IsTerminal(2)));
  r.progress = [&](const FetchProgress& p) {
    bar.Update(p.bytes, p.total, std::to_string(p.peers) + (p.peers == 1 ? " peer" : " peers"));
  };
  Status s = FetchCommand(r);
  bar.Finish();
  return s.ok() ? 0 : diag::Fail(s);
}

int main(int argc, char** argv) { cli::ExitNow(Run(argc, argv)); }
