// digm-audit: storage proofs (SPEC §7). prepare: a manifest and its chunks ->
// secret challenges in a database; run: nodes -> digm.audit/1 results and
// digm.slash/1 records (NDJSON); index: the database -> digm.fresh-index/1.
#include <cmath>
#include <cstdio>
#include <random>

#include "cli.h"
#include "digm/auditor.h"
#include "digm/clock.h"
#include "digm/fetcher.h"
#include "digm/fresh_index.h"
#include "digm/http_client.h"

namespace {

using namespace digm;

// Every node of a digm.fresh-index/1, healthy or not.
Status AddIndexNodes(const std::string& path, std::vector<AuditTarget>& targets) {
  DIGM_ASSIGN_OR_RETURN(auto nodes, ReadFreshIndex(path));
  for (const auto& n : nodes) {
    if (!n.url.empty()) targets.push_back({n.url, n.node_id});
  }
  return Status::Ok();
}

// A random `fraction` of the targets (at least one), in their given order.
std::vector<AuditTarget> Sample(std::vector<AuditTarget> all, double fraction) {
  size_t k = std::max<size_t>(1, static_cast<size_t>(std::ceil(fraction * all.size())));
  if (k >= all.size()) return all;
  std::vector<size_t> idx(all.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::shuffle(idx.begin(), idx.end(), std::mt19937_64(std::random_device{}()));
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  std::vector<AuditTarget> out;
  for (size_t i : idx) out.push_back(std::move(all[i]));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Audit storage nodes: prepare secret challenges, run an epoch, print the fresh index.",
               "digm-audit");
  cli::Init(app, "digm-audit");
  app.require_subcommand(1, 1);
  std::string db_path, manifest_path, from, index_path, mode = "challenge", wallet_path, output = "-";
  std::vector<std::string> peers, manifests;
  uint32_t count = 8;
  std::optional<int64_t> epoch;
  int64_t epoch_seconds = 0;
  double sample = 1.0, lock_wait = 60, timeout_s = 10, decay = 0.9;
  size_t challenges = 1;
  int retries = 3;
  bool discover = false, quiet = false;
  auto db_opt = [&](CLI::App* c) {
    c->add_option("--db", db_path, "the auditor's database")->required()->type_name("DB");
  };
  auto epoch_opts = [&](CLI::App* c) {
    c->add_option("--epoch", epoch, "the epoch (default: now / --epoch-seconds)")->check(CLI::Range(int64_t{0}, int64_t{1} << 40))->type_name("N");
    c->add_option("--epoch-seconds", epoch_seconds, "length of an epoch (default 3600, or as last run)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 32))
        ->type_name("S");
  };

  auto* prepare = app.add_subcommand("prepare", "store secret challenges for every chunk of a track");
  prepare->add_option("MANIFEST", manifest_path, "the sealed manifest")->required()->type_name("");
  prepare->add_option("--from", from, "folder holding the track's chunks")->required()->type_name("DIR");
  db_opt(prepare);
  prepare->add_option("-n,--count", count, "challenges per chunk")->capture_default_str()->check(CLI::Range(1, 1000));

  auto* run = app.add_subcommand("run", "audit nodes for one epoch; print results as NDJSON");
  db_opt(run);
  run->add_option("-p,--peer", peers, "a node to audit (repeatable)")->type_name("URL");
  run->add_option("--index", index_path, "audit every node of this digm.fresh-index/1")->type_name("FILE");
  run->add_flag("--discover", discover, "also audit the nodes the given ones know (signed records)");
  run->add_option("--sample", sample, "audit this random share of the nodes (at least one)")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0))->type_name("FRACTION");
  epoch_opts(run);
  run->add_option("--mode", mode, "challenge: prepared challenges; retrieve: download and check")
      ->capture_default_str()->check(CLI::IsMember({"challenge", "retrieve"}));
  run->add_option("-m,--manifest", manifests, "retrieve mode: a track that may be checked (repeatable)")->type_name("FILE");
  run->add_option("-c,--challenges", challenges, "challenges per node and epoch")->capture_default_str()->check(CLI::Range(1, 100000));
  run->add_option("--timeout", timeout_s, "seconds one request may take")->capture_default_str()->check(CLI::Range(0.001, 86400.0))->type_name("S");
  run->add_option("--retries", retries, "times a timed-out node is asked again")->capture_default_str()->check(CLI::Range(0, 10));
  run->add_option("--lock-timeout", lock_wait, "seconds to wait for another run to finish")->capture_default_str()->check(CLI::Range(0.0, 86400.0))->type_name("S");
  run->add_option("--wallet", wallet_path, "sign slash records with this wallet")->type_name("FILE");
  run->add_flag("-q,--quiet", quiet, "print nothing on stderr but errors");

