// digm-seed: a storage node (SPEC §5): init, serve, add, publish, ls, rm,
// fsck, gc, peers, torrent and vouchers over a data folder. What each command does is in
// digm/seed_node.h and digm/node_store.h; this file parses and prints.
#include "cli.h"
#include "digm/clock.h"
#include "digm/node_store.h"
#include "digm/node_torrent.h"
#include "digm/seed_node.h"
#include "serve_flags.h"

namespace {

using namespace digm;

int Print(const Result<Json>& doc) {
  Status s = doc.ok() ? WriteOutput("-", DumpDocument(*doc) + "\n") : doc.status();
  return s.ok() ? 0 : diag::Fail(s);
}

int Serve(SeedOptions& so, CLI::App* serve, const std::vector<std::string>& allow,
          const PriceFlags& price, bool quiet) {
  if (int rc = cli::CheckListen("--listen", so.listen); rc >= 0) return rc;
  if (int rc = ServePrice(serve, price, so); rc >= 0) return rc;
  if (so.dht) {
    if (int rc = cli::CheckDhtFlags(so.dht_options); rc >= 0) return rc;
    cli::DhtDebugLog(so.dht_options);
  } else {
    for (const char* o : {"--dht-listen", "--dht-bootstrap", "--dht-announce-interval",
                          "--dht-peer-ttl", "--dht-port-mapping"}) {
      if (serve->get_option(o)->count())
        return cli::UsageError(std::string(o) + " goes with --dht");
    }
  }
  if (!so.bittorrent && !so.bt_listen.empty())
    return cli::UsageError("--bt-listen goes with --bittorrent");
  for (const auto& b : so.bt_listen) {
    if (int rc = cli::CheckListen("--bt-listen", b); rc >= 0) return rc;
  }
  for (const auto& a : allow) {
    auto address = ParseAddress(a);
    if (!address.ok()) return cli::UsageError("--allow-publisher: " + address.status().message());
    so.allowed_publishers.push_back(*address);
  }
  auto r = RunSeed(so, [quiet](const std::string& line) {
    if (!quiet) diag::Log(line);
  });
  return r.ok() ? *r : diag::Fail(r.status());
}

// fsck: the report, and exit 1 when damage was found and not repaired.
int Fsck(const std::string& data, bool repair) {
  auto store = NodeStore::Open(data, false);
  auto report = store.ok() ? (*store)->Fsck(repair) : Result<FsckReport>(store.status());
  if (!report.ok()) return diag::Fail(report.status());
  if (int rc = Print(report->ToJson()); rc != 0) return rc;
  return report->clean() || report->repaired ? 0 : static_cast<int>(Code::kNo);
}

int List(const std::string& data, const std::string& remove) {
  auto store = NodeStore::Open(data, false);
  if (!store.ok()) return diag::Fail(store.status());
  if (!remove.empty()) {
    Status s = (*store)->RemoveTrack(remove);
    return s.ok() ? 0 : diag::Fail(s);
  }
  for (const auto& t : (*store)->ListTracks()) cli::PrintLine(t.ToJson());  // NDJSON
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Run a digm storage node, or publish to one.", "digm-seed");
  cli::Init(app, "digm-seed");
  app.require_subcommand(1, 1);
  std::string data = "/var/lib/digm", manifest, from, node, wallet, root, out;
  std::vector<std::string> web_seeds;
  SeedOptions so;
  so.limits.rate_per_ip = 1000;
  std::vector<std::string> allow;
  uint64_t replicas = 3, days = 365;
  bool repair = false, quiet = false, v1 = false, channels = false;
  auto with_data = [&](const char* name, const char* help) {
    auto* c = app.add_subcommand(name, help);
    c->add_option("-d,--data", data, "the node's data folder")
        ->capture_default_str()
        ->type_name("DIR");
    return c;
  };
  auto track_opts = [&](CLI::App* c) {
    c->add_option("manifest", manifest, "the track's manifest")->required()->type_name("MANIFEST");
    c->add_option("--from", from, "folder holding the chunks")->required()->type_name("DIR");
  };
  auto* init = with_data("init", "create a data folder, its node wallet and index");
  auto* serve = with_data("serve", "serve the node over HTTP until SIGTERM");
  PriceFlags price;
  AddServeFlags(serve, so, allow, price);
  serve->add_flag("-q,--quiet", quiet, "log nothing but errors");
  auto* add = with_data("add", "import a track and its chunks offline");
  track_opts(add);
  auto* publish = app.add_subcommand("publish", "pin a track on a node and upload its chunks");
  track_opts(publish);
  publish->add_option("--node", node, "the node's URL")->required()->type_name("URL");
  publish->add_option("--wallet", wallet, "the publisher's wallet")->required()->type_name("FILE");
  publish->add_option("-r,--replicas", replicas, "copies to keep, this node's included")
      ->capture_default_str()
      ->check(CLI::Range(1, 16))
      ->type_name("N");
  publish->add_option("--days", days, "how long the pin lasts")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{36500}))
      ->type_name("N");
  auto* ls = with_data("ls", "list the tracks held (JSON)");
  auto* rm = with_data("rm", "remove a track and the chunks only it uses");
  rm->add_option("root", root, "the track's root")->required()->type_name("ROOT");
  auto* fsck = with_data("fsck", "check every chunk against the index (JSON; exit 1 on damage)");
  fsck->add_flag("--repair", repair, "quarantine bad files and fix the index");
  with_data("peers", "list the peers believed alive (JSON)");
  auto* torrent = with_data("torrent", "write a track's torrent, for any BitTorrent client (JSON)");
  torrent->add_option("root", root, "the track's root")->required()->type_name("ROOT");
  torrent->add_option("--web-seed", web_seeds, "a node serving it (repeatable)")->type_name("URL");
  torrent->add_option("-o,--output", out, "the .torrent to write")->required()->type_name("FILE");
  torrent->add_flag("--v1", v1, "a BitTorrent v1 torrent (BEP 3), for clients without BEP 52");
  auto* vouchers =
      with_data("vouchers", "print each channel's best voucher, for digm-pay (NDJSON)");
  vouchers->add_flag("--channels", channels, "each after its channel's document (chain channels)");
  auto* gc = with_data(
      "gc",
      "remove tracks whose pins all expired, streams silent for a day, and their chunks (JSON)");
  if (int rc = cli::Parse(app, argc, argv); rc >= 0) return rc;

  so.data_dir = data;
  if (init->parsed()) {
    auto w = InitSeed(data);
    return Print(w.ok() ? Result<Json>(IdentityToJson(*w)) : Result<Json>(w.status()));
  }
  if (serve->parsed()) return Serve(so, serve, allow, price, quiet);
  if (publish->parsed()) return Print(PublishTrack(manifest, from, node, wallet, replicas, days));
  if (add->parsed()) return Print(AddTrackOffline(data, manifest, from));
  if (ls->parsed() || rm->parsed()) return List(data, rm->parsed() ? root : "");
  if (gc->parsed()) return Print(CollectGarbage(data, UnixNow()));
  if (fsck->parsed()) return Fsck(data, repair);
  if (vouchers->parsed()) {
    auto best = BestVouchers(data, channels);
    for (const auto& v : best.ok() ? *best : std::vector<Json>{}) cli::PrintLine(v);
    return best.ok() ? 0 : diag::Fail(best.status());
  }
  if (torrent->parsed()) return Print(WriteTrackTorrent(data, root, web_seeds, out, v1));
  return Print(PeerList(data, UnixNow()));
}
