#include "reward/worker_pool.h"

namespace seamless {

WorkerPool::WorkerPool(int workers, int queue_capacity) {
  if (workers < 1) workers = 1;
  limit_ = static_cast<size_t>(workers) + static_cast<size_t>(queue_capacity > 0 ? queue_capacity : 0);
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (std::thread& t : threads_) t.join();
}

bool WorkerPool::TrySubmit(std::vector<Job> jobs) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || pending_ + jobs.size() > limit_) return false;
    pending_ += jobs.size();
    for (Job& job : jobs) queue_.push_back(std::move(job));
  }
  ready_.notify_all();
  return true;
}

int WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(queue_.size());
}

void WorkerPool::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Completion done = job();
    lock.lock();
    --pending_;
    if (done) {
      lock.unlock();
      done();
      lock.lock();
    }
  }
}

}  // namespace seamless
