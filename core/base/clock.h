// Time as an interface, so that code with leases, deadlines and backoffs can be driven by a
// fake clock in tests (tests/testing/fake_clock.h) instead of sleeping. Waits on a condition
// variable keep their real-time timeouts; what is computed from "now" comes from a Clock.
#ifndef SEAMLESS_CORE_BASE_CLOCK_H_
#define SEAMLESS_CORE_BASE_CLOCK_H_

#include <chrono>

namespace seamless {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // Monotonic; safe to call from any thread.
  virtual TimePoint Now() const = 0;
};

// std::chrono::steady_clock.
class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
};

// The process's real clock (never destroyed): the default wherever a Clock* is optional.
inline const Clock* DefaultClock() {
  static const RealClock* clock = new RealClock;
  return clock;
}

// Seconds from `a` to `b`.
inline double SecondsBetween(Clock::TimePoint a, Clock::TimePoint b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_CLOCK_H_
