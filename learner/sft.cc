#include "learner/sft.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/config.h"
#include "core/base/file_util.h"
#include "core/base/json_lines.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/model/capacity_plan.h"
#include "learner/token_logprobs.h"
#include "nlohmann/json.hpp"

namespace seamless {

absl::Status SftConfig::Validate() const {
  RETURN_IF_ERROR(CheckRange("batch_size", batch_size, 1, 1e6));
  RETURN_IF_ERROR(CheckRange("micro_batch_size", micro_batch_size, 0, 1e6));
  RETURN_IF_ERROR(CheckRange("steps", steps, 0, 1e9));
  return CheckRange("mtp_loss_weight", mtp_loss_weight, 0, 1e6);
}

namespace {

LearnerMemoryPlan SftPlan(const ModelConfig& model, int64_t rows, int64_t longest_tokens) {
  LearnerPlanOptions o;
  o.tokens_per_micro_batch = std::max<int64_t>(1, rows * longest_tokens);
  o.seq_len = longest_tokens;
  o.freeze_mtp = false;                // SFT trains the MTP layers too
  o.activation_checkpointing = false;  // and keeps every layer's activations
  return EstimateLearnerMemory(model, o);
}

std::string Gib(uint64_t bytes) { return absl::StrFormat("%.1f GiB", bytes / double(1 << 30)); }

}  // namespace

absl::Status CheckSftFits(const ModelConfig& model, const SftConfig& config, int64_t longest_tokens,
                          int world_size, uint64_t available) {
  if (available == 0) return absl::OkStatus();
  const int64_t world = std::max(world_size, 1);
  const int64_t per_rank = (config.batch_size + world - 1) / world;
  const int64_t micro =
      config.micro_batch_size > 0 ? std::min(config.micro_batch_size, per_rank) : per_rank;
  const uint64_t needs = SftPlan(model, micro, longest_tokens).total();
  if (needs <= available) return absl::OkStatus();
  // The plan grows with the rows of a micro-batch: the largest that fits, by bisection.
  int64_t lo = 0, hi = micro;
  while (lo + 1 < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    (SftPlan(model, mid, longest_tokens).total() <= available ? lo : hi) = mid;
  }
  const std::string fits =
      lo > 0 ? absl::StrCat("micro_batch_size ", lo, " fits")
             : "not even one sequence fits: a smaller model or a machine with more memory";
  return absl::ResourceExhaustedError(absl::StrFormat(
      "batch_size %d: a micro-batch of %d sequence(s) x %d tokens (the longest) needs %s per "
      "rank, %s available (MemAvailable); %s",
      config.batch_size, micro, longest_tokens, Gib(needs), Gib(available), fits));
}

namespace {
// One line of SFT data, {"prompt": ..., "response": ...}, tokenized; EOS ends the response.
absl::StatusOr<RolloutSequence> SftExample(const nlohmann::json& j, const std::string& where,
                                           const Tokenizer& tokenizer, int64_t max_length) {
  if (!j.is_object() || !j.contains("prompt") || !j["prompt"].is_string() ||
      !j.contains("response") || !j["response"].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": expected {\"prompt\": string, \"response\": string}"));
  }
  RolloutSequence s;
  auto prompt = tokenizer.Encode(j["prompt"].get<std::string>());
  if (!prompt.ok()) return Annotate(prompt.status(), where + ": prompt");
  auto response = tokenizer.Encode(j["response"].get<std::string>());
  if (!response.ok()) return Annotate(response.status(), where + ": response");
  s.prompt_ids = std::move(*prompt);
  s.response_ids = std::move(*response);
  s.response_ids.push_back(tokenizer.eos_id());
  if (s.prompt_ids.empty()) return absl::InvalidArgumentError(where + ": empty prompt");
  if (int64_t(s.prompt_ids.size() + s.response_ids.size()) > max_length) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ",
                                                   s.prompt_ids.size() + s.response_ids.size(),
                                                   " tokens exceed the context of ", max_length));
  }
  return s;
}
}  // namespace

absl::StatusOr<std::vector<RolloutSequence>> LoadSftExamples(const std::string& path,
                                                             const Tokenizer& tokenizer,
                                                             int64_t max_length) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::vector<RolloutSequence> out;
  RETURN_IF_ERROR(ForEachJsonLine(
      text, path, [&](const std::string& where, const nlohmann::json& j) -> absl::Status {
        ASSIGN_OR_RETURN(RolloutSequence s, SftExample(j, where, tokenizer, max_length));
        out.push_back(std::move(s));
        return absl::OkStatus();
      }));
  if (out.empty()) return absl::InvalidArgumentError(path + ": no examples");
  return out;
}

SftTrainer::SftTrainer(MimoModel model, SftConfig config, Collective* collective,
                       std::vector<RolloutSequence> data)
    : model_(std::move(model)), config_(config), collective_(collective), data_(std::move(data)) {}

absl::StatusOr<std::unique_ptr<SftTrainer>> SftTrainer::Create(MimoModel model, SftConfig config,
                                                               Collective* collective,
                                                               std::vector<RolloutSequence> data) {
  if (data.empty()) return absl::InvalidArgumentError("SFT needs at least one example");
  if (config.batch_size < 1) return absl::InvalidArgumentError("batch_size must be >= 1");
  std::unique_ptr<SftTrainer> t(
      new SftTrainer(std::move(model), config, collective, std::move(data)));
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (auto& item : t->model_->named_parameters()) {
    item.value().set_requires_grad(true);
    params.emplace_back(item.key(), item.value());
    t->trainable_.push_back(item.value());
  }
  t->optimizer_ = std::make_unique<AdamW>(std::move(params), config.optim);
  return t;
}

