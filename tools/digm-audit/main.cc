// digm-audit: storage proofs (SPEC §7). prepare: a manifest and its chunks ->
// secret challenges in a database; run: nodes -> digm.audit/1 results and
// digm.slash/1 records (NDJSON); index: the database -> digm.fresh-index/1.
// What each command does is digm/audit_commands.h; this file parses and prints.
#include "cli.h"
#include "digm/audit_commands.h"

namespace {

using namespace digm;

int Run(const AuditEpochRequest& r, bool quiet) {
  auto out = AuditEpoch(r, [&](const NodeAudit& a) {
    if (a.results.empty()) {
      if (!quiet) diag::Warning(a.target.url + ": not audited: " + a.skipped);
      return;
    }
    for (const auto& result : a.results) cli::PrintLine(result.ToJson());
    if (!a.skipped.empty()) diag::Error(a.target.url + ": " + a.skipped);
  });
  if (!out.ok()) return diag::Fail(out.status());
  for (const auto& slash : out->slashes) cli::PrintLine(slash);
  if (!quiet) {
    for (const auto& t : out->low) {
      diag::Warning("track " + t.root.substr(0, 16) + "…: " + std::to_string(t.unused) + " of " +
                    std::to_string(t.prepared) + " challenges left, " +
                    std::to_string(t.exhausted_chunks) + " of " + std::to_string(t.chunks) +
                    " chunks exhausted");
    }
    if (!out->low.empty()) diag::Hint("run digm-audit prepare again for these tracks");
  }
  if (out->audited == 0) diag::Error("no node was audited");
  return out->audited == 0 || out->failed ? static_cast<int>(Code::kNo) : 0;
}

}  // namespace

static int Run(int argc, char** argv) {
  CLI::App app(
      "Audit storage nodes: prepare secret challenges, run an epoch, print the fresh index.",
      "digm-audit");
  cli::Init(app, "digm-audit");
  app.require_subcommand(1, 1);
  AuditEpochRequest r;
  std::string manifest, from, mode = "challenge", output = "-";
  uint32_t count = 8;
  double timeout_s = 10, decay = 0.9;
  bool quiet = false;
  auto db_opt = [&](CLI::App* c) {
    c->add_option("--db", r.db, "the auditor's database")->required()->type_name("DB");
  };
  auto epoch_opts = [&](CLI::App* c) {
    c->add_option("--epoch", r.when.epoch, "the epoch (default: now / --epoch-seconds)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
        ->type_name("N");
    c->add_option("--epoch-seconds", r.when.epoch_seconds,
                  "length of an epoch (default 3600, or as last run)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 32))
        ->type_name("S");
  };
  auto range = [](auto lo, auto hi) { return CLI::Range(lo, hi); };

  auto* prepare =
      app.add_subcommand("prepare", "store secret challenges for every chunk of a track");
  prepare->add_option("MANIFEST", manifest, "the sealed manifest")->required()->type_name("");
  prepare->add_option("--from", from, "folder holding the track's chunks")
      ->required()
      ->type_name("DIR");
  db_opt(prepare);
  prepare->add_option("-n,--count", count, "challenges per chunk")
      ->capture_default_str()
      ->check(range(1, 1000));

  auto* run = app.add_subcommand("run", "audit nodes for one epoch; print results as NDJSON");
  db_opt(run);
  run->add_option("-p,--peer", r.peers, "a node to audit (repeatable)")->type_name("URL");
  run->add_option("--index", r.index, "audit every node of this digm.fresh-index/1")
      ->type_name("FILE");
  run->add_flag("--discover", r.discover,
                "also audit the nodes the given ones know (signed records)");
  run->add_option("--sample", r.sample, "audit this random share of the nodes (at least one)")
      ->capture_default_str()
      ->check(range(0.0, 1.0))
      ->type_name("FRACTION");
  epoch_opts(run);
  run->add_option("--mode", mode, "challenge: prepared challenges; retrieve: download and check")
      ->capture_default_str()
      ->check(CLI::IsMember({"challenge", "retrieve"}));
  run->add_option("-m,--manifest", r.manifests,
                  "retrieve mode: a track that may be checked (repeatable)")
      ->type_name("FILE");
  run->add_option("-c,--challenges", r.challenges, "challenges per node and epoch")
      ->capture_default_str()
      ->check(range(1, 100000));
  run->add_option("--timeout", timeout_s, "seconds one request may take")
      ->capture_default_str()
      ->check(range(0.001, 86400.0))
      ->type_name("S");
  run->add_option("--retries", r.retries, "times a timed-out node is asked again")
      ->capture_default_str()
      ->check(range(0, 10));
  run->add_option("--lock-timeout", r.lock_wait_s, "seconds to wait for another run to finish")
      ->capture_default_str()
      ->check(range(0.0, 86400.0))
      ->type_name("S");
  run->add_option("--wallet", r.wallet, "sign slash records with this wallet")->type_name("FILE");
  run->add_flag("-q,--quiet", quiet, "print nothing on stderr but errors");

  auto* index = app.add_subcommand("index", "print the fresh index of healthy nodes");
  db_opt(index);
  epoch_opts(index);
  index->add_option("--decay", decay, "weight of the past per epoch (λ)")
      ->capture_default_str()
      ->check(range(0.0, 1.0));
  index->add_option("-o,--output", output, "write the index here")
      ->capture_default_str()
      ->type_name("FILE");
  if (int rc = cli::Parse(app, argc, argv); rc >= 0) return rc;

  if (prepare->parsed()) {
    auto report = PrepareAudit(r.db, manifest, from, count);
    if (!report.ok()) return diag::Fail(report.status());
    cli::PrintLine(report->ToJson());
    return 0;
  }
  if (index->parsed()) {
    auto doc = AuditIndex(r.db, r.when, decay);
    Status s = doc.ok() ? WriteOutput(output, DumpDocument(*doc) + "\n") : doc.status();
    return s.ok() ? 0 : diag::Fail(s);
  }
  r.retrieve = mode == "retrieve";
  r.timeout_ms = static_cast<long>(timeout_s * 1000);
  return Run(r, quiet);
}

int main(int argc, char** argv) { cli::ExitNow(Run(argc, argv)); }
