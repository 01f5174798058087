// The orchestrator's inbox: closures posted from any thread (backend callbacks, the trainer
// thread), run one at a time on the loop thread. Callbacks hold the queue through a
// shared_ptr, not the orchestrator: a late callback after the loop closed it is dropped.
#ifndef SEAMLESS_SCHEDULER_EVENT_QUEUE_H_
#define SEAMLESS_SCHEDULER_EVENT_QUEUE_H_

#include <chrono>
#include <deque>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace seamless {

class EventQueue {
 public:
  // Queues `event`; dropped when the queue is closed.
  void Post(std::function<void()> event);
  // Runs the oldest event, waiting up to `wait` (real time) for one; false when none came.
  bool RunOne(std::chrono::milliseconds wait);
  // Drops what is queued and every later post.
  void Close();

 private:
  bool HasEvents() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !events_.empty(); }

  absl::Mutex mu_;
  std::deque<std::function<void()>> events_ ABSL_GUARDED_BY(mu_);
  bool open_ ABSL_GUARDED_BY(mu_) = true;
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_EVENT_QUEUE_H_
