#include "diag.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

namespace digm::diag {
namespace {

std::string g_program = "digm";

// A message may quote what a peer said: its control characters (an escape
// sequence, a carriage return that hides the line) are shown, not obeyed.
std::string Visible(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

void Print(std::string_view kind, std::string_view message) {
  std::string line = g_program + ": " + std::string(kind) + ": " + Visible(message) + "\n";
  fwrite(line.data(), 1, line.size(), stderr);
}

double Now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string HumanBytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

}  // namespace

void SetProgramName(std::string_view name) { g_program = std::string(name); }
std::string_view ProgramName() { return g_program; }
void Error(std::string_view message) { Print("error", message); }
void Warning(std::string_view message) { Print("warning", message); }
void Hint(std::string_view message) { Print("hint", message); }
void Log(std::string_view message) {
  std::string line = g_program + ": " + Visible(message) + "\n";
  fwrite(line.data(), 1, line.size(), stderr);
}

void Detail(std::string_view text) {
  std::string line = std::string(text) + "\n";
  fwrite(line.data(), 1, line.size(), stderr);
}

int Fail(const Status& status) {
  Error(status.message());
  if (!status.hint().empty()) Hint(status.hint());
  return status.exit_code();
}

bool IsTerminal(int fd) { return isatty(fd) == 1; }

Progress::Progress(bool enabled) : enabled_(enabled), start_(Now()) {}

Progress::~Progress() { Finish(); }

void Progress::Update(uint64_t done, uint64_t total, std::string_view note) {
  if (!enabled_) return;
  double now = Now();
  if (drawn_ && now - last_draw_ < 0.1) return;
  last_draw_ = now;
  drawn_ = true;
  double rate = done / std::max(now - start_, 1e-6);
  // The line fits the terminal (its width read at each draw, so a resize
  // is followed), and the bar takes what the text leaves of it.
  int columns = 80;
  struct winsize ws;
  if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) columns = ws.ws_col;
  char line[512];
  if (total > 0) {
    char tail[160];
    double eta_s = rate > 0 && total > done ? (total - done) / rate : 0;
    int tail_len =
        std::snprintf(tail, sizeof tail, " %3d%% %s/s %.*s ETA %ds",
                      static_cast<int>(100.0 * done / total), HumanBytes(rate).c_str(),
                      static_cast<int>(note.size()), note.data(), static_cast<int>(eta_s + 0.5));
    int width = std::clamp(columns - 1 - static_cast<int>(g_program.size()) - 5 - tail_len, 0, 30);
    int filled = static_cast<int>(width * std::min<double>(1.0, double(done) / total));
    std::string bar(filled, '#');
    bar.resize(width, ' ');
    std::snprintf(line, sizeof line, "%s: [%s]%s", g_program.c_str(), bar.c_str(), tail);
  } else {
    std::snprintf(line, sizeof line, "%s: %s %s/s %.*s", g_program.c_str(),
                  HumanBytes(double(done)).c_str(), HumanBytes(rate).c_str(),
                  static_cast<int>(note.size()), note.data());
  }
  std::string text(line);
  if (static_cast<int>(text.size()) > columns - 1) text.resize(std::max(columns - 1, 0));
  // Back to the start of the line, the text, and the rest of the line cleared.
  fputs(("\r" + text + "\x1b[K").c_str(), stderr);
}

void Progress::Finish() {
  if (enabled_ && drawn_) fputs("\n", stderr);
  drawn_ = false;
  enabled_ = false;
}

}  // namespace digm::diag
