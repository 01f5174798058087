#include "core/base/mutex_handoff.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>

namespace seamless {
namespace {

// Whether `mu` is free now (it is left unlocked either way).
bool Free(absl::Mutex& mu) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (!mu.TryLock()) return false;
  mu.Unlock();
  return true;
}

struct Holder {
  HeldMutex held;
};

TEST(MutexHandoffTest, AScopeThatDoesNotHandOffUnlocksOnEveryExit) {
  absl::Mutex mu;
  {
    MutexHandoffLock lock(&mu);
    EXPECT_FALSE(Free(mu));
  }
  EXPECT_TRUE(Free(mu));
  try {
    MutexHandoffLock lock(&mu);
    throw std::runtime_error("unwinding");
  } catch (const std::runtime_error&) {
  }
  EXPECT_TRUE(Free(mu));
}

TEST(MutexHandoffTest, TheHandedOffHoldLastsUntilItsHolderGoes) {
  absl::Mutex mu;
  auto holder = std::make_unique<Holder>();
  {
    MutexHandoffLock lock(&mu);
    holder->held = lock.Handoff();
  }
  EXPECT_TRUE(holder->held.held());
  EXPECT_FALSE(Free(mu)) << "the scope ended, the hold did not";
  HeldMutex moved = std::move(holder->held);
  EXPECT_FALSE(holder->held.held());
  holder.reset();
  EXPECT_FALSE(Free(mu)) << "the hold moved on";
  moved.Reset();
  EXPECT_FALSE(moved.held());
  EXPECT_TRUE(Free(mu));
  moved.Reset();  // a second Reset does nothing
  EXPECT_TRUE(Free(mu));
}

TEST(MutexHandoffTest, AssigningOverAHoldReleasesIt) {
  absl::Mutex a, b;
  HeldMutex held;
  {
    MutexHandoffLock lock(&a);
    held = lock.Handoff();
  }
  {
    MutexHandoffLock lock(&b);
    held = lock.Handoff();
  }
  EXPECT_TRUE(Free(a));
  EXPECT_FALSE(Free(b));
  held = HeldMutex();
  EXPECT_TRUE(Free(b));
}

}  // namespace
}  // namespace seamless
