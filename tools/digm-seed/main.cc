// digm-seed: a storage node (SPEC §5): init, serve, add, publish, ls, rm,
// fsck, gc and peers over a data folder.
#include <cstdio>

#include "cli.h"
#include "digm/node_store.h"
#include "digm/seed_api.h"
#include "digm/seed_node.h"

namespace {

using namespace digm;

int PrintJson(const Json& doc) {
  Status s = WriteOutput("-", DumpDocument(doc) + "\n");
  return s.ok() ? 0 : diag::Fail(s);
}

template <class T>
int Check(const Result<T>& r) {
  return r.ok() ? -1 : diag::Fail(r.status());
}

std::unique_ptr<NodeStore> OpenStore(const std::string& data, int* rc) {
  auto store = NodeStore::Open(data, false);
  *rc = Check(store);
  return store.ok() ? std::move(*store) : nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Run a digm storage node, or publish to one.", "digm-seed");
  cli::Init(app, "digm-seed");
  app.require_subcommand(1, 1);
  std::string data = "/var/lib/digm", manifest, from, node, wallet_path, root;
  SeedOptions so;
  so.limits.rate_per_ip = 1000;
  std::vector<std::string> allow;
  uint64_t replicas = 3, days = 365;
  bool repair = false, quiet = false;

  auto data_opt = [&](CLI::App* c) {
    c->add_option("-d,--data", data, "the node's data folder")
        ->capture_default_str()
        ->type_name("DIR");
  };
  auto* init = app.add_subcommand("init", "create a data folder, its node wallet and index");
  data_opt(init);
  auto* serve = app.add_subcommand("serve", "serve the node over HTTP until SIGTERM");
  data_opt(serve);
  serve
      ->add_option("-l,--listen", so.listen, "address and port to listen on (port 0: any free one)")
      ->capture_default_str()
      ->type_name("HOST:PORT");
  serve->add_option("--url", so.url, "URL others reach this node at (default: http://LISTEN)")
      ->type_name("URL");
  serve->add_option("-p,--peer", so.bootstrap, "a node to gossip with from the start (repeatable)")
      ->type_name("URL");
  serve->add_option("--allow-publisher", allow, "accept pins only from this address (repeatable)")
      ->type_name("ADDRESS");
  serve->add_option("-j,--threads", so.limits.threads, "server threads (default: all cores)")
      ->check(CLI::Range(1, 1024))
      ->type_name("N");
  serve
      ->add_option("--gossip-interval", so.gossip_interval_s,
                   "seconds between gossip and repair rounds")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600))
      ->type_name("S");
  serve->add_option("--peer-ttl", so.peer_ttl_s, "seconds a silent peer is still believed alive")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400))
      ->type_name("S");
  serve->add_option("--max-connections", so.limits.max_connections, "open connections at most")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->type_name("N");
  serve
      ->add_option("--max-connections-per-ip", so.limits.max_connections_per_ip,
                   "open connections from one client address at most")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->type_name("N");
  serve
      ->add_option("--rate-limit", so.limits.rate_per_ip,
                   "requests per second per client address (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e9))
      ->type_name("N");
  serve->add_option("--idle-timeout", so.limits.idle_timeout_s, "seconds to wait for a request")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400))
      ->type_name("S");
  serve
      ->add_option("--header-timeout", so.limits.header_timeout_s,
                   "seconds a client has to send a request's headers")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400))
      ->type_name("S");
  serve->add_option("--max-body", so.limits.body_limit, "largest request body in bytes")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->type_name("BYTES");
  serve->add_flag("--dht", so.dht, "announce the tracks held here on the BitTorrent mainline DHT");
  serve->add_option("--dht-listen", so.dht_options.listen, "the DHT's UDP address and port (default: 0.0.0.0:6881)")
      ->type_name("ADDR:PORT");
  serve->add_option("--dht-bootstrap", so.dht_options.bootstrap,
                    "a DHT node to join through, replacing the public routers (repeatable; none: only the saved state)")
      ->type_name("HOST:PORT");
  serve->add_option("--dht-announce-interval", so.dht_announce_interval_s, "seconds between announcements")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400))
      ->type_name("S");
  serve->add_option("--dht-peer-ttl", so.dht_options.peer_ttl_s, "seconds this node keeps others' announcements")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400))
      ->type_name("S");
  serve->add_flag("--dht-port-mapping", so.dht_options.port_mapping, "map the DHT port with UPnP and NAT-PMP");
  serve->add_flag("-q,--quiet", quiet, "log nothing but errors");
  auto* add = app.add_subcommand("add", "import a track and its chunks offline");
  data_opt(add);
  add->add_option("manifest", manifest, "the track's manifest")->required()->type_name("MANIFEST");
  add->add_option("--from", from, "folder holding the chunks")->required()->type_name("DIR");
  auto* publish = app.add_subcommand("publish", "pin a track on a node and upload its chunks");
  publish->add_option("manifest", manifest, "the track's manifest")
      ->required()
      ->type_name("MANIFEST");
  publish->add_option("--from", from, "folder holding the chunks")->required()->type_name("DIR");
  publish->add_option("--node", node, "the node's URL")->required()->type_name("URL");
  publish->add_option("--wallet", wallet_path, "the publisher's wallet")
      ->required()
      ->type_name("FILE");
  publish->add_option("-r,--replicas", replicas, "copies to keep, this node's included")
      ->capture_default_str()
      ->check(CLI::Range(1, 16))
      ->type_name("N");
  publish->add_option("--days", days, "how long the pin lasts")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{36500}))
      ->type_name("N");
  auto* ls = app.add_subcommand("ls", "list the tracks held (JSON)");
  data_opt(ls);
  auto* rm = app.add_subcommand("rm", "remove a track and the chunks only it uses");
  data_opt(rm);
  rm->add_option("root", root, "the track's root")->required()->type_name("ROOT");
  auto* fsck =
      app.add_subcommand("fsck", "check every chunk against the index (JSON; exit 1 on damage)");
  data_opt(fsck);
  fsck->add_flag("--repair", repair, "quarantine bad files and fix the index");
  auto* peers = app.add_subcommand("peers", "list the peers believed alive (JSON)");
  data_opt(peers);
  auto* gc = app.add_subcommand("gc", "remove tracks whose pins all expired, and their chunks (JSON)");
  data_opt(gc);
  if (int rc = cli::Parse(app, argc, argv); rc >= 0) return rc;

  int rc = -1;
  if (init->parsed()) {
    auto w = InitSeed(data);
    if ((rc = Check(w)) >= 0) return rc;
    return PrintJson(IdentityToJson(*w));
  }
  if (serve->parsed()) {
    so.data_dir = data;
    if ((rc = cli::CheckListen("--listen", so.listen)) >= 0) return rc;
    if (so.dht) {
      if (int rc = cli::CheckDhtFlags(so.dht_options); rc >= 0) return rc;
      cli::DhtDebugLog(so.dht_options);
    } else {
      for (const char* o : {"--dht-listen", "--dht-bootstrap", "--dht-announce-interval", "--dht-peer-ttl", "--dht-port-mapping"}) {
        if (serve->get_option(o)->count()) return cli::UsageError(std::string(o) + " goes with --dht");
      }
    }
    for (const auto& a : allow) {
      auto address = ParseAddress(a);
      if (!address.ok()) return cli::UsageError("--allow-publisher: " + address.status().message());
      so.allowed_publishers.push_back(*address);
    }
    auto log = [quiet](const std::string& line) {
      if (!quiet) diag::Log(line);
    };
    auto r = RunSeed(so, log);
    if ((rc = Check(r)) >= 0) return rc;
    return *r;
  }
  if (publish->parsed()) {
    auto m = ReadManifest(manifest, false);
    if ((rc = Check(m)) >= 0) return rc;
    auto w = ReadWalletFile(wallet_path);
    if ((rc = Check(w)) >= 0) return rc;
    auto p = Publish(*m, from, node, *w, replicas, days);
    if ((rc = Check(p)) >= 0) return rc;
    return PrintJson(Json{{"schema", "digm.published/1"},
                          {"root", p->root},
                          {"node", node},
                          {"replicas", replicas},
                          {"uploaded", p->uploaded},
                          {"already", p->already}});
  }
  auto store = OpenStore(data, &rc);
  if (!store) return rc;
  if (add->parsed()) {
    auto m = ReadManifest(manifest, false);
    if ((rc = Check(m)) >= 0) return rc;
    auto chunks = ChunkStore::Open(from, {.create = false});
    if ((rc = Check(chunks)) >= 0) return rc;
    if (Status s = store->ImportTrack(*m, *chunks); !s.ok()) return diag::Fail(s);
    return PrintJson(Json{{"schema", "digm.added/1"},
                          {"root", HexEncode(m->ComputeRoot())},
                          {"chunks", m->chunks.size()}});
  }
  if (ls->parsed()) {  // NDJSON: one digm.stored-track/1 per track
    for (const auto& t : store->ListTracks()) cli::PrintLine(t.ToJson());
    return 0;
  }
  if (rm->parsed()) {
    Status s = store->RemoveTrack(root);
    return s.ok() ? 0 : diag::Fail(s);
  }
  if (gc->parsed()) {
    auto removed = store->CollectGarbage(UnixNow());
    if ((rc = Check(removed)) >= 0) return rc;
    return PrintJson(Json{{"schema", "digm.gc/1"}, {"removed", *removed}});
  }
  if (fsck->parsed()) {
    auto report = store->Fsck(repair);
    if ((rc = Check(report)) >= 0) return rc;
    if ((rc = PrintJson(report->ToJson())) != 0) return rc;
    return report->clean() || report->repaired ? 0 : 1;
  }
  Json out = Json::array();
  for (const auto& p : store->ListPeers(UnixNow() - 300)) {
    Json record = p.record;
    record["available_tracks"] = p.roots;
    out.push_back(record);
  }
  return PrintJson(out);
}
