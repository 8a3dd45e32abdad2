#include "digm/auditor.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "digm/channel.h"
#include "digm/http_client.h"
#include "digm/merkle.h"
#include "digm/node_client.h"
#include "digm/peer_record.h"
#include "digm/proof.h"

namespace digm {
namespace {

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// What the node said, kept as evidence: its document when it sent one, else
// the start of its body.
Json AnswerEvidence(long status, const std::string& body, const Json* response) {
  Json e{{"status", status}};
  if (response && !response->is_null()) {
    e["response"] = *response;
  } else {
    e["body"] = body.substr(0, 512);
  }
  return e;
}

// The failure of a node that could not be asked at all.
AuditResult Unreachable(const AuditTarget& t, const AuditRunOptions& o, const Status& s,
                        int attempts) {
  AuditResult r;
  r.epoch = o.epoch;
  r.node_id = t.node_id;
  r.url = t.url;
  r.mode = o.retrieve ? "retrieve" : "challenge";
  r.reason = IsTimeout(s) ? "timeout" : "unreachable";
  r.evidence = Json{{"error", s.message()}, {"attempts", attempts}};
  return r;
}

class Auditor {
 public:
  Auditor(AuditDb& db, std::mutex& db_mu, const AuditRunOptions& o)
      : db_(db), db_mu_(db_mu), o_(o) {
    for (const auto& m : o_.manifests) {
      manifests_.emplace(HexEncode(m.root ? *m.root : m.ComputeRoot()), &m);
    }
    uint64_t seed = 0;
    o_.random(std::span(reinterpret_cast<uint8_t*>(&seed), sizeof seed));
    rng_.seed(seed);
  }

  NodeAudit Audit(AuditTarget target) {
    NodeAudit out;
    if (target.node_id.empty()) {
      std::lock_guard<std::mutex> lock(db_mu_);
      target.node_id = db_.NodeAt(target.url);
    }
    out.target = target;
    if (Stored(out)) return out;

    // Who is there, and what does it claim? A timeout is asked again.
    Result<NodeClaim> claim = Status::Network("not asked");
    int attempts = 0;
    do {
      ++attempts;
      claim = IdentifyNode(target.url, o_.timeout_ms);
    } while (!claim.ok() && IsTimeout(claim.status()) && attempts <= o_.retries);
    if (!claim.ok()) {
      if (claim.status().code() == Code::kNetwork) {
        // Silence counts against the key proven at this URL before, if any.
        if (out.target.node_id.empty()) out.target.node_id = UrlKey(target.url);
        out.results.push_back(Unreachable(out.target, o_, claim.status(), attempts));
      } else {
        // No key proved itself here: what answers is nobody's but the URL's.
        out.target.node_id = UrlKey(target.url);
        if (Stored(out)) return out;
        AuditResult r = Unreachable(out.target, o_, claim.status(), attempts);
        r.reason = "bad-identity";
        out.results.push_back(std::move(r));
      }
      return Record(std::move(out));
    }
    out.target.node_id = claim->node_id;
    if (out.target.node_id != target.node_id && Stored(out)) return out;

    std::vector<std::string> roots;
    for (const auto& root : claim->roots) {
      if (o_.retrieve ? manifests_.count(root) > 0 : prepared_.count(root) > 0)
        roots.push_back(root);
    }
    if (roots.empty()) {
      out.skipped = o_.retrieve ? "holds none of the given manifests' tracks"
                                : "holds no track prepared for audit";
      return out;
    }
    if (o_.retrieve && !claim->price.empty()) {
      // Its content answers 402 to whoever does not pay (SPEC §12): an
      // honest node, which a download that does not pay cannot check.
      out.skipped = "charges " + claim->price +
                    " for its content (its signed peer record): retrieve mode does not pay; "
                    "audit it with challenges (digm-audit prepare, then run without --mode "
                    "retrieve)";
      return out;
    }
    if (o_.retrieve) {
      for (size_t i = 0; i < o_.challenges; ++i) out.results.push_back(Retrieve(out.target, roots));
    } else {
      auto taken = Take(roots, o_.challenges, out.target.node_id);
      if (!taken.ok()) {
        out.skipped = taken.status().message();
        return out;
      }
      if (taken->empty()) {
        out.skipped = "no challenge left for the tracks it holds (run digm-audit prepare again)";
        return out;
      }
      for (auto& c : *taken) out.results.push_back(Challenge1(out.target, roots, std::move(c)));
    }
    return Record(std::move(out));
  }

  void SetPrepared(std::vector<std::string> roots) { prepared_ = {roots.begin(), roots.end()}; }

