// A fixed set of worker threads with a bounded queue: submitting to a full pool fails at once
// (the service answers RESOURCE_EXHAUSTED) instead of letting latency grow without bound.
#ifndef SEAMLESS_REWARD_WORKER_POOL_H_
#define SEAMLESS_REWARD_WORKER_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

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

  size_t limit_ = 0;  // workers + queue capacity
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Job> queue_;  // guarded by mu_
  size_t pending_ = 0;     // queued + running; guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace seamless

#endif  // SEAMLESS_REWARD_WORKER_POOL_H_
