// Background<T>: a call run on a thread of its own. Header-only, for the
// library's .cc files.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace digm {

// A call run on a thread of its own whose result can be waited for with a
// deadline, and abandoned: unlike std::async's future, dropping it never
// blocks (the call ends by its own timeout, and its result is dropped).
template <class T>
class Background {
 public:
  explicit Background(std::function<T()> call) : state_(std::make_shared<State>()) {
    std::thread([state = state_, call = std::move(call)] {
      T value = call();
      std::lock_guard<std::mutex> lock(state->mu);
      state->value = std::move(value);
      state->cv.notify_all();
    }).detach();
  }
  // The result, if it came within `wait`.
  std::optional<T> Get(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->cv.wait_for(lock, wait, [&] { return state_->value.has_value(); });
    return state_->value;
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<T> value;
  };
  std::shared_ptr<State> state_;
};

}  // namespace digm
