#include "digm/http.h"

#include <unistd.h>

#include <cctype>
#include <charconv>

namespace digm {

OpenFile::~OpenFile() {
  if (fd_ >= 0) close(fd_);
}

uint64_t HttpResponse::ContentLength() const {
  if (files.empty()) return body.size();
  uint64_t n = 0;
  for (const auto& f : files) n += f.length;
  return n;
}

HttpResponse HttpResponse::Json(int status, const std::string& json_text) {
  HttpResponse r;
  r.status = status;
  r.body = json_text + "\n";
  r.Set("Content-Type", "application/json");
  return r;
}

HttpResponse HttpResponse::Error(int status, const std::string& message) {
  std::string escaped;
  for (char c : message) {
    if (c == '"' || c == '\\') escaped += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) escaped += c;
  }
  return Json(status, "{\"error\":\"" + escaped + "\"}");
}

namespace {

bool ParseNumber(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

RangeKind ParseRange(std::string_view header, uint64_t size, ByteRange* out) {
  header = Trim(header);
  if (header.substr(0, 6) != "bytes=") return RangeKind::kNone;
  std::string_view spec = Trim(header.substr(6));
  if (spec.find(',') != std::string_view::npos) return RangeKind::kNone;
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return RangeKind::kNone;
  std::string_view a = Trim(spec.substr(0, dash)), b = Trim(spec.substr(dash + 1));
  uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix: the last b bytes
    if (!ParseNumber(b, &last)) return RangeKind::kNone;
    if (last == 0 || size == 0) return RangeKind::kUnsatisfiable;
    *out = {size - std::min(last, size), size - 1};
    return RangeKind::kSatisfiable;
  }
  if (!ParseNumber(a, &first)) return RangeKind::kNone;
  if (b.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else if (!ParseNumber(b, &last) || last < first) {
    return RangeKind::kNone;
  }
  if (first >= size) return RangeKind::kUnsatisfiable;
  *out = {first, std::min(last, size - 1)};
  return RangeKind::kSatisfiable;
}

bool IfNoneMatchHits(std::string_view header, std::string_view etag) {
  header = Trim(header);
  if (header == "*") return true;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view tag = Trim(header.substr(0, comma));
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

bool IfRangeHolds(std::string_view header, std::string_view etag) { return Trim(header) == etag; }

std::vector<FileSlice> SliceRange(const std::vector<FileSlice>& files, ByteRange range) {
  std::vector<FileSlice> out;
  uint64_t at = 0;
  for (const auto& f : files) {
    uint64_t begin = at, end = at + f.length;  // [begin, end)
    at = end;
    if (end <= range.first || begin > range.last) continue;
    uint64_t from = std::max(range.first, begin), to = std::min(range.last + 1, end);
    out.push_back({f.path, f.offset + (from - begin), to - from, f.file});
  }
  return out;
}

std::string_view PathOf(std::string_view target) {
  size_t q = target.find_first_of("?#");
  return q == std::string_view::npos ? target : target.substr(0, q);
}

std::optional<std::vector<std::string>> Segments(std::string_view path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::vector<std::string> out;
  size_t at = 1;
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string_view::npos) slash = path.size();
    std::string seg(path.substr(at, slash - at));
    if (seg == "." || seg == ".." || seg.find('%') != std::string::npos) return std::nullopt;
    if (!seg.empty()) out.push_back(std::move(seg));
    at = slash + 1;
  }
  return out;
}

std::string QueryParam(std::string_view target, std::string_view name) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = target.substr(q + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    std::string_view pair = query.substr(0, query.find('&'));
    if (pair.substr(0, name.size()) == name && pair.size() > name.size() &&
        pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    if (pair.size() == query.size()) break;
    query.remove_prefix(pair.size() + 1);
  }
  return "";
}

std::optional<std::string> PercentDecode(std::string_view value) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      int hi = i + 2 < value.size() ? digit(value[i + 1]) : -1;
      int lo = hi >= 0 ? digit(value[i + 2]) : -1;
      if (lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

HttpResponse MethodNotAllowed(const char* allow) {
  HttpResponse r = HttpResponse::Error(405, "method not allowed");
  r.Set("Allow", allow);
  return r;
}

}  // namespace digm
