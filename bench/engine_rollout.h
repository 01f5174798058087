// Rollout workers as RolloutEngines in this process, behind the Orchestrator's RolloutBackend
// (no gRPC): the real mode of `seamless bench pipeline` and the workers of `seamless bench
// recipe`. Each prompt's answer length can be fixed (`lengths`, by the record in the group id;
// see PipelineRecordOfGroup), and the engines' decode-slot occupancy is integrated over time
// (SlotMeter), sampled every 2 ms.
#ifndef SEAMLESS_BENCH_ENGINE_ROLLOUT_H_
#define SEAMLESS_BENCH_ENGINE_ROLLOUT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "bench/pipeline_sim.h"
#include "core/tokenizer/tokenizer.h"
#include "rollout/rollout_engine.h"
#include "scheduler/backends.h"

namespace seamless {

class EngineRollout : public RolloutBackend, public SlotMeter {
 public:
  // `lengths[record]` replaces a group's max_new_tokens when the record is in range.
  // Detokenize decodes with `tokenizer` (as the scheduler does; it must outlive this), or
  // returns "" without one.
  EngineRollout(std::vector<std::unique_ptr<RolloutEngine>> engines, int64_t max_running,
                std::vector<int64_t> lengths, const Tokenizer* tokenizer = nullptr);
  ~EngineRollout() override;
  int num_workers() const override { return static_cast<int>(engines_.size()); }
  void Generate(int worker, GroupRequest request, std::function<void(RolloutSample)> on_sample,
                std::function<void(absl::Status)> on_done) override;
  void Abort(const AbortSpec& spec) override;
  std::string Detokenize(const std::vector<int32_t>& ids) override;
  int64_t total_slots() const override {
    return max_running_ * static_cast<int64_t>(engines_.size());
  }
  double busy_slot_seconds() override;
  int64_t samples_returned() override { return returned_.load(); }
  // The engines' own "nothing to do" share of wall time, averaged (for comparison).
  double EngineIdleFraction() const;
  RolloutEngine* engine(int worker) { return engines_[worker].get(); }

 private:
  void Poll();
  std::vector<std::unique_ptr<RolloutEngine>> engines_;
  int64_t max_running_;
  std::vector<int64_t> lengths_;
  const Tokenizer* tokenizer_;
  std::atomic<int64_t> returned_{0};
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  double busy_slot_seconds_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread poller_;  // last: it starts once the rest is constructed
};

}  // namespace seamless

#endif  // SEAMLESS_BENCH_ENGINE_ROLLOUT_H_
