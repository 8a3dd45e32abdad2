// What each digm-audit command does (SPEC §7), one call per command: the
// tool parses flags into these requests and prints what comes back.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "digm/auditor.h"
#include "digm/clock.h"
#include "digm/crypto.h"

namespace digm {

// prepare: `count` secret challenges for every chunk of the sealed manifest
// at `manifest`, read from the chunks in `from`. What it reads is checked
// before the database is made, so a failed prepare leaves none behind.
Result<PrepareReport> PrepareAudit(const std::string& db, const std::string& manifest,
                                   const std::string& from, uint32_t count);

// The epoch a command works in: `epoch` when given, else now / the epoch
// length (`epoch_seconds`, or as the database last ran, or 3600).
struct EpochChoice {
  std::optional<int64_t> epoch;
  int64_t epoch_seconds = 0;  // 0: as last run
  Clock clock = UnixNow;
};

// index: the digm.fresh-index/1 of the database as of the epoch.
Result<Json> AuditIndex(const std::string& db, const EpochChoice& when, double decay);

struct AuditEpochRequest {
  std::string db;
  std::vector<std::string> peers;  // nodes to audit
  std::string index;               // and every node of this fresh index
  bool discover = false;           // and the nodes the peers know
  double sample = 1.0;             // a random share of them (at least one)
  EpochChoice when;
  bool retrieve = false;               // download and check instead of challenges
  std::vector<std::string> manifests;  // retrieve mode: the tracks that may be checked
  size_t challenges = 1;
  long timeout_ms = 10000;
  int retries = 3;
  double lock_wait_s = 60;
  std::string wallet;                 // signs slash records when given
  RandomSource random = RandomBytes;  // draws the sample, the challenges and their order
};

struct AuditEpochOutcome {
  size_t audited = 0, failed = 0;
  std::vector<Json> slashes;        // digm.slash/1 records this epoch issued
  std::vector<ChallengeStock> low;  // challenge mode: tracks running low
};

// run: audits the nodes for one epoch; `done` sees each node's audit as it ends.
Result<AuditEpochOutcome> AuditEpoch(const AuditEpochRequest& r,
                                     const std::function<void(const NodeAudit&)>& done);

// A random `fraction` of the targets (at least one), in their given order.
std::vector<AuditTarget> SampleTargets(std::vector<AuditTarget> all, double fraction,
                                       const RandomSource& random);

}  // namespace digm
