#include "reward/worker_pool.h"

namespace seamless {

WorkerPool::WorkerPool(int workers, int queue_capacity) {
  if (workers < 1) workers = 1;
  limit_ =
      static_cast<size_t>(workers) + static_cast<size_t>(queue_capacity > 0 ? queue_capacity : 0);
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

bool WorkerPool::TrySubmit(std::vector<Job> jobs) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || pending_ + jobs.size() > limit_) return false;
    pending_ += jobs.size();
    for (Job& job : jobs) queue_.push_back(std::move(job));
  }
  return true;
}

int WorkerPool::queued() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

void WorkerPool::Loop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    mu_.Await(absl::Condition(this, &WorkerPool::StoppingOrQueued));
    if (queue_.empty()) return;  // stopping and drained
    Job job = std::move(queue_.front());
    queue_.pop_front();
    mu_.Unlock();
    Completion done = job();
    mu_.Lock();
    --pending_;
    if (done) {
      mu_.Unlock();
      done();
      mu_.Lock();
    }
  }
}

}  // namespace seamless
