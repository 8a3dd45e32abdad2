// Flags more than one tool takes, defined once: the DHT's (digm-seed,
// digm-fetch) and an HTTP server's limits (digm-seed).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "digm/dht.h"
#include "digm/http_server.h"

namespace digm::cli {

// --dht-bootstrap and --dht-listen; `listen_default` says what an empty
// --dht-listen means, `keeps_state` whether "none" (only the saved state) may be given.
inline void AddDhtFlags(CLI::App* c, DhtOptions& o, const std::string& listen_default,
                        bool keeps_state) {
  c->add_option("--dht-bootstrap", o.bootstrap,
                "a DHT node to join through, replacing the public routers (repeatable" +
                    std::string(keeps_state ? "; none: only the saved state)" : ")"))
      ->type_name("HOST:PORT");
  c->add_option("--dht-listen", o.listen,
                "the DHT's UDP address and port (default: " + listen_default + ")")
      ->type_name("ADDR:PORT");
}

// How many connections and requests a server takes, and how long it waits.
inline void AddServerFlags(CLI::App* c, ServerLimits& l) {
  auto count = [](size_t lo) { return CLI::Range(lo, size_t{1} << 20); };
  auto seconds = CLI::Range(1, 86400);
  c->add_option("-j,--threads", l.threads, "server threads (default: all cores)")
      ->check(CLI::Range(1, 1024))
      ->type_name("N");
  c->add_option("--max-connections", l.max_connections, "open connections at most")
      ->capture_default_str()
      ->check(count(1))
      ->type_name("N");
  c->add_option("--max-connections-per-ip", l.max_connections_per_ip,
                "open connections from one client address at most")
      ->capture_default_str()
      ->check(count(1))
      ->type_name("N");
  c->add_option("--rate-limit", l.rate_per_ip, "requests per second per client address (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e9))
      ->type_name("N");
  c->add_option("--idle-timeout", l.idle_timeout_s, "seconds to wait for a request")
      ->capture_default_str()
      ->check(seconds)
      ->type_name("S");
  c->add_option("--header-timeout", l.header_timeout_s,
                "seconds a client has to send a request's headers")
      ->capture_default_str()
      ->check(seconds)
      ->type_name("S");
  c->add_option("--max-body", l.body_limit, "largest request body in bytes")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->type_name("BYTES");
}

}  // namespace digm::cli
