// A Clock that moves only when told to: tests advance it past a lease or a deadline instead of
// sleeping. Thread-safe (the code under test reads it from its own threads).
#ifndef SEAMLESS_TESTS_TESTING_FAKE_CLOCK_H_
#define SEAMLESS_TESTS_TESTING_FAKE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

#include "core/base/clock.h"

namespace seamless {
namespace testing {

class FakeClock final : public Clock {
 public:
  // Starts at the real clock's now, so time points from either look alike in logs.
  FakeClock() : start_(std::chrono::steady_clock::now()) {}

  TimePoint Now() const override { return start_ + std::chrono::nanoseconds(elapsed_ns_.load()); }
  void Advance(std::chrono::nanoseconds d) { elapsed_ns_.fetch_add(d.count()); }

 private:
  const TimePoint start_;
  std::atomic<int64_t> elapsed_ns_{0};
};

}  // namespace testing
}  // namespace seamless

#endif  // SEAMLESS_TESTS_TESTING_FAKE_CLOCK_H_
