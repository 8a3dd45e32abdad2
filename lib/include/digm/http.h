// HTTP messages as plain values, so a node's request handling is a pure
// function testable without sockets: a request in, a response out, whose body
// is either bytes or slices of files (sent with sendfile by the server).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "digm/address.h"
#include "digm/status.h"

namespace digm {

struct HttpRequest {
  std::string method;                          // "GET"
  std::string target;                          // "/content/ab12...?x=1"
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string remote;  // peer address, for logs and limits

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// An open, read-only file shared by the responses that send from it.
class OpenFile {
 public:
  explicit OpenFile(int fd) : fd_(fd) {}
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

struct FileSlice {
  std::string path;
  uint64_t offset = 0, length = 0;
  std::shared_ptr<const OpenFile> file;  // when set, read from it instead of opening path
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;              // used when `files` is empty
  std::vector<FileSlice> files;  // the body, in order, when not empty
  bool head_only = false;        // HEAD: send the headers of the GET
  bool reset = false;            // drop the connection instead of answering
  // When set, the answer comes later: the server calls `defer` once with a
  // function to call, from any thread and exactly once, with the real
  // response (a long poll). Nothing else of this response is used.
  std::function<void(std::function<void(HttpResponse)> reply)> defer;

  uint64_t ContentLength() const;
  void Set(const std::string& name, const std::string& value) { headers.emplace_back(name, value); }
  static HttpResponse Json(int status, const std::string& json_text);
  // {"error": message} with the status.
  static HttpResponse Error(int status, const std::string& message);
};

struct ByteRange {
  uint64_t first = 0, last = 0;  // inclusive
};

enum class RangeKind { kNone, kSatisfiable, kUnsatisfiable };

// One "bytes=" range of RFC 9110 §14.1.2 (first-last, first-, -suffix) over a
// resource of `size` bytes. Several ranges, or anything malformed, is kNone
// (the whole resource is served, as the RFC allows).
RangeKind ParseRange(std::string_view header, uint64_t size, ByteRange* out);

// RFC 9110 §13.1.2: true when an If-None-Match value ("*", or a list of
// entity tags, weak "W/" ones included) matches `etag` (quoted) by weak
// comparison, so the answer is 304.
bool IfNoneMatchHits(std::string_view header, std::string_view etag);

// RFC 9110 §13.1.5: true when an If-Range value is `etag` (quoted) by strong
// comparison, so the Range applies; a weak tag or a date never holds (the
// whole resource is sent).
bool IfRangeHolds(std::string_view header, std::string_view etag);

// The part of `files` (consecutive slices) between bytes first and last.
std::vector<FileSlice> SliceRange(const std::vector<FileSlice>& files, ByteRange range);

// A request target's path, without its query or fragment.
std::string_view PathOf(std::string_view target);

// The path's segments ("/a//b/" -> {"a","b"}); none when a segment is "." or
// "..", or holds a percent escape (no route here needs one).
std::optional<std::vector<std::string>> Segments(std::string_view path);

// The value of `name` in the target's query ("" when absent), undecoded.
std::string QueryParam(std::string_view target, std::string_view name);

// A query value's text: %XX escapes and '+' (a space) decoded; nullopt for a
// malformed escape or a NUL.
std::optional<std::string> PercentDecode(std::string_view value);
// `text` fit for a query value: all but A-Z a-z 0-9 - . _ ~ escaped.
std::string PercentEncode(std::string_view text);

// 405 with the Allow header.
HttpResponse MethodNotAllowed(const char* allow);

}  // namespace digm
