// A small Prometheus metrics registry: counters, gauges and histograms, optionally with labels,
// rendered in the Prometheus text exposition format (version 0.0.4).
//
// Names follow Prometheus conventions: a `seamless_` prefix, base units (seconds, bytes) and a
// `_total` suffix on counters. Metric objects are owned by the registry and live as long as it;
// updating one is lock-free (atomics), so hot loops may update them per token.
#ifndef SEAMLESS_CORE_METRICS_METRICS_H_
#define SEAMLESS_CORE_METRICS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace seamless {

// A double that can be added to atomically (fetch_add on doubles needs C++20).
class AtomicDouble {
 public:
  void Add(double delta);
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  double Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Counter {
 public:
  void Increment(double delta = 1.0) { value_.Add(delta); }
  double value() const { return value_.Get(); }

 private:
  AtomicDouble value_;
};

class Gauge {
 public:
  void Set(double value) { value_.Set(value); }
  void Add(double delta) { value_.Add(delta); }
  double value() const { return value_.Get(); }

 private:
  AtomicDouble value_;
};

class Histogram {
 public:
  // `bounds` are the upper bounds of the buckets, ascending; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound, then the +Inf count.
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const { return sum_.Get(); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 entries
  AtomicDouble sum_;
  std::atomic<uint64_t> count_{0};
};

// Bucket bounds for latencies in seconds, from 1 ms to ~60 s.
std::vector<double> LatencySecondsBuckets();

using Labels = std::map<std::string, std::string>;

// Owns every metric of a process (or of a test). Getting the same name and labels twice
// returns the same object; the same name with a different type or help is a programming error
// and aborts with a message.
class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter* GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram* GetHistogram(const std::string& name, const std::string& help,
                          const std::vector<double>& bounds, const Labels& labels = {});

  // The whole registry in the Prometheus text format, families sorted by name.
  std::string RenderPrometheus() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  Family& GetFamily(const std::string& name, const std::string& help, Type type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Family> families_ ABSL_GUARDED_BY(mu_);
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_METRICS_METRICS_H_
