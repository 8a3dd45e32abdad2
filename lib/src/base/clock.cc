#include "digm/clock.h"

#include <ctime>
#include <string_view>

namespace digm {

int64_t UnixNow() { return static_cast<int64_t>(std::time(nullptr)); }

std::string Rfc3339(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm;
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<int64_t> ParseRfc3339(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return std::nullopt;
  while (*end == '.' || (*end >= '0' && *end <= '9')) ++end;  // fractions
  if (std::string_view(end) != "Z") return std::nullopt;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace digm