  auto* index = app.add_subcommand("index", "print the fresh index of healthy nodes");
  db_opt(index);
  epoch_opts(index);
  index->add_option("--decay", decay, "weight of the past per epoch (λ)")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  index->add_option("-o,--output", output, "write the index here")->capture_default_str()->type_name("FILE");
  if (int rc = cli::Parse(app, argc, argv); rc >= 0) return rc;

  if (run->parsed() && mode == "retrieve" && manifests.empty()) {
    return cli::UsageError("--mode retrieve needs --manifest FILE");
  }
  std::vector<AuditTarget> targets;
  for (const auto& url : discover ? DiscoverPeers(peers) : peers) targets.push_back({BaseUrl(url), ""});
  if (!index_path.empty()) {
    if (Status s = AddIndexNodes(index_path, targets); !s.ok()) return diag::Fail(s);
  }
  if (run->parsed() && targets.empty()) return cli::UsageError("no node to audit", "add --peer URL or --index FILE");
  // What prepare reads is checked before the database is made: a failed
  // command leaves no database behind.
  std::optional<Manifest> prepared;
  std::optional<ChunkStore> prepared_chunks;
  if (prepare->parsed()) {
    auto m = ReadManifest(manifest_path, true);
    if (!m.ok()) return diag::Fail(m.status());
    auto chunks = ChunkStore::Open(from, {.create = false});
    if (!chunks.ok()) return diag::Fail(chunks.status());
    prepared = std::move(*m);
    prepared_chunks = std::move(*chunks);
  }
  auto db = AuditDb::Open(db_path, prepare->parsed() || (run->parsed() && mode == "retrieve"));
  if (!db.ok()) return diag::Fail(db.status());
  if (!epoch_seconds) epoch_seconds = std::stoll((*db)->Setting("epoch_seconds").value_or("3600"));
  int64_t now_epoch = epoch.value_or(UnixNow() / epoch_seconds);

  if (index->parsed()) {
    auto doc = (*db)->FreshIndex(now_epoch, decay);
    Status s = doc.ok() ? WriteOutput(output, DumpDocument(*doc) + "\n") : doc.status();
    return s.ok() ? 0 : diag::Fail(s);
  }
  if (Status s = (*db)->Lock(run->parsed() ? lock_wait : 60); !s.ok()) {
    diag::Error(s.message());
    diag::Hint("runs of one database take turns; raise --lock-timeout to wait longer");
    return s.exit_code();
  }
  if (prepare->parsed()) {
    auto report = (*db)->Prepare(*prepared, *prepared_chunks, count);
    if (!report.ok()) return diag::Fail(report.status());
    cli::PrintLine(report->ToJson());
    return 0;
  }

  AuditRunOptions o;
  o.epoch = now_epoch;
  o.retrieve = mode == "retrieve";
  o.challenges = challenges;
  o.timeout_ms = static_cast<long>(timeout_s * 1000);
  o.retries = retries;
  for (const auto& path : manifests) {
    auto m = ReadManifest(path, true);
    if (!m.ok()) return diag::Fail(m.status());
    o.manifests.push_back(std::move(*m));
  }
  std::optional<Wallet> wallet;
  if (!wallet_path.empty()) {
    auto w = ReadWalletFile(wallet_path);
    if (!w.ok()) return diag::Fail(w.status());
    wallet = *w;
    o.auditor = &*wallet;
  }
  if (Status s = (*db)->SetSetting("epoch_seconds", std::to_string(epoch_seconds)); !s.ok()) return diag::Fail(s);

  size_t audited = 0, failed = 0;
  std::vector<Json> slashes;
  Status s = RunAudit(**db, Sample(std::move(targets), sample), o, [&](const NodeAudit& a) {
    if (a.results.empty()) {
      if (!quiet) diag::Warning(a.target.url + ": not audited: " + a.skipped);
      return;
    }
    ++audited;
    if (!a.passed()) ++failed;
    for (const auto& r : a.results) cli::PrintLine(r.ToJson());
    if (!a.skipped.empty()) diag::Error(a.target.url + ": " + a.skipped);
    if (a.slash) slashes.push_back(*a.slash);
  });
  if (!s.ok()) return diag::Fail(s);
  for (const auto& slash : slashes) cli::PrintLine(slash);
  if (!o.retrieve && !quiet) {
    auto low = (*db)->LowStock();
    for (const auto& t : low.ok() ? *low : std::vector<ChallengeStock>{}) {
      diag::Warning("track " + t.root.substr(0, 16) + "…: " + std::to_string(t.unused) + " of " +
                    std::to_string(t.prepared) + " challenges left, " +
                    std::to_string(t.exhausted_chunks) + " of " + std::to_string(t.chunks) +
                    " chunks exhausted");
    }
    if (low.ok() && !low->empty()) diag::Hint("run digm-audit prepare again for these tracks");
  }
  if (audited == 0) {
    diag::Error("no node was audited");
    return static_cast<int>(Code::kNo);
  }
  return failed ? static_cast<int>(Code::kNo) : 0;
}
