#include "digm/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace digm {

int64_t UnixNow() { return static_cast<int64_t>(std::time(nullptr)); }

int64_t UnixNowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string Rfc3339(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm;
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Rfc3339Ms(int64_t ms) {
  int64_t s = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  std::string text = Rfc3339(s);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms - s * 1000));
  text.pop_back();  // the "Z"
  return text + frac;
}

std::optional<int64_t> ParseRfc3339Ms(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return std::nullopt;
  int64_t ms = 0;
  if (*end == '.') {
    ++end;
    if (*end < '0' || *end > '9') return std::nullopt;
    for (int place = 100; *end >= '0' && *end <= '9'; ++end, place /= 10)
      ms += (*end - '0') * place;
  }
  if (std::string_view(end) != "Z") return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

std::optional<int64_t> ParseRfc3339(const std::string& text) {
  auto ms = ParseRfc3339Ms(text);
  if (!ms) return std::nullopt;
  return *ms >= 0 ? *ms / 1000 : (*ms - 999) / 1000;
}

}  // namespace digm
