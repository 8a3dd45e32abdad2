#include "digm/http_client.h"

#include <curl/curl.h>

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

}  // namespace

bool IsTimeout(const Status& status) {
  return status.code() == Code::kNetwork && status.message().find(kTimedOut) != std::string::npos;
}

Result<HttpResult> HttpCall(const std::string& method, const std::string& url,
                            const std::string& body, const HttpCallOptions& options) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
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
  if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (method == "PUT" || method == "POST" || (method == "DELETE" && !body.empty())) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Status::Network(method + " " + url + kTimedOut + std::to_string(options.timeout_ms) +
                           " ms");
  }
  if (sink.over || rc == CURLE_FILESIZE_EXCEEDED) {
    return Status::Network(method + " " + url + ": the reply is longer than " +
                           std::to_string(options.max_body) + " bytes");
  }
  if (rc != CURLE_OK) return Status::Network(method + " " + url + ": " + curl_easy_strerror(rc));
  return result;
}

}  // namespace digm
