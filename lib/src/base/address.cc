#include "digm/address.h"

#include <arpa/inet.h>

#include <charconv>

namespace digm {

Result<HostPort> ParseHostPort(std::string_view text, bool any_port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::BadInput("'" + std::string(text) + "': expected HOST:PORT");
  }
  HostPort hp{std::string(text.substr(0, colon)), 0};
  if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']')
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  std::string_view digits = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), hp.port);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      hp.port < (any_port ? 0 : 1) || hp.port > 65535) {
    return Status::BadInput("'" + std::string(text) + "': bad port");
  }
  return hp;
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string BaseUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace digm
