// digm.pin/1 (SPEC §5): a publisher's signed order that a node keep a track,
// for how many replicas and how long. Checking one, and when it expires.
// Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "digm/document.h"
#include "digm/wallet.h"

namespace digm {

// The signed digm.pin/1 `owner` gives for `root`: keep `replicas` copies for
// `days` days from `now`, anchored at the node whose key is `origin`.
Json MakePin(const std::string& root, uint64_t replicas, uint64_t days, const Address& origin,
             const Wallet& owner, int64_t now);

// Unix seconds at which the pin stops authorising anything: "created" plus
// "duration_days" days; nullopt when either is missing or malformed.
std::optional<int64_t> PinExpiry(const Json& pin);

// Checks a digm.pin/1 for `root` at time `now`: the schema, its signature by
// its owner, the replica count (1 to `max_replicas`), a duration of 1 to
// 36,500 days, a creation time not ahead of `now` by more than 5 minutes, not
// expired, an "origin" (if any) that is an address, and the allow list.
// Integrity errors for signatures and the allow list, BadInput otherwise.
Status CheckPin(const Json& pin, const std::string& root, const std::vector<Address>& allowed,
                uint64_t max_replicas, int64_t now);

}  // namespace digm
