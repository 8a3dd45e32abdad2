#include "digm/status.h"

namespace digm {

Status Status::Context(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  Status s(code_, std::move(m));
  s.hint_ = hint_;
  return s;
}

Status Status::WithHint(std::string hint) const {
  Status s = *this;
  s.hint_ = std::move(hint);
  return s;
}

}  // namespace digm
