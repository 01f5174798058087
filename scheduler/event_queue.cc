#include "scheduler/event_queue.h"

#include <utility>

#include "absl/time/time.h"

namespace seamless {

void EventQueue::Post(std::function<void()> event) {
  absl::MutexLock lock(&mu_);
  if (open_) events_.push_back(std::move(event));
}

bool EventQueue::RunOne(std::chrono::milliseconds wait) {
  std::function<void()> event;
  {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(this, &EventQueue::HasEvents),
                              absl::FromChrono(wait))) {
      return false;
    }
    event = std::move(events_.front());
    events_.pop_front();
  }
  event();
  return true;
}

void EventQueue::Close() {
  std::deque<std::function<void()>> dropped;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  open_ = false;
  dropped.swap(events_);
}

}  // namespace seamless
