// Where components read the time: the wall clock (CNR heartbeat staleness, what a replayed cluster dump calls
// now) and the monotonic clock (how long a hold or an unbound pod has waited, periodic checks). Injected, so that
// a test moves time instead of sleeping; leases take their `now` as an argument (kube/leader_election.h).
#ifndef TESSERA_BASE_CLOCK_H_
#define TESSERA_BASE_CLOCK_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <utility>

namespace tessera {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
  virtual std::chrono::steady_clock::time_point Monotonic() const = 0;
};

// The machine's clocks.
class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point Monotonic() const override { return std::chrono::steady_clock::now(); }
};

inline std::shared_ptr<const Clock> RealClock() {
  static const std::shared_ptr<const Clock> clock = std::make_shared<SystemClock>();
  return clock;
}

// `running`'s wall clock stopped at one instant (a cluster dump replayed offline: its heartbeats are judged as of
// the dump); its monotonic clock runs on.
class StoppedWallClock final : public Clock {
 public:
  StoppedWallClock(std::chrono::system_clock::time_point at, std::shared_ptr<const Clock> running)
      : at_(at), running_(std::move(running)) {}
  std::chrono::system_clock::time_point Now() const override { return at_; }
  std::chrono::steady_clock::time_point Monotonic() const override { return running_->Monotonic(); }

 private:
  std::chrono::system_clock::time_point at_;
  std::shared_ptr<const Clock> running_;
};

// Time that moves only when a test says so; both clocks advance together. Thread-safe.
class ManualClock final : public Clock {
 public:
  ManualClock() : wall_(std::chrono::system_clock::now()), monotonic_(std::chrono::steady_clock::now()) {}
  std::chrono::system_clock::time_point Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return wall_;
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return monotonic_;
  }
  void Advance(std::chrono::steady_clock::duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    monotonic_ += d;
  }

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point wall_;
  std::chrono::steady_clock::time_point monotonic_;
};

}  // namespace tessera

#endif  // TESSERA_BASE_CLOCK_H_
