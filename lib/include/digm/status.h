// Status and Result<T>: how every library call reports failure. A Status is a
// code from SPEC §1 (which is also the tool's exit code) plus a lower-case message
// that gains context once per layer. Values; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace digm {

// The exit status shared by every tool (SPEC §1).
enum class Code : int {
  kOk = 0,
  kNo = 1,         // a clean "no": a proof did not verify
  kUsage = 2,      // bad flags or arguments
  kBadInput = 3,   // unreadable file, malformed document, bad hex
  kIntegrity = 4,  // hash mismatch, tag failure, wrong key
  kNetwork = 5,    // no peer could serve, cannot bind
  kInterrupted = 130,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status No(std::string m) { return {Code::kNo, std::move(m)}; }
  static Status Usage(std::string m) { return {Code::kUsage, std::move(m)}; }
  static Status BadInput(std::string m) { return {Code::kBadInput, std::move(m)}; }
  static Status Integrity(std::string m) { return {Code::kIntegrity, std::move(m)}; }
  static Status Network(std::string m) { return {Code::kNetwork, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  int exit_code() const { return static_cast<int>(code_); }
  const std::string& message() const { return message_; }

  // Returns a copy whose message reads "context: message".
  Status Context(std::string_view context) const;

  // What the user can do about it ("add --ledger FILE or set DIGM_LEDGER"),
  // which the tools print after the error; kept through Context.
  Status WithHint(std::string hint) const;
  const std::string& hint() const { return hint_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string hint_;
};

// A value or the Status saying why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT
  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace digm

#define DIGM_CONCAT_INNER(a, b) a##b
#define DIGM_CONCAT(a, b) DIGM_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when it is not ok.
#define DIGM_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::digm::Status digm_status_ = (expr);        \
    if (!digm_status_.ok()) return digm_status_; \
  } while (0)

// Declares `lhs` from a Result, or returns its Status.
#define DIGM_ASSIGN_OR_RETURN(lhs, expr) \
  DIGM_ASSIGN_OR_RETURN_IMPL(DIGM_CONCAT(digm_result_, __LINE__), lhs, expr)
#define DIGM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
