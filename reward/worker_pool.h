// A fixed set of worker threads with a bounded queue: submitting to a full pool fails at once
// (the service answers RESOURCE_EXHAUSTED) instead of letting latency grow without bound.
#ifndef SEAMLESS_REWARD_WORKER_POOL_H_
#define SEAMLESS_REWARD_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace seamless {

class WorkerPool {
 public:
  // A job does its work on a worker and returns what to run once its place is free again
  // (e.g. answering the RPC), so a caller that got its answer can submit again at once.
  using Completion = std::function<void()>;
  using Job = std::function<Completion()>;

  WorkerPool(int workers, int queue_capacity);
  ~WorkerPool();  // runs the jobs already queued, then joins

  // Queues all of `jobs` or none: false when running + queued + jobs.size() would exceed
  // workers + queue_capacity.
  bool TrySubmit(std::vector<Job> jobs);
  bool TrySubmit(Job job) {
    std::vector<Job> one;
    one.push_back(std::move(job));
    return TrySubmit(std::move(one));
  }

  int queued() const;
  int workers() const { return static_cast<int>(threads_.size()); }

 private:
  void Loop();
  bool StoppingOrQueued() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !queue_.empty();
  }

  size_t limit_ = 0;  // workers + queue capacity
  mutable absl::Mutex mu_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  size_t pending_ ABSL_GUARDED_BY(mu_) = 0;  // queued + running
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace seamless

#endif  // SEAMLESS_REWARD_WORKER_POOL_H_