const RolloutSequence* SftTrainer::Example(int64_t index) {
  const int64_t n = int64_t(data_.size());
  const int64_t epoch = index / n;
  if (epoch != order_epoch_) {
    order_.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) order_[i] = i;
    std::mt19937_64 rng(config_.seed * 1000003 + uint64_t(epoch));
    // Fisher-Yates with our own draw: std::shuffle's use of the engine is unspecified.
    for (int64_t i = n - 1; i > 0; --i) std::swap(order_[i], order_[rng() % uint64_t(i + 1)]);
    order_epoch_ = epoch;
  }
  return &data_[order_[index % n]];
}

absl::StatusOr<StepOutcome> SftTrainer::Step() {
  const auto start = std::chrono::steady_clock::now();
  const int rank = collective_->rank(), world = collective_->world_size();
  std::vector<const RolloutSequence*> batch;
  for (int64_t i = 0; i < config_.batch_size; ++i) batch.push_back(Example(consumed_ + i));
  consumed_ += config_.batch_size;

  double global_tokens = 0, global_mtp_tokens = 0, all_tokens = 0;
  for (const RolloutSequence* s : batch) {
    global_tokens += double(s->response_ids.size());
    all_tokens += double(s->prompt_ids.size() + s->response_ids.size());
    const int64_t p = int64_t(s->prompt_ids.size());
    for (size_t j = 0; j < s->response_ids.size(); ++j) global_mtp_tokens += (p + int64_t(j) >= 2);
  }
  const int64_t n = int64_t(batch.size());
  const int64_t lo = n * rank / world, hi = n * (rank + 1) / world;
  const int64_t micro = config_.micro_batch_size > 0 ? config_.micro_batch_size : hi - lo;
  const bool mtp = config_.mtp_loss_weight != 0 && model_->config().num_nextn_predict_layers > 0;

  // Sums: lm loss, mtp loss (both over global normalisers), mtp correct top-1, non-finite.
  std::vector<double> sums(4, 0.0);
  for (at::Tensor& p : trainable_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
  for (int64_t a = lo; a < hi; a += std::max<int64_t>(micro, 1)) {
    const int64_t b = std::min(hi, a + micro);
    PackedSequences packed =
        PackSequences(std::vector<const RolloutSequence*>(batch.begin() + a, batch.begin() + b),
                      model_->parameters()[0].device());
    at::Tensor hidden = model_->Hidden(packed.input_ids);
    at::Tensor lm =
        -LogProbsOfTargets(model_, hidden, packed.rows, packed.targets, 1.0, false).logp.sum() /
        std::max(global_tokens, 1.0);
    at::Tensor loss = lm;
    at::Tensor mtp_loss;
    if (mtp && packed.mtp_rows.numel() > 0) {
      at::Tensor mtp_hidden = model_->MtpHidden(0, hidden, packed.input_ids);
      at::Tensor flat =
          mtp_hidden.reshape({-1, mtp_hidden.size(-1)}).index_select(0, packed.mtp_rows);
      at::Tensor logp_all = at::log_softmax(model_->Logits(flat), -1);
      at::Tensor logp = logp_all.gather(1, packed.mtp_targets.unsqueeze(1)).squeeze(1);
      mtp_loss = -logp.sum() / std::max(global_mtp_tokens, 1.0);
      loss = loss + config_.mtp_loss_weight * mtp_loss;
      at::NoGradGuard no_grad;
      sums[2] += logp_all.argmax(-1).eq(packed.mtp_targets).sum().item<double>();
    }
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
      sums[3] += 1;
      continue;
    }
    loss.backward();
    sums[0] += lm.item<double>();
    if (mtp_loss.defined()) sums[1] += mtp_loss.item<double>();
  }
  std::vector<at::Tensor> grads;
  for (at::Tensor& p : trainable_) {
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.mutable_grad());
  }
  RETURN_IF_ERROR(AllReduceCoalesced(*collective_, grads));
  RETURN_IF_ERROR(AllReduceDoubles(*collective_, &sums));
  const double norm = GradNorm(grads);
  StepOutcome out;
  double lr = 0;
  if (sums[3] > 0 || !std::isfinite(norm)) {
    out.updates_skipped = 1;
    SLOG(WARNING) << "SFT step " << step_ << ": non-finite loss or gradient; update skipped";
  } else {
    ClipGradients(grads, norm, config_.optim.max_grad_norm);
    lr = LearningRate(config_.optim, optimizer_->step());
    optimizer_->Step(lr);
    out.updates_applied = 1;
  }
  for (at::Tensor& g : grads) g.zero_();
  ++step_;
  out.step = step_;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto& m = out.metrics;
  m["sft/loss"] = sums[0] + config_.mtp_loss_weight * sums[1];
  m["sft/lm_loss"] = sums[0];
  if (mtp) {
    m["sft/mtp_loss"] = sums[1];
    m["sft/mtp_top1_acc"] = sums[2] / std::max(global_mtp_tokens, 1.0);
  }
  m["actor/grad_norm"] = norm;
  m["actor/lr"] = lr;
  m["actor/skipped_updates"] = double(out.updates_skipped);
  m["response_length/mean"] = global_tokens / double(n);
  m["timing_s/update_actor"] = elapsed;
  m["perf/throughput"] = all_tokens / elapsed / world;
  return out;
}

}  // namespace seamless
