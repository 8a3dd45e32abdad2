// Command-line plumbing shared by the tools: CLI11 parsing with usage errors
// in the house style (exit 2, nothing on stdout) and --help/--version.
#pragma once

#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdio>
#include <string>

#include "digm/diag.h"
#include "digm/document.h"
#include "digm/file.h"

namespace digm::cli {

inline constexpr const char* kVersion = "0.1.0";

// Sets up diagnostics and the interrupt handler, and names the program.
inline void Init(CLI::App& app, const char* name) {
  diag::SetProgramName(name);
  InstallInterruptHandler();
  app.set_version_flag("--version", std::string(name) + " " + kVersion);
  app.get_formatter()->column_width(32);
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
    std::string m = e.what();
    if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
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

// Reports a usage error found after parsing.
inline int UsageError(const std::string& message, const std::string& hint = "") {
  diag::Error(message);
  if (!hint.empty()) diag::Hint(hint);
  return static_cast<int>(Code::kUsage);
}

}  // namespace digm::cli
