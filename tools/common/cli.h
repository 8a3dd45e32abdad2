// Command-line plumbing shared by the tools: CLI11 parsing with usage errors
// in the house style (exit 2, nothing on stdout) and --help/--version.
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "diag.h"
#include "digm/address.h"
#include "digm/dht.h"
#include "digm/document.h"
#include "digm/file.h"

namespace digm::cli {

inline constexpr const char* kVersion = "0.1.0";

// Sets up diagnostics and the interrupt handler, and names the program.
inline void Init(CLI::App& app, const char* name) {
  diag::SetProgramName(name);
  InstallInterruptHandler();
  app.set_version_flag("-V,--version", std::string(name) + " " + kVersion);
  app.get_formatter()->column_width(32);
}

// The subcommand of `app` nearest to `typed` (edit distance at most 2), or "".
inline std::string NearestCommand(CLI::App& app, const std::string& typed) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
        diagonal = up;
      }
    }
    return row[b.size()];
  };
  std::string best;
  size_t best_distance = 3;
  for (const CLI::App* sub : app.get_subcommands({})) {
    size_t d = distance(typed, sub->get_name());
    if (d < best_distance) best = sub->get_name(), best_distance = d;
  }
  return best;
}

// Parses argv. Returns -1 to carry on, or the exit code to return now: 0 after
// --help or --version, 2 after a usage error (reported on stderr).
inline int Parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // A mistyped command: say so, and name the nearest one.
    auto subs = app.get_subcommands({});
    bool known = std::any_of(subs.begin(), subs.end(), [&](const CLI::App* s) {
      return argc > 1 && s->get_name() == argv[1];
    });
    if (argc > 1 && argv[1][0] != '-' && !subs.empty() && !known) {
      diag::Error("'" + std::string(argv[1]) + "' is not a " + std::string(diag::ProgramName()) +
                  " command");
      std::string near = NearestCommand(app, argv[1]);
      diag::Hint(near.empty() ? "try '" + std::string(diag::ProgramName()) + " --help'"
                              : "did you mean '" + near + "'?");
      return static_cast<int>(Code::kUsage);
    }
    std::string m = e.what();
    // "TRACK is required" keeps its capitals; "The following ..." does not.
    if (m.size() > 1 && !std::isupper(static_cast<unsigned char>(m[1]))) {
      m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
    }
    diag::Error(m);
    diag::Hint("try '" + std::string(diag::ProgramName()) + " --help'");
    return static_cast<int>(Code::kUsage);
  }
}

// Prints one document as one line of stdout and flushes it (NDJSON streams).
inline void PrintLine(const Json& doc) {
  std::string line = DumpDocument(doc) + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

// Prints a line of text on stdout and flushes it (a URL, an address).
inline void PrintText(std::string_view text) {
  std::string line = std::string(text) + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

// Ends the process with `rc` once stdout and stderr are flushed, running no
// exit handlers or library destructors: a lookup thread a tool abandoned (an
// identity check, a peer list, whose answers are no longer wanted) may still
// be inside OpenSSL or libcurl, whose teardown at exit would pull the ground
// from under it. Everything a tool writes is committed before this.
// Makes SIGINT and SIGTERM set `*stop` instead of ending the process, for a
// tool that ends cleanly on them (a live stream's publisher or listener).
inline std::atomic<bool>* g_stop_flag = nullptr;
inline void StopOnSignal(std::atomic<bool>* stop) {
  g_stop_flag = stop;
  struct sigaction sa {};
  sa.sa_handler = [](int) { *g_stop_flag = true; };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

[[noreturn]] inline void ExitNow(int rc) {
  std::fflush(nullptr);
  std::_Exit(rc);
}

// "1048576", "512K", "1M", "2G", "4T" (binary multiples) -> bytes; nullopt
// when not one, or 2^64 or more.
inline std::optional<uint64_t> ParseBytes(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  std::string unit = text.substr(digits);
  int shift = unit.empty()  ? 0
              : unit == "K" ? 10
              : unit == "M" ? 20
              : unit == "G" ? 30
              : unit == "T" ? 40
                            : -1;
  if (shift < 0) return std::nullopt;
  uint64_t n = std::stoull(text.substr(0, digits));
  if (n > (UINT64_MAX >> shift)) return std::nullopt;
  return n << shift;
}

// An option whose value is a size (ParseBytes) put straight into `*out`,
// which holds its default; one that is not a size, or 0 when `nonzero`, is a
// usage error naming the option, with `example`.
inline CLI::Option* AddBytesOption(CLI::App* app, const std::string& name, uint64_t* out,
                                   const std::string& description, const std::string& example,
                                   bool nonzero = false) {
  std::string flag = name.substr(name.rfind(',') + 1);
  return app
      ->add_option_function<std::string>(
          name,
          [out, flag, example, nonzero](const std::string& text) {
            auto bytes = ParseBytes(text);
            if (!bytes || (nonzero && *bytes == 0))
              throw CLI::ValidationError(flag,
                                         "'" + text + "' is not a size (e.g. " + example + ")");
            *out = *bytes;
          },
          description + " (K, M, G, T: KiB, MiB, GiB, TiB)")
      ->type_name("BYTES");
}

// Reports a usage error found after parsing.
inline int UsageError(const std::string& message, const std::string& hint = "") {
  diag::Error(message);
  if (!hint.empty()) diag::Hint(hint);
  return static_cast<int>(Code::kUsage);
}

// -1 when `text` is an address to listen at (a numeric IP address and a port,
// 0 too), or the usage error naming `flag`.
inline int CheckListen(const std::string& flag, const std::string& text) {
  auto hp = ParseHostPort(text, true);
  if (!hp.ok()) return UsageError(flag + " " + hp.status().message());
  if (!IsIpAddress(hp->host)) {
    return UsageError(flag + " '" + text + "': '" + hp->host + "' is not an IP address");
  }
  return -1;
}

// With DIGM_DHT_DEBUG in the environment, libtorrent's DHT log goes to stderr.
inline void DhtDebugLog(DhtOptions& o) {
  if (std::getenv("DIGM_DHT_DEBUG"))
    o.log = [](std::string_view line) { diag::Log("dht: " + std::string(line)); };
}

// -1 when the DHT flags hold HOST:PORT values, or the usage error naming the flag.
inline int CheckDhtFlags(const DhtOptions& o) {
  if (!o.listen.empty()) {
    if (auto hp = ParseHostPort(o.listen, true); !hp.ok())
      return UsageError("--dht-listen " + hp.status().message());
  }
  for (const auto& b : o.bootstrap) {
    auto hp = ParseHostPort(b);
    if (!hp.ok() && !(b == "none" && o.bootstrap.size() == 1)) {
      return UsageError("--dht-bootstrap " + hp.status().message());
    }
  }
  return -1;
}

}  // namespace digm::cli
