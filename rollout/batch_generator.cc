#include "rollout/batch_generator.h"

#include <algorithm>
#include <deque>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/model/kv_cache.h"
#include "rollout/token_sampler.h"

namespace seamless {

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAborted: return "aborted";
  }
  return "?";
}

BatchGenerator::BatchGenerator(MimoModel model, int64_t max_batch, int64_t max_len,
                               int32_t eos_id)
    : model_(std::move(model)),
      max_batch_(max_batch),
      max_len_(std::min(max_len, model_->config().max_position_embeddings)),
      eos_id_(eos_id) {}

absl::Status BatchGenerator::Validate(const std::vector<GenerationRequest>& requests) const {
  const int64_t vocab = model_->config().vocab_size;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    const std::string where = absl::StrCat("request ", i, ": ");
    if (r.prompt.empty()) return absl::InvalidArgumentError(where + "prompt is empty");
    if (static_cast<int64_t>(r.prompt.size()) >= max_len_) {
      return absl::InvalidArgumentError(absl::StrCat(where, "prompt has ", r.prompt.size(),
                                                     " tokens; the context holds ", max_len_));
    }
    for (int32_t id : r.prompt) {
      if (id < 0 || id >= vocab) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "prompt token id ", id, " is outside [0, ", vocab, ")"));
      }
    }
    absl::Status valid = r.sampling.Validate();
    if (!valid.ok()) return Annotate(valid, where + "sampling");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<GenerationResult>> BatchGenerator::Generate(
    const std::vector<GenerationRequest>& requests) {
  RETURN_IF_ERROR(Validate(requests));
  std::vector<GenerationResult> results(requests.size());
  struct Running {
    size_t request;
    int64_t slot;
    int32_t last_token;
  };
  const int64_t vocab = model_->config().vocab_size;
  TokenSampler sampler;
  try {
    c10::InferenceMode inference;
    const at::Device device = model_->parameters().front().device();
    const auto on_device = at::TensorOptions().dtype(at::kLong).device(device);
    KvCache cache(model_->config(), max_batch_, max_len_,
                  at::TensorOptions().dtype(at::kFloat).device(device));
    std::deque<size_t> queue;
    for (size_t i = 0; i < requests.size(); ++i) queue.push_back(i);
    std::vector<Running> running;
    std::vector<int64_t> free_slots;
    for (int64_t s = max_batch_ - 1; s >= 0; --s) free_slots.push_back(s);

    // Appends a sampled token; returns true when the request is finished.
    auto accept = [&](Running& r, const float* logits) {
      const GenerationRequest& req = requests[r.request];
      GenerationResult& out = results[r.request];
      SampledToken t = sampler.Sample(logits, vocab, req.sampling, out.tokens.size());
      out.tokens.push_back(t.id);
      out.logprobs.push_back(t.logprob);
      r.last_token = t.id;
      ++stats_.generated_tokens;
      const auto& stops = req.sampling.stop_token_ids;
      if (t.id == eos_id_ || std::find(stops.begin(), stops.end(), t.id) != stops.end()) {
        out.finish = FinishReason::kStop;
        return true;
      }
      const int64_t total = static_cast<int64_t>(req.prompt.size() + out.tokens.size());
      if (static_cast<int64_t>(out.tokens.size()) >= req.sampling.max_new_tokens ||
          total >= max_len_) {
        out.finish = FinishReason::kLength;
        return true;
      }
      return false;
    };

    while (!queue.empty() || !running.empty()) {
      // Refill free slots: prefill each new prompt into its slot.
      while (!queue.empty() && !free_slots.empty()) {
        Running r{queue.front(), free_slots.back(), 0};
        queue.pop_front();
        free_slots.pop_back();
        cache.Reset(r.slot);
        const auto& prompt = requests[r.request].prompt;
        stats_.prompt_tokens += static_cast<int64_t>(prompt.size());
        at::Tensor ids =
            at::tensor(std::vector<int64_t>(prompt.begin(), prompt.end()), at::kLong)
                .view({1, -1})
                .to(on_device);
        at::Tensor hidden = model_->HiddenIncremental(ids, cache, {r.slot});
        at::Tensor logits = model_->Logits(hidden.select(1, -1)).to(at::kCPU).contiguous();
        if (accept(r, logits.data_ptr<float>())) {
          free_slots.push_back(r.slot);
        } else {
          running.push_back(r);
        }
      }
      if (running.empty()) continue;
      // One decode step for every running sequence, in slot order (contiguous when full).
      std::sort(running.begin(), running.end(),
                [](const Running& a, const Running& b) { return a.slot < b.slot; });
      std::vector<int64_t> slots, last;
      for (const Running& r : running) {
        slots.push_back(r.slot);
        last.push_back(r.last_token);
      }
      at::Tensor ids = at::tensor(last, at::kLong).view({-1, 1}).to(on_device);
      at::Tensor hidden = model_->HiddenIncremental(ids, cache, slots);
      at::Tensor logits = model_->Logits(hidden.squeeze(1)).to(at::kCPU).contiguous();
      ++stats_.decode_steps;
      std::vector<Running> still;
      for (size_t b = 0; b < running.size(); ++b) {
        if (accept(running[b], logits[b].data_ptr<float>())) {
          free_slots.push_back(running[b].slot);
        } else {
          still.push_back(running[b]);
        }
      }
      running.swap(still);
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("generation failed: ", e.what_without_backtrace()));
  }
  return results;
}

}  // namespace seamless
