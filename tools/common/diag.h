// Diagnostics for the tools (the library never prints): every tool
// prints "digm-X: error: …" and "digm-X: hint: …" on stderr through these, and
// maps a Status to its exit code. Call SetProgramName once at startup.
#pragma once

#include <string_view>

#include "digm/status.h"

namespace digm::diag {

void SetProgramName(std::string_view name);
std::string_view ProgramName();

void Error(std::string_view message);
void Warning(std::string_view message);
void Hint(std::string_view message);
// A line of a running program's log: "digm-X: message".
void Log(std::string_view message);
// A line of data on stderr as it is (evidence a script may parse).
void Detail(std::string_view line);

// Prints the status as an error and returns its exit code.
int Fail(const Status& status);

// True when `fd` is a terminal.
bool IsTerminal(int fd);

// A one-line progress meter redrawn on stderr. Not thread-safe.
class Progress {
 public:
  explicit Progress(bool enabled);
  ~Progress();
  // total 0 when unknown; `note` (e.g. "3 peers") is shown after the rate.
  void Update(uint64_t done, uint64_t total, std::string_view note = {});
  void Finish();

 private:
  bool enabled_;
  double start_;
  double last_draw_ = 0;
  bool drawn_ = false;
};

}  // namespace digm::diag
