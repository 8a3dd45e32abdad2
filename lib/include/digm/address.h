// Where a node listens and how it is reached, as the command line and the
// documents write it. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "digm/status.h"

namespace digm {

// An address to listen at or a node to reach: "HOST:PORT" or "[IPV6]:PORT"
// (the brackets dropped from host). Port 1-65535, or 0 too with `any_port`.
// BadInput "'TEXT': expected HOST:PORT" or "'TEXT': bad port".
struct HostPort {
  std::string host;
  int port = 0;
};
Result<HostPort> ParseHostPort(std::string_view text, bool any_port = false);

// True for a numeric IPv4 or IPv6 address ("127.0.0.1", "::1"), not a name.
bool IsIpAddress(const std::string& host);

// A node's base URL as given, without trailing slashes, ready for "/path".
std::string BaseUrl(std::string url);

}  // namespace digm
