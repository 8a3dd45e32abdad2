#include "digm/audit_commands.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "digm/address.h"
#include "digm/fresh_index.h"
#include "digm/node_client.h"

namespace digm {
namespace {

constexpr const char* kLockHint =
    "runs of one database take turns; raise --lock-timeout to wait longer";

int64_t EpochOf(AuditDb& db, const EpochChoice& when, int64_t* seconds) {
  *seconds = when.epoch_seconds;
  if (*seconds == 0) {
    *seconds =
        std::max<int64_t>(1, std::atoll(db.Setting("epoch_seconds").value_or("3600").c_str()));
  }
  return when.epoch.value_or(when.clock() / *seconds);
}

Result<std::vector<AuditTarget>> Targets(const AuditEpochRequest& r) {
  std::vector<AuditTarget> targets;
  for (const auto& url : r.discover ? DiscoverPeers(r.peers) : r.peers) {
    targets.push_back({BaseUrl(url), ""});
  }
  if (!r.index.empty()) {
    DIGM_ASSIGN_OR_RETURN(auto nodes, ReadFreshIndex(r.index));
    for (const auto& n : nodes) {
      if (!n.url.empty()) targets.push_back({n.url, n.node_id});
    }
  }
  if (targets.empty()) {
    return Status::Usage("no node to audit").WithHint("add --peer URL or --index FILE");
  }
  return targets;
}

}  // namespace

std::vector<AuditTarget> SampleTargets(std::vector<AuditTarget> all, double fraction,
                                       const RandomSource& random) {
  size_t k = std::max<size_t>(1, static_cast<size_t>(std::ceil(fraction * all.size())));
  if (k >= all.size()) return all;
  uint64_t seed = 0;
  random(std::span(reinterpret_cast<uint8_t*>(&seed), sizeof seed));
  std::vector<size_t> idx(all.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::shuffle(idx.begin(), idx.end(), std::mt19937_64(seed));
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  std::vector<AuditTarget> out;
  for (size_t i : idx) out.push_back(std::move(all[i]));
  return out;
}

Result<PrepareReport> PrepareAudit(const std::string& db_path, const std::string& manifest_path,
                                   const std::string& from, uint32_t count) {
  DIGM_ASSIGN_OR_RETURN(Manifest manifest, ReadManifest(manifest_path, true));
  DIGM_ASSIGN_OR_RETURN(ChunkStore chunks, ChunkStore::Open(from, {.create = false}));
  DIGM_ASSIGN_OR_RETURN(auto db, AuditDb::Open(db_path, true));
  if (Status s = db->Lock(60); !s.ok()) return s.WithHint(kLockHint);
  return db->Prepare(manifest, chunks, count);
}

Result<Json> AuditIndex(const std::string& db_path, const EpochChoice& when, double decay) {
  DIGM_ASSIGN_OR_RETURN(auto db, AuditDb::Open(db_path, false, when.clock));
  int64_t seconds = 0;
  return db->FreshIndex(EpochOf(*db, when, &seconds), decay);
}

Result<AuditEpochOutcome> AuditEpoch(const AuditEpochRequest& r,
                                     const std::function<void(const NodeAudit&)>& done) {
  if (r.retrieve && r.manifests.empty())
    return Status::Usage("--mode retrieve needs --manifest FILE");
  DIGM_ASSIGN_OR_RETURN(auto targets, Targets(r));
  DIGM_ASSIGN_OR_RETURN(auto db, AuditDb::Open(r.db, r.retrieve, r.when.clock, r.random));
  int64_t seconds = 0;
  AuditRunOptions o;
  o.epoch = EpochOf(*db, r.when, &seconds);
  o.retrieve = r.retrieve;
  o.challenges = r.challenges;
  o.timeout_ms = r.timeout_ms;
  o.retries = r.retries;
  o.random = r.random;
  if (Status s = db->Lock(r.lock_wait_s); !s.ok()) return s.WithHint(kLockHint);
  for (const auto& path : r.manifests) {
    DIGM_ASSIGN_OR_RETURN(Manifest m, ReadManifest(path, true));
    o.manifests.push_back(std::move(m));
  }
  std::optional<Wallet> wallet;
  if (!r.wallet.empty()) {
    DIGM_ASSIGN_OR_RETURN(Wallet w, ReadWalletFile(r.wallet));
    wallet = std::move(w);
    o.auditor = &*wallet;
  }
  DIGM_RETURN_IF_ERROR(db->SetSetting("epoch_seconds", std::to_string(seconds)));
  AuditEpochOutcome out;
  auto sampled = SampleTargets(std::move(targets), r.sample, r.random);
  DIGM_RETURN_IF_ERROR(RunAudit(*db, sampled, o, [&](const NodeAudit& a) {
    if (!a.results.empty()) {
      ++out.audited;
      if (!a.passed()) ++out.failed;
      if (a.slash) out.slashes.push_back(*a.slash);
    }
    done(a);
  }));
  if (!r.retrieve) {
    auto low = db->LowStock();
    if (low.ok()) out.low = std::move(*low);
  }
  return out;
}

}  // namespace digm
