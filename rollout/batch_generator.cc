#include "rollout/batch_generator.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace seamless {

BatchGenerator::BatchGenerator(MimoModel model, int64_t max_batch, int64_t max_len, int32_t eos_id,
                               Speculative speculative)
    : model_(std::move(model)), eos_id_(eos_id) {
  options_.max_running = max_batch;
  options_.max_len = max_len;
  options_.speculative = speculative;
}

absl::StatusOr<std::vector<GenerationResult>> BatchGenerator::Generate(
    const std::vector<GenerationRequest>& requests) {
  options_.max_queued_samples = std::max<int64_t>(1, static_cast<int64_t>(requests.size()));
  ASSIGN_OR_RETURN(auto batcher, ContinuousBatcher::Create(model_, options_, eos_id_));
  for (size_t i = 0; i < requests.size(); ++i) {
    GroupRequest group;
    group.group_id = absl::StrCat(i);
    group.prompt = requests[i].prompt;
    group.sampling = requests[i].sampling;
    absl::Status added = batcher->Add(std::move(group));
    if (!added.ok()) return Annotate(added, absl::StrCat("request ", i));
  }
  std::vector<GenerationResult> results(requests.size());
  std::vector<RolloutSample> finished;
  while (batcher->HasWork()) {
    finished.clear();
    RETURN_IF_ERROR(batcher->Step(&finished));
    for (RolloutSample& sample : finished) {
      size_t index = 0;
      (void)absl::SimpleAtoi(sample.group_id, &index);
      GenerationResult& r = results[index];
      r.tokens = std::move(sample.tokens);
      r.logprobs = std::move(sample.logprobs);
      r.finish = sample.finish;
    }
  }
  stats_ = batcher->stats();
  return results;
}

}  // namespace seamless
