#include "digm/pin.h"

#include <algorithm>

#include "digm/clock.h"

namespace digm {
namespace {

constexpr int64_t kMaxDays = 36500;
constexpr int64_t kClockSkew = 300;

}  // namespace

Json MakePin(const std::string& root, uint64_t replicas, uint64_t days, const Address& origin,
             const Wallet& owner, int64_t now) {
  Json pin{{"schema", "digm.pin/1"},
           {"root", root},
           {"desired_replicas", replicas},
           {"duration_days", days},
           {"owner", AddressToString(owner.address)},
           {"origin", AddressToString(origin)},
           {"created", Rfc3339(now)}};
  SignDocument(pin, owner);
  return pin;
}

std::optional<int64_t> PinExpiry(const Json& pin) {
  auto created = ParseRfc3339(StringOr(pin, "created"));
  auto days = GetUint(pin, "duration_days", "duration_days");
  if (!created || !days.ok() || *days > static_cast<uint64_t>(kMaxDays)) return std::nullopt;
  return *created + static_cast<int64_t>(*days) * 86400;
}

Status CheckPin(const Json& pin, const std::string& root, const std::vector<Address>& allowed,
                uint64_t max_replicas, int64_t now) {
  DIGM_RETURN_IF_ERROR(CheckSchema(pin, "pin", 1));
  DIGM_ASSIGN_OR_RETURN(std::string pin_root, GetString(pin, "root", "pin.root"));
  if (pin_root != root) return Status::BadInput("the pin is for " + pin_root + ", not " + root);
  DIGM_ASSIGN_OR_RETURN(uint64_t replicas,
                        GetUint(pin, "desired_replicas", "pin.desired_replicas"));
  if (replicas < 1 || replicas > max_replicas) {
    return Status::BadInput("pin.desired_replicas must be from 1 to " +
                            std::to_string(max_replicas));
  }
  DIGM_ASSIGN_OR_RETURN(uint64_t days, GetUint(pin, "duration_days", "pin.duration_days"));
  if (days < 1 || days > static_cast<uint64_t>(kMaxDays)) {
    return Status::BadInput("pin.duration_days must be from 1 to " + std::to_string(kMaxDays));
  }
  DIGM_ASSIGN_OR_RETURN(std::string created_text, GetString(pin, "created", "pin.created"));
  auto created = ParseRfc3339(created_text);
  if (!created) return Status::BadInput("pin.created is not an RFC 3339 UTC time");
  if (*created > now + kClockSkew) {
    return Status::BadInput("the pin is dated " + created_text + ", in the future");
  }
  if (*created + static_cast<int64_t>(days) * 86400 <= now) {
    return Status::BadInput("the pin expired on " +
                            Rfc3339(*created + static_cast<int64_t>(days) * 86400));
  }
  if (auto origin = pin.find("origin"); origin != pin.end()) {
    if (!origin->is_string() || !ParseAddress(origin->get<std::string>()).ok()) {
      return Status::BadInput("pin.origin must be a node's address");
    }
  }
  DIGM_ASSIGN_OR_RETURN(std::string owner, GetString(pin, "owner", "pin.owner"));
  DIGM_ASSIGN_OR_RETURN(Address signer, VerifyDocument(pin));
  if (AddressToString(signer) != owner) {
    return Status::Integrity("the pin is signed by " + AddressToString(signer) +
                             ", not its owner " + owner);
  }
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), signer) == allowed.end()) {
    return Status::Integrity("publisher " + owner + " is not allowed on this node");
  }
  return Status::Ok();
}

}  // namespace digm