 private:
  // Fills `out` from the database when this node's epoch is already recorded.
  bool Stored(NodeAudit& out) {
    if (out.target.node_id.empty()) return false;
    std::lock_guard<std::mutex> lock(db_mu_);
    auto results = db_.EpochResults(out.target.node_id, o_.epoch);
    if (!results.ok() || results->empty()) return false;
    out.results = std::move(*results);
    out.repeated = true;
    if (auto slash = db_.SlashRecord(out.target.node_id, o_.epoch); slash.ok()) out.slash = *slash;
    return true;
  }

  NodeAudit Record(NodeAudit out) {
    if (out.target.node_id.empty()) return out;  // nobody to hold to account
    std::lock_guard<std::mutex> lock(db_mu_);
    auto slash =
        db_.RecordEpoch(out.target.node_id, out.target.url, o_.epoch, out.results, o_.auditor);
    if (slash.ok()) {
      out.slash = *slash;
    } else {
      out.skipped = "not recorded: " + slash.status().message();
    }
    return out;
  }

  Result<std::vector<Challenge>> Take(const std::vector<std::string>& roots, size_t n,
                                      const std::string& node_id) {
    std::lock_guard<std::mutex> lock(db_mu_);
    return db_.Take(roots, n, o_.epoch, node_id);
  }

  AuditResult Base(const AuditTarget& t) const {
    AuditResult r;
    r.epoch = o_.epoch;
    r.node_id = t.node_id;
    r.url = t.url;
    return r;
  }

  // One challenge; a timeout is re-asked with a fresh challenge, never the same one.
  AuditResult Challenge1(const AuditTarget& t, const std::vector<std::string>& roots, Challenge c) {
    AuditResult r = Base(t);
    for (int attempt = 1;; ++attempt) {
      r.root = c.root;
      r.chunk = c.chunk;
      auto start = std::chrono::steady_clock::now();
      auto answer = HttpCall("POST", t.url + "/audit", DumpDocument(c.ToJson()),
                             {.timeout_ms = o_.timeout_ms, .connect_timeout_ms = o_.timeout_ms});
      r.latency_ms = MillisSince(start);
      r.evidence = Json{
          {"challenge", c.ToJson()}, {"expected", HexEncode(c.expected)}, {"attempts", attempt}};
      if (answer.ok()) {
        Json response;
        r.reason = JudgeResponse(c, t.node_id, answer->status, answer->body, &response);
        r.ok = r.reason.empty();
        r.evidence.update(AnswerEvidence(answer->status, answer->body, &response));
        return r;
      }
      r.latency_ms = 0;
      r.reason = IsTimeout(answer.status()) ? "timeout" : "unreachable";
      r.evidence["error"] = answer.status().message();
      if (r.reason != "timeout" || attempt > o_.retries) return r;
      auto next = Take(roots, 1, t.node_id);
      if (!next.ok() || next->empty()) return r;
      c = std::move(next->front());
    }
  }

  // Retrieve mode: a random chunk of a random claimed track, checked against
  // its hash and its inclusion proof in the root.
  AuditResult Retrieve(const AuditTarget& t, const std::vector<std::string>& roots) {
    AuditResult r = Base(t);
    r.mode = "retrieve";
    const Manifest* m = nullptr;
    {
      std::lock_guard<std::mutex> lock(rng_mu_);
      r.root = roots[std::uniform_int_distribution<size_t>(0, roots.size() - 1)(rng_)];
      m = manifests_.at(r.root);
      if (m->chunks.empty()) {
        r.ok = true;
        return r;
      }
      r.chunk = std::uniform_int_distribution<uint64_t>(0, m->chunks.size() - 1)(rng_);
    }
    const Hash256& want = m->chunks[r.chunk].hash;
    r.evidence = Json{{"hash", HexEncode(want)}};
    for (int attempt = 1;; ++attempt) {
      auto start = std::chrono::steady_clock::now();
      auto got = HttpCall("GET", t.url + "/content/" + HexEncode(want), "",
                          {.timeout_ms = o_.timeout_ms,
                           .connect_timeout_ms = o_.timeout_ms,
                           .max_body = m->chunks[r.chunk].size});
      r.latency_ms = MillisSince(start);
      r.evidence["attempts"] = attempt;
      if (got.ok()) {
        r.evidence["status"] = got->status;
        if (got->status == 404) {
          r.reason = "missing";
        } else if (got->status != 200) {
          r.reason = "http-" + std::to_string(got->status);
        } else {
          Hash256 h = Sha256(
              std::span(reinterpret_cast<const uint8_t*>(got->body.data()), got->body.size()));
          r.evidence["got"] = HexEncode(h);
          auto proof = ProveInclusion(*m, r.chunk);
          if (h != want) {
            r.reason = "wrong-hash";
          } else if (!proof.ok() ||
                     !VerifyInclusion(h, r.chunk, m->chunks.size(), proof->path, *m->root)) {
            r.reason = "not-in-root";
          }
        }
        r.ok = r.reason.empty();
        return r;
      }
      r.latency_ms = 0;
      r.reason = IsTimeout(got.status()) ? "timeout" : "unreachable";
      r.evidence["error"] = got.status().message();
      if (r.reason != "timeout" || attempt > o_.retries) return r;
    }
  }

