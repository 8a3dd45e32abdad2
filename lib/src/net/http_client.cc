#include "digm/http_client.h"

#include <curl/curl.h>

#include <atomic>
#include <mutex>

namespace digm {
namespace {

constexpr const char* kTimedOut = ": timed out after ";

struct Sink {
  std::string* body;
  size_t max;
  bool over = false;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  auto* sink = static_cast<Sink*>(out);
  if (sink->body->size() + size * n > sink->max) {
    sink->over = true;
    return 0;  // ends the transfer with CURLE_WRITE_ERROR
  }
  sink->body->append(data, size * n);
  return size * n;
}

// Ends a transfer once its caller's cancel flag is set.
int Progress(void* cancel, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return cancel && static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;
}

CURL* NewHandle() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return curl_easy_init();
}

// One call on `curl`, a fresh handle or one kept to reuse its connection.
Result<HttpResult> Perform(CURL* curl, const std::string& method, const std::string& url,
                           const std::string& body, const HttpCallOptions& options) {
  if (!curl) return Status::Network("cannot start an HTTP client");
  HttpResult result;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Content-Type: " + options.content_type).c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  for (const auto& h : options.headers) headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  Sink sink{&result.body, options.max_body};
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_body));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (method == "PUT" || method == "POST" || (method == "DELETE" && !body.empty())) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(-1));
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);  // a reused handle forgets a past body
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_NOBODY, method == "HEAD" ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, options.cancel ? 0L : 1L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, Progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(options.cancel));
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Status::Network(method + " " + url + kTimedOut + std::to_string(options.timeout_ms) +
                           " ms");
  }
  if (sink.over || rc == CURLE_FILESIZE_EXCEEDED) {
    return Status::Network(method + " " + url + ": the reply is longer than " +
                           std::to_string(options.max_body) + " bytes");
  }
  if (rc == CURLE_ABORTED_BY_CALLBACK) return Status::Network(method + " " + url + ": cancelled");
  if (rc != CURLE_OK) return Status::Network(method + " " + url + ": " + curl_easy_strerror(rc));
  return result;
}

}  // namespace

HttpSession::HttpSession() : curl_(NewHandle()) {}
HttpSession::~HttpSession() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<HttpResult> HttpSession::Call(const std::string& method, const std::string& url,
                                     const std::string& body, const HttpCallOptions& options) {
  return Perform(static_cast<CURL*>(curl_), method, url, body, options);
}

bool IsTimeout(const Status& status) {
  return status.code() == Code::kNetwork && status.message().find(kTimedOut) != std::string::npos;
}

Result<HttpResult> HttpCall(const std::string& method, const std::string& url,
                            const std::string& body, const HttpCallOptions& options) {
  CURL* curl = NewHandle();
  auto r = Perform(curl, method, url, body, options);
  if (curl) curl_easy_cleanup(curl);
  return r;
}

}  // namespace digm
