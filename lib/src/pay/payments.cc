#include "digm/payments.h"

#include <cmath>

#include "digm/clock.h"
#include "digm/crypto.h"
#include "digm/fresh_index.h"

namespace digm {
namespace {

std::string Ref(const std::string& kind, const std::string& what) { return kind + ":" + what; }

// SHA-256 of a document's canonical form (signature left out), hex.
std::string CanonicalHash(const Json& doc) {
  std::string canonical = CanonicalForm(doc);
  return HexEncode(
      Sha256(std::span(reinterpret_cast<const uint8_t*>(canonical.data()), canonical.size())));
}

}  // namespace

std::string ReceiptHash(const Json& receipt) { return CanonicalHash(receipt); }

std::string ReceiptRef(const Json& receipt) { return Ref("receipt", ReceiptHash(receipt)); }

std::string PurchaseRef(const std::string& root, const Address& buyer) {
  return Ref("purchase", root + ":" + AddressToString(buyer));
}

// What one transfer may move at most: far above any real payment, far below
// where sums of them could wrap around.
constexpr int64_t kMaxPayment = int64_t{1} << 52;

Result<std::vector<TransferSpec>> ReceiptPayments(const Json& receipt, const Asset& asset,
                                                  int64_t price_per_mb) {
  DIGM_RETURN_IF_ERROR(CheckSchema(receipt, "receipt", 1));
  DIGM_ASSIGN_OR_RETURN(Address signer, VerifyDocument(receipt));
  DIGM_ASSIGN_OR_RETURN(std::string listener, GetString(receipt, "listener", "listener"));
  if (listener != AddressToString(signer)) {
    return Status::Integrity("signed by " + AddressToString(signer) + ", not by its listener " +
                             listener);
  }
  auto deliveries = receipt.find("deliveries");
  if (deliveries == receipt.end() || !deliveries->is_array()) {
    return Status::BadInput("expected an array \"deliveries\"");
  }
  std::vector<TransferSpec> specs;
  for (const auto& d : *deliveries) {
    if (!d.is_object()) return Status::BadInput("a delivery is not an object");
    // A node whose identity the listener could not prove is never paid, and
    // one paid through a channel while it delivered (SPEC §12) was paid.
    if (auto id = d.find("node_id"); id != d.end() && id->is_null()) continue;
    if (d.contains("channel")) continue;
    DIGM_ASSIGN_OR_RETURN(std::string node, GetString(d, "node_id", "delivery node_id"));
    DIGM_ASSIGN_OR_RETURN(uint64_t bytes, GetUint(d, "bytes", "delivery bytes"));
    if (!ParseAddress(node).ok()) return Status::BadInput("delivery node_id '" + node + "'");
    __int128 owed = static_cast<__int128>(bytes) * price_per_mb;
    if (owed / kBytesPerMb > kMaxPayment) {
      return Status::BadInput("delivery to " + node + ": " + std::to_string(bytes) +
                              " bytes at this price overflow any amount");
    }
    TransferSpec s;
    s.asset = asset.name;
    s.from = listener;
    s.to = node;
    s.amount = static_cast<int64_t>(owed / kBytesPerMb);
    s.memo = StringOr(d, "url");
    s.rounding = FormatAmount(owed % kBytesPerMb, asset.decimals + 6);
    specs.push_back(std::move(s));
  }
  return specs;
}

Result<std::vector<Transfer>> SettleReceipt(Ledger::Txn& txn, const Json& receipt,
                                            const Asset& asset, int64_t price_per_mb) {
  DIGM_ASSIGN_OR_RETURN(auto specs, ReceiptPayments(receipt, asset, price_per_mb));
  std::vector<Transfer> posted;
  DIGM_RETURN_IF_ERROR(txn.Post("settle", ReceiptRef(receipt), specs, &posted).status());
  return posted;
}

Result<bool> RecordPurchase(Ledger::Txn& txn, const std::string& root, const Address& buyer,
                            const Address& artist, const Asset& asset, int64_t price,
                            std::vector<Transfer>* posted) {
  std::string b = AddressToString(buyer);
  std::string ref = PurchaseRef(root, buyer);
  DIGM_ASSIGN_OR_RETURN(
      bool fresh, txn.Post("purchase", ref,
                           {{asset.name, b, AddressToString(artist), price, root, ""}}, posted));
  if (fresh) DIGM_RETURN_IF_ERROR(txn.RecordPurchase(root, b, ref));
  return fresh;
}

Result<int64_t> ReceiptSeconds(const Json& receipt) {
  DIGM_ASSIGN_OR_RETURN(std::string started, GetString(receipt, "started", "started"));
  DIGM_ASSIGN_OR_RETURN(std::string finished, GetString(receipt, "finished", "finished"));
  auto a = ParseRfc3339(started);
  auto b = ParseRfc3339(finished);
  if (!a || !b || *b < *a)
    return Status::BadInput("started and finished are not RFC 3339 times in order");
  return *b - *a;
}

Result<RewardClaim> ReceiptReward(const Json& receipt, const Manifest& track) {
  std::string root = HexEncode(track.ComputeRoot());
  DIGM_ASSIGN_OR_RETURN(std::string of, GetString(receipt, "root", "root"));
  if (of != root) return Status::BadInput("the receipt is for " + of + ", not for " + root);
  if (!track.media.duration || *track.media.duration <= 0) {
    return Status::BadInput("the track's duration is unknown: a reward cannot be capped");
  }
  DIGM_ASSIGN_OR_RETURN(int64_t streamed, ReceiptSeconds(receipt));
  DIGM_ASSIGN_OR_RETURN(std::string listener, GetString(receipt, "listener", "listener"));
  uint64_t total = 0, delivered = 0;
  for (const auto& c : track.chunks) total += c.size;
  if (auto d = receipt.find("deliveries"); d != receipt.end() && d->is_array()) {
    for (const auto& item : *d) {
      if (!ParseAddress(StringOr(item, "node_id")).ok()) continue;  // unidentified: not counted
      auto bytes = GetUint(item, "bytes", "bytes");
      if (bytes.ok()) delivered += std::min(*bytes, total);
    }
  }
  double duration = *track.media.duration;
  double share = total ? std::min(1.0, static_cast<double>(delivered) / total) : 0;
  RewardClaim claim;
  claim.seconds = std::min<int64_t>(
      {streamed, static_cast<int64_t>(duration), static_cast<int64_t>(duration * share)});
  claim.seconds = std::max<int64_t>(claim.seconds, 0);
  DIGM_ASSIGN_OR_RETURN(std::string finished, GetString(receipt, "finished", "finished"));
  claim.ref = "reward:" + listener + ":" + root + ":" + finished.substr(0, 10);
  return claim;
}

Result<bool> PayReward(Ledger::Txn& txn, const std::string& ref, int64_t seconds,
                       const std::string& listener, const std::string& artist,
                       std::vector<Transfer>* posted) {
  int64_t total = seconds * kRewardPerSecond;
  int64_t to_listener = total * 6 / 10;
  std::string memo = std::to_string(seconds) + " s";
  return txn.Post("reward", Ref("reward", ref),
                  {{"PARA", kRewardPool, listener, to_listener, memo, ""},
                   {"PARA", kRewardPool, artist, total - to_listener, memo, ""}},
                  posted);
}

Result<bool> ApplySlash(Ledger::Txn& txn, const Json& slash, const Asset& asset, int percent,
                        std::vector<Transfer>* posted) {
  DIGM_RETURN_IF_ERROR(CheckSchema(slash, "slash", 1));
  // A URL struck out with no key proven there has no stake to burn.
  if (auto id = slash.find("node_id"); id != slash.end() && id->is_null()) return false;
  DIGM_ASSIGN_OR_RETURN(std::string node, GetString(slash, "node_id", "node_id"));
  DIGM_ASSIGN_OR_RETURN(uint64_t epoch, GetUint(slash, "epoch", "epoch"));
  if (!ParseAddress(node).ok()) return Status::BadInput("node_id '" + node + "'");
  DIGM_ASSIGN_OR_RETURN(int64_t stake, txn.Balance(StakeAccount(node), asset.name));
  int64_t burn = static_cast<int64_t>(static_cast<__int128>(stake) * percent / 100);
  return txn.Post(
      "slash", Ref("slash", node + ":" + std::to_string(epoch)),
      {{asset.name, StakeAccount(node), kBurnAccount, burn, "epoch " + std::to_string(epoch), ""}},
      posted);
}

Result<bool> PayNodeRewards(Ledger::Txn& txn, const Json& index, const Asset& asset, int64_t pool,
                            std::vector<Transfer>* posted) {
  DIGM_ASSIGN_OR_RETURN(auto nodes, FreshIndexNodes(index));
  std::vector<std::pair<std::string, int64_t>> weights;
  __int128 sum = 0;
  for (const auto& n : nodes) {
    if (!n.healthy || !ParseAddress(n.node_id).ok()) continue;
    const std::string& id = n.node_id;
    // Scores are reals in [0, 1]; money needs integers: millionths.
    auto w = static_cast<int64_t>(std::llround(n.score * 1e6));
    if (w <= 0) continue;
    weights.emplace_back(id, w);
    sum += w;
  }
  if (weights.empty()) return Status::No("the index has no healthy node to pay");
  std::vector<TransferSpec> specs;
  for (const auto& [id, w] : weights) {
    specs.push_back({asset.name, kRewardPool, id,
                     static_cast<int64_t>(pool * static_cast<__int128>(w) / sum),
                     "score " + FormatAmount(w, 6), ""});
  }
  return txn.Post("node-rewards", Ref("node-rewards", CanonicalHash(index)), specs, posted);
}

}  // namespace digm
