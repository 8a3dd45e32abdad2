// Wall-clock time as the documents carry it: unix seconds and RFC 3339 UTC
// ("2026-11-22T10:00:00Z", SPEC §1). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace digm {

int64_t UnixNow();
int64_t UnixNowMs();  // unix milliseconds

// Where a component's time comes from (unix seconds): UnixNow unless a test
// fixes it.
using Clock = std::function<int64_t()>;
std::string Rfc3339(int64_t unix_seconds);
// "2026-11-22T10:00:00.250Z": for documents that must tell apart two made
// within one second.
std::string Rfc3339Ms(int64_t unix_ms);
// Accepts fractions of a second; anything but UTC ("Z") is refused.
std::optional<int64_t> ParseRfc3339(const std::string& text);
// As ParseRfc3339, in unix milliseconds (digits past the third are dropped).
std::optional<int64_t> ParseRfc3339Ms(const std::string& text);

}  // namespace digm