  AuditDb& db_;
  std::mutex& db_mu_;
  const AuditRunOptions& o_;
  std::map<std::string, const Manifest*> manifests_;
  std::set<std::string> prepared_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace

bool NodeAudit::passed() const {
  if (results.empty()) return false;
  for (const auto& r : results) {
    if (!r.ok) return false;
  }
  return true;
}

Result<NodeClaim> IdentifyNode(const std::string& url, long timeout_ms) {
  // The key that answers at this URL, for this URL: a proxy in front of
  // another node cannot pass that node's key off as its own.
  DIGM_ASSIGN_OR_RETURN(Address proven, ProveIdentity(url, timeout_ms));
  DIGM_ASSIGN_OR_RETURN(HttpResult r, HttpCall("POST", url + "/discover", R"({"peer":{}})",
                                               {.timeout_ms = timeout_ms,
                                                .connect_timeout_ms = timeout_ms,
                                                .max_body = kMaxGossipReply}));
  if (r.status != 200) {
    return Status::Integrity(url + "/discover answered " + std::to_string(r.status));
  }
  auto reply = ParseJson(r.body);
  if (!reply.ok() || !reply->is_object() || !reply->contains("peer") ||
      !(*reply)["peer"].is_object()) {
    return Status::Integrity(url + "/discover: no peer record");
  }
  auto peer = ReadPeerRecord((*reply)["peer"]);
  if (!peer.ok()) return peer.status().Context(url + "/discover: the peer record");
  if (peer->signer != proven) {
    return Status::Integrity(url + "/discover: the peer record is not the key proven at " + url);
  }
  NodeClaim claim;
  claim.roots = std::move(peer->roots);
  claim.node_id = AddressToString(proven);
  if (auto it = peer->record.find("price"); it != peer->record.end()) {
    if (auto price = ReadPrice(*it); price.ok() && price->per_mb > 0) claim.price = price->Text();
  }
  return claim;
}

Hash256 ExpectedAnswer(const Challenge& challenge, const Address& node) {
  Sha256Hasher h;
  return h.Digest(challenge.expected, node);
}

std::string JudgeResponse(const Challenge& challenge, const std::string& node_id, long http_status,
                          const std::string& body, Json* response) {
  if (http_status == 404) return "missing";
  if (http_status != 200) return "http-" + std::to_string(http_status);
  auto doc = ParseJson(body);
  if (!doc.ok() || !CheckSchema(*doc, "response", 1).ok() || !(*doc)["digest"].is_string()) {
    return "bad-response";
  }
  *response = *doc;
  auto signer = VerifyDocument(*doc);
  if (!signer.ok()) return "bad-signature";
  if (AddressToString(*signer) != node_id) return "wrong-signer";
  if ((*doc)["digest"].get<std::string>() != HexEncode(ExpectedAnswer(challenge, *signer))) {
    return "wrong-digest";
  }
  return "";
}

Status RunAudit(AuditDb& db, const std::vector<AuditTarget>& targets,
                const AuditRunOptions& options, const std::function<void(const NodeAudit&)>& done) {
  std::mutex db_mu;
  Auditor auditor(db, db_mu, options);
  if (!options.retrieve) {
    DIGM_ASSIGN_OR_RETURN(auto roots, db.PreparedRoots());
    auditor.SetPrepared(std::move(roots));
  }
  std::vector<std::optional<NodeAudit>> finished(targets.size());
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < targets.size();) {
      NodeAudit a = auditor.Audit(targets[i]);
      std::lock_guard<std::mutex> lock(mu);
      finished[i] = std::move(a);
      cv.notify_all();
    }
  };
  std::vector<std::thread> workers;
  size_t n = std::max<size_t>(1, std::min(options.parallel, targets.size()));
  for (size_t i = 0; i < n; ++i) workers.emplace_back(work);
  for (size_t i = 0; i < targets.size(); ++i) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return finished[i].has_value(); });
    NodeAudit a = std::move(*finished[i]);
    lock.unlock();
    done(a);
  }
  for (auto& w : workers) w.join();
  return Status::Ok();
}

}  // namespace digm
