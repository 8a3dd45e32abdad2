// The auditor's side of SPEC §7: learn who a node is and what it claims to
// hold, challenge it (or download and check a chunk in retrieve mode), judge
// the signed answer, and record one epoch per node in an AuditDb. RunAudit
// audits several nodes at once and reports them in the order given.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "digm/audit_db.h"

namespace digm {

struct AuditTarget {
  std::string url;
  std::string node_id;  // when known beforehand (fresh index); else learned
};

struct AuditRunOptions {
  int64_t epoch = 0;
  bool retrieve = false;              // download and check chunks instead of challenges
  std::vector<Manifest> manifests;    // retrieve mode: the tracks that may be checked
  size_t challenges = 1;              // per node and epoch
  long timeout_ms = 10000;            // per request
  int retries = 3;                    // re-asks after a timeout, each with a new challenge
  size_t parallel = 16;               // nodes audited at once
  const Wallet* auditor = nullptr;    // signs slash records when given
  RandomSource random = RandomBytes;  // the order challenges are sent in
};

struct NodeAudit {
  AuditTarget target;
  std::vector<AuditResult> results;  // empty: the node was not audited (see `skipped`)
  std::string skipped;               // why not, e.g. no prepared track
  bool repeated = false;             // the epoch was audited before; these are its results
  std::optional<Json> slash;         // this epoch struck the node out
  bool passed() const;
};

// Who is at `url`: the key that proves itself there (ProveIdentity), and the
// roots its signed digm.peer/1 (from POST /discover) claims. Network errors
// as HttpCall's; Integrity when no key proves itself at the URL.
struct NodeClaim {
  std::string node_id;
  std::vector<std::string> roots;
  std::string price;  // what it charges for content ("0.001 XFG per MB"); empty: free
};
Result<NodeClaim> IdentifyNode(const std::string& url, long timeout_ms);

// The digest a node at `node` answers a challenge with (SPEC §7):
// SHA-256(SHA-256(nonce ‖ bytes) ‖ the node's 20-byte address). The inner
// hash is what prepare stored; binding the answer to the answering key means
// a node that holds nothing cannot pass by relaying a holder's answer.
Hash256 ExpectedAnswer(const Challenge& challenge, const Address& node);

// Judges a node's answer to `challenge`: "" when it is a digm.response/1
// signed by `node_id` carrying the expected digest, else the reason
// ("missing", "wrong-digest", "wrong-signer", "bad-signature", "bad-response",
// "http-NNN").
std::string JudgeResponse(const Challenge& challenge, const std::string& node_id, long http_status,
                          const std::string& body, Json* response);

// Audits every target for options.epoch and records each node's epoch in
// `db`. Calls `done` once per target, in the order given, as soon as that
// target and all before it are finished.
Status RunAudit(AuditDb& db, const std::vector<AuditTarget>& targets,
                const AuditRunOptions& options, const std::function<void(const NodeAudit&)>& done);

}  // namespace digm
