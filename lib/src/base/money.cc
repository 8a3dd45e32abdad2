#include "digm/money.h"

namespace digm {

Result<Asset> ParseAsset(std::string_view name) {
  if (name == "XFG") return Asset{"XFG", 7};
  if (name == "PARA") return Asset{"PARA", 8};
  return Status::Usage("unknown asset '" + std::string(name) + "' (XFG or PARA)");
}

Result<int64_t> ParseAmount(std::string_view text, int decimals) {
  auto bad = [&](const std::string& why) {
    return Status::BadInput("amount '" + std::string(text) + "': " + why);
  };
  if (text.empty()) return bad("empty");
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && frac.empty())) {
    return bad("expected digits like 12 or 0.5");
  }
  for (char c : whole) {
    if (c < '0' || c > '9') return bad("expected digits like 12 or 0.5");
  }
  for (char c : frac) {
    if (c < '0' || c > '9') return bad("expected digits like 12 or 0.5");
  }
  if (frac.size() > static_cast<size_t>(decimals)) {
    return bad("more than " + std::to_string(decimals) + " decimals");
  }
  constexpr __int128 kLimit = __int128{1} << 62;
  __int128 v = 0;
  for (char c : whole) {
    v = v * 10 + (c - '0');
    if (v > kLimit) return bad("too large");
  }
  for (int i = 0; i < decimals; ++i) {
    v = v * 10 + (static_cast<size_t>(i) < frac.size() ? frac[i] - '0' : 0);
    if (v > kLimit) return bad("too large");
  }
  return static_cast<int64_t>(v);
}

std::string FormatAmount(__int128 atomic, int decimals) {
  bool negative = atomic < 0;
  unsigned __int128 v = negative ? -static_cast<unsigned __int128>(atomic) : atomic;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v);
  if (digits.size() <= static_cast<size_t>(decimals)) {
    digits.insert(0, static_cast<size_t>(decimals) + 1 - digits.size(), '0');
  }
  std::string whole = digits.substr(0, digits.size() - decimals);
  std::string frac = digits.substr(digits.size() - decimals);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return (negative ? "-" : "") + whole + (frac.empty() ? "" : "." + frac);
}

unsigned __int128 AsWei(int64_t atomic, int decimals) {
  auto wei = static_cast<unsigned __int128>(atomic);
  for (int i = decimals; i < 18; ++i) wei *= 10;
  return wei;
}

}  // namespace digm
