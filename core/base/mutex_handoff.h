// A lock on an absl::Mutex handed on to an object that outlives the scope that took it: what
// moving a std::unique_lock does for std::mutex (the learner's command lock, held by a weight
// source for as long as a pull streams the parameters).
//
//   MutexHandoffLock lock(&mu_);      // an ordinary scoped lock: every return unlocks
//   ... checks under mu_ ...
//   HeldMutex held = lock.Handoff();  // the scope's hold ends here; `held` unlocks mu_ when
//                                     // it is destroyed or Reset()
//
// The thread-safety analysis cannot follow a lock into an object: for it the hold ends at
// Handoff(), so whoever keeps the HeldMutex only keeps others out and must not touch what the
// mutex guards.
#ifndef SEAMLESS_CORE_BASE_MUTEX_HANDOFF_H_
#define SEAMLESS_CORE_BASE_MUTEX_HANDOFF_H_

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace seamless {

class HeldMutex {
 public:
  HeldMutex() = default;
  HeldMutex(HeldMutex&& other) noexcept : mu_(std::exchange(other.mu_, nullptr)) {}
  HeldMutex& operator=(HeldMutex&& other) noexcept {
    if (this != &other) {
      Reset();
      mu_ = std::exchange(other.mu_, nullptr);
    }
    return *this;
  }
  ~HeldMutex() { Reset(); }

  // Unlocks now (if held).
  void Reset() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (mu_) mu_->Unlock();
    mu_ = nullptr;
  }
  bool held() const { return mu_ != nullptr; }

 private:
  friend class MutexHandoffLock;
  explicit HeldMutex(absl::Mutex* mu) : mu_(mu) {}
  absl::Mutex* mu_ = nullptr;
};

class ABSL_SCOPED_LOCKABLE MutexHandoffLock {
 public:
  explicit MutexHandoffLock(absl::Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  MutexHandoffLock(const MutexHandoffLock&) = delete;
  MutexHandoffLock& operator=(const MutexHandoffLock&) = delete;
  ~MutexHandoffLock() ABSL_UNLOCK_FUNCTION() {
    if (mu_) mu_->Unlock();
  }

  // Ends this scope's hold without unlocking: the HeldMutex returned unlocks.
  HeldMutex Handoff() ABSL_UNLOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return HeldMutex(std::exchange(mu_, nullptr));
  }

 private:
  absl::Mutex* mu_;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_MUTEX_HANDOFF_H_
