#include "bench/engine_rollout.h"

#include <chrono>

namespace seamless {

using SteadyClock = std::chrono::steady_clock;

EngineRollout::EngineRollout(std::vector<std::unique_ptr<RolloutEngine>> engines,
                             int64_t max_running, std::vector<int64_t> lengths,
                             const Tokenizer* tokenizer)
    : engines_(std::move(engines)),
      max_running_(max_running),
      lengths_(std::move(lengths)),
      tokenizer_(tokenizer) {
  poller_ = std::thread([this] { Poll(); });
}

EngineRollout::~EngineRollout() {
  stop_ = true;
  poller_.join();
}

void EngineRollout::Generate(int worker, GroupRequest request,
                             std::function<void(RolloutSample)> on_sample,
                             std::function<void(absl::Status)> on_done) {
  const int64_t record = PipelineRecordOfGroup(request.group_id);
  if (record >= 0 && record < static_cast<int64_t>(lengths_.size())) {
    request.sampling.max_new_tokens = lengths_[record];
  }
  const int32_t n = request.num_samples;
  auto count = std::make_shared<std::atomic<int32_t>>(0);
  absl::Status submitted = engines_[worker]->Submit(
      std::move(request), [this, on_sample, on_done, count, n](RolloutSample s) {
        ++returned_;
        on_sample(std::move(s));
        if (++*count == n) on_done(absl::OkStatus());
      });
  if (!submitted.ok()) on_done(submitted);
}

void EngineRollout::Abort(const AbortSpec& spec) {
  for (auto& e : engines_) e->Abort(spec, [](AbortCounts) {});
}

std::string EngineRollout::Detokenize(const std::vector<int32_t>& ids) {
  if (tokenizer_ == nullptr) return "";
  auto text = tokenizer_->Decode(ids);
  return text.ok() ? *text : std::string();
}

double EngineRollout::busy_slot_seconds() {
  absl::MutexLock lock(&mu_);
  return busy_slot_seconds_;
}

double EngineRollout::EngineIdleFraction() const {
  double sum = 0;
  for (const auto& e : engines_) sum += e->Status().idle_fraction;
  return sum / static_cast<double>(engines_.size());
}

void EngineRollout::Poll() {
  auto last = SteadyClock::now();
  while (!stop_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    int64_t running = 0;
    for (const auto& e : engines_) running += e->Status().running;
    const auto now = SteadyClock::now();
    absl::MutexLock lock(&mu_);
    busy_slot_seconds_ += double(running) * std::chrono::duration<double>(now - last).count();
    last = now;
  }
}

}  // namespace seamless
