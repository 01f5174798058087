#include "learner/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "learner/advantages.h"
#include "learner/token_logprobs.h"

namespace seamless {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Indices [lo, hi) of the sequences rank `rank` of `world` trains within [begin, end).
std::pair<int64_t, int64_t> Shard(int64_t begin, int64_t end, int rank, int world) {
  const int64_t n = end - begin;
  return {begin + n * rank / world, begin + n * (rank + 1) / world};
}

// Sums all-reduced once per mini-batch, in this order.
enum Sum {
  kPgLoss,
  kClipped,
  kClippedLower,
  kPpoKl,
  kEntropy,
  kKl,
  kTokens,
  kLossNonFinite,
  kNumSums
};

}  // namespace

GrpoTrainer::GrpoTrainer(MimoModel model, TrainerConfig config, Collective* collective,
                         LossAggMode mode)
    : model_(std::move(model)),
      config_(std::move(config)),
      collective_(collective),
      agg_mode_(mode) {}

absl::StatusOr<std::unique_ptr<GrpoTrainer>> GrpoTrainer::Create(MimoModel model,
                                                                 TrainerConfig config,
                                                                 Collective* collective) {
  ASSIGN_OR_RETURN(LossAggMode mode, ParseLossAggMode(config.grpo.loss_agg_mode));
  if (config.grpo.old_logprobs != "rollout" && config.grpo.old_logprobs != "recompute") {
    return absl::InvalidArgumentError(absl::StrCat("grpo.old_logprobs '", config.grpo.old_logprobs,
                                                   "' is not rollout or recompute"));
  }
  if (config.optim.schedule != "constant" && config.optim.schedule != "cosine") {
    return absl::InvalidArgumentError(
        absl::StrCat("optim.schedule '", config.optim.schedule, "' is not constant or cosine"));
  }
  if (config.grpo.temperature <= 0) {
    return absl::InvalidArgumentError("grpo.temperature must be > 0");
  }
  std::unique_ptr<GrpoTrainer> t(new GrpoTrainer(std::move(model), config, collective, mode));
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (auto& item : t->model_->named_parameters()) {
    const bool mtp = absl::StartsWith(item.key(), "model.mtp_layers.");
    item.value().set_requires_grad(!(mtp && config.freeze_mtp));
    if (item.value().requires_grad()) {
      params.emplace_back(item.key(), item.value());
      t->trainable_.push_back(item.value());
    }
  }
  t->optimizer_ = std::make_unique<AdamW>(std::move(params), config.optim);
  if (config.grpo.kl_coef != 0) {
    // The reference is the model given to Create: the learner passes the initial --model, so
    // it stays the original policy across resumes (Learner::Resume loads into the policy only).
    t->reference_ = MimoModel(t->model_->config());
    at::NoGradGuard no_grad;
    auto src = t->model_->named_parameters();
    for (auto& item : t->reference_->named_parameters()) {
      item.value().copy_(src[item.key()]);
      item.value().set_requires_grad(false);
    }
  }
  return t;
}

absl::Status GrpoTrainer::SyncFromRank0() {
  if (collective_->world_size() == 1) return absl::OkStatus();
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> tensors;
  for (auto& p : model_->parameters()) tensors.push_back(p.detach());
  for (auto& s : optimizer_->StateTensors()) tensors.push_back(s);
  std::vector<at::Tensor> counters{
      at::tensor({step_, policy_version_, skipped_total_, optimizer_->step()}, at::kLong)};
  RETURN_IF_ERROR(collective_->Broadcast(tensors, 0));
  RETURN_IF_ERROR(collective_->Broadcast(counters, 0));
  auto c = counters[0].accessor<int64_t, 1>();
  RestoreCounters(c[0], c[1], c[2]);
  optimizer_->set_step(c[3]);
  return absl::OkStatus();
}

absl::StatusOr<StepOutcome> GrpoTrainer::Step(const RolloutBatch& batch) {
  const auto start = std::chrono::steady_clock::now();
  const ModelConfig& mc = model_->config();
  RETURN_IF_ERROR(ValidateBatch(batch, mc.vocab_size, mc.max_position_embeddings));
  const GrpoConfig& g = config_.grpo;
  const int rank = collective_->rank(), world = collective_->world_size();
  const at::Device device = model_->parameters()[0].device();

  // Flat sequence list in group order, shaped rewards, advantages.
  std::vector<const RolloutSequence*> seqs;
  std::vector<double> advantage;
  std::vector<int64_t> group_end;  // exclusive end index of each group in `seqs`
  double score_sum = 0, reward_sum = 0, prompt_tokens = 0, response_tokens = 0;
  double score_max = -1e300, score_min = 1e300, len_max = 0, len_min = 1e300;
  double adv_token_sum = 0, adv_max = -1e300, adv_min = 1e300;
  for (const RolloutGroup& group : batch.groups) {
    std::vector<double> rewards;
    for (const RolloutSequence& s : group.sequences) {
      double r = s.reward;
      score_sum += r;
      score_max = std::max(score_max, r);
      score_min = std::min(score_min, r);
      if (g.overlong_shaping) {
        r += g.overlong_penalty * OverlongPenalty(int64_t(s.response_ids.size()),
                                                  g.overlong_max_len, g.overlong_cache_len);
      }
      reward_sum += r;
      rewards.push_back(r);
      seqs.push_back(&s);
      const double len = double(s.response_ids.size());
      prompt_tokens += double(s.prompt_ids.size());
      response_tokens += len;
      len_max = std::max(len_max, len);
      len_min = std::min(len_min, len);
    }
    std::vector<double> adv = GroupAdvantages(rewards, g.adv_eps, g.scale_by_std);
    for (size_t i = 0; i < adv.size(); ++i) {
      advantage.push_back(adv[i]);
      const double len = double(group.sequences[i].response_ids.size());
      adv_token_sum += adv[i] * len;
      if (len > 0) {
        adv_max = std::max(adv_max, adv[i]);
        adv_min = std::min(adv_min, adv[i]);
      }
    }
    group_end.push_back(int64_t(seqs.size()));
  }
  const int64_t num_seqs = int64_t(seqs.size());
  if (num_seqs == 0) return absl::InvalidArgumentError("empty training batch");

  // Mini-batches: [begin, end) ranges of sequences, whole groups each.
  std::vector<std::pair<int64_t, int64_t>> minibatches;
  const int64_t per = config_.GroupsPerUpdate(int64_t(group_end.size()));
  for (size_t gi = 0; gi < group_end.size(); gi += size_t(per)) {
    const int64_t begin = gi == 0 ? 0 : group_end[gi - 1];
    const int64_t end = group_end[std::min(group_end.size(), gi + size_t(per)) - 1];
    minibatches.emplace_back(begin, end);
  }
  auto micro_chunks = [&](int64_t lo, int64_t hi) {
    std::vector<std::pair<int64_t, int64_t>> out;
    const int64_t size = config_.micro_batch_size > 0 ? config_.micro_batch_size : hi - lo;
    for (int64_t i = lo; i < hi; i += std::max<int64_t>(size, 1)) {
      out.emplace_back(i, std::min(hi, i + size));
    }
    return out;
  };
  auto subset = [&](int64_t lo, int64_t hi) {
    return std::vector<const RolloutSequence*>(seqs.begin() + lo, seqs.begin() + hi);
  };

  // Behaviour log-probs of this rank's sequences.
  std::vector<at::Tensor> old_logp{size_t(num_seqs)};
  const bool recompute = g.old_logprobs == "recompute";
  double diff_sum = 0, diff_tokens = 0, old_logprob_s = 0;
  if (recompute) {
    const auto t0 = std::chrono::steady_clock::now();
    at::NoGradGuard no_grad;
    for (const auto& [mb_lo, mb_hi] : minibatches) {
      const auto [lo, hi] = Shard(mb_lo, mb_hi, rank, world);
      for (const auto& [a, b] : micro_chunks(lo, hi)) {
        PackedSequences packed = PackSequences(subset(a, b), device);
        at::Tensor lp = ResponseLogProbs(model_, packed, g.temperature, false).logp;
        int64_t offset = 0;
        for (int64_t i = a; i < b; ++i) {
          const int64_t n = int64_t(seqs[i]->response_ids.size());
          old_logp[i] = lp.narrow(0, offset, n);
          offset += n;
          if (!seqs[i]->behaviour_logprobs.empty()) {
            at::Tensor rollout =
                at::tensor(at::ArrayRef<float>(seqs[i]->behaviour_logprobs)).to(device);
            diff_sum += (old_logp[i] - rollout).abs().sum().item<double>();
            diff_tokens += double(n);
          }
        }
      }
    }
    old_logprob_s = SecondsSince(t0);
  } else {
    for (const auto& [mb_lo, mb_hi] : minibatches) {
      const auto [lo, hi] = Shard(mb_lo, mb_hi, rank, world);
      for (int64_t i = lo; i < hi; ++i) {
        const auto& lp = seqs[i]->behaviour_logprobs;
        if (lp.size() != seqs[i]->response_ids.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat("sequence ", i,
                           " of the batch has no behaviour log-probs; set "
                           "grpo.old_logprobs: recompute or have the rollout record them"));
        }
        old_logp[i] = at::tensor(at::ArrayRef<float>(lp)).to(device);
      }
    }
  }

  StepOutcome out;
  std::vector<double> totals(kNumSums, 0.0);
  double pg_loss_sum = 0, grad_norm_sum = 0, last_lr = 0;
  int64_t finite_updates = 0;
  for (int64_t epoch = 0; epoch < std::max<int64_t>(config_.epochs, 1); ++epoch) {
    for (size_t m = 0; m < minibatches.size(); ++m) {
      const auto [mb_lo, mb_hi] = minibatches[m];
      int64_t global_tokens = 0;
      for (int64_t i = mb_lo; i < mb_hi; ++i)
        global_tokens += int64_t(seqs[i]->response_ids.size());
      const int64_t global_seqs = mb_hi - mb_lo;
      const auto [lo, hi] = Shard(mb_lo, mb_hi, rank, world);
      const bool measure_diff = !recompute && epoch == 0 && m == 0;

      std::vector<double> sums(kNumSums, 0.0);
      for (at::Tensor& p : trainable_) {
        if (p.grad().defined()) p.mutable_grad().zero_();
      }
      for (const auto& [a, b] : micro_chunks(lo, hi)) {
        PackedSequences packed = PackSequences(subset(a, b), device);
        if (packed.targets.numel() == 0) continue;
        PolicyLossInputs in;
        TokenLogProbs tl = ResponseLogProbs(model_, packed, g.temperature, /*with_entropy=*/true);
        in.logp = tl.logp;
        in.entropy = tl.entropy;
        std::vector<at::Tensor> olds;
        std::vector<float> adv_tokens;
        for (int64_t i = a; i < b; ++i) {
          olds.push_back(old_logp[i]);
          adv_tokens.insert(adv_tokens.end(), seqs[i]->response_ids.size(), float(advantage[i]));
        }
        in.old_logp = at::cat(olds);
        in.advantages = at::tensor(at::ArrayRef<float>(adv_tokens)).to(device);
        in.weights =
            AggregationWeights(packed.response_lengths, agg_mode_, global_tokens, global_seqs)
                .to(device);
        if (reference_) {
          at::NoGradGuard no_grad;
          in.ref_logp = ResponseLogProbs(reference_, packed, g.temperature, false).logp;
        }
        if (measure_diff) {
          at::NoGradGuard no_grad;
          diff_sum += (tl.logp.detach() - in.old_logp).abs().sum().item<double>();
          diff_tokens += double(tl.logp.numel());
        }
        PolicyLoss loss = ComputePolicyLoss(in, g);
        if (!std::isfinite(loss.sums.pg_loss) || !std::isfinite(loss.loss.item<double>())) {
          sums[kLossNonFinite] += 1;  // skip the backward; the update is skipped below
          continue;
        }
        loss.loss.backward();
        sums[kPgLoss] += loss.sums.pg_loss;
        sums[kClipped] += loss.sums.clipped;
        sums[kClippedLower] += loss.sums.clipped_lower;
        sums[kPpoKl] += loss.sums.ppo_kl;
        sums[kEntropy] += loss.sums.entropy;
        sums[kKl] += loss.sums.kl;
        sums[kTokens] += loss.sums.tokens;
      }
      // Ranks without tokens still take part in the all-reduce with zeros.
      std::vector<at::Tensor> grads;
      for (at::Tensor& p : trainable_) {
        if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
        grads.push_back(p.mutable_grad());
      }
      RETURN_IF_ERROR(AllReduceCoalesced(*collective_, grads));
      RETURN_IF_ERROR(AllReduceDoubles(*collective_, &sums));
      if (sums[kLossNonFinite] == 0 && sums[kTokens] != double(global_tokens)) {
        return absl::InternalError(absl::StrCat(
            "ranks disagree on the batch: ", sums[kTokens], " tokens trained, ", global_tokens,
            " in the mini-batch (every rank must be given the same batch)"));
      }
      if (gradient_hook_) gradient_hook_(grads);
      const double norm = GradNorm(grads);
      if (sums[kLossNonFinite] > 0 || !std::isfinite(norm)) {
        ++out.updates_skipped;
        ++skipped_total_;
        SLOG(WARNING) << "step " << step_ << " mini-batch " << m << ": non-finite "
                      << (sums[kLossNonFinite] > 0 ? "loss" : "gradient norm")
                      << "; update skipped, weights unchanged (" << skipped_total_
                      << " skipped so far)";
        for (at::Tensor& gr : grads) gr.zero_();
        continue;
      }
      ClipGradients(grads, norm, config_.optim.max_grad_norm);
      last_lr = LearningRate(config_.optim, optimizer_->step());
      optimizer_->Step(last_lr);
      ++out.updates_applied;
      ++finite_updates;
      pg_loss_sum += sums[kPgLoss];
      grad_norm_sum += norm;
      for (int k = 0; k < kNumSums; ++k) totals[k] += sums[k];
    }
  }
  for (at::Tensor& p : trainable_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }

  std::vector<double> diff{diff_sum, diff_tokens};
  RETURN_IF_ERROR(AllReduceDoubles(*collective_, &diff));
  ++step_;
  if (out.updates_applied > 0) ++policy_version_;
  out.step = step_;
  out.policy_version = policy_version_;

  const double elapsed = SecondsSince(start);
  const double tokens = std::max(totals[kTokens], 1.0);
  const double n = double(num_seqs);
  auto& mt = out.metrics;
  mt["actor/pg_loss"] = finite_updates ? pg_loss_sum / finite_updates : 0;
  mt["actor/pg_clipfrac"] = totals[kClipped] / tokens;
  mt["actor/pg_clipfrac_lower"] = totals[kClippedLower] / tokens;
  mt["actor/ppo_kl"] = totals[kPpoKl] / tokens;
  mt["actor/entropy"] = totals[kEntropy] / tokens;
  if (reference_) mt["actor/kl_loss"] = finite_updates ? totals[kKl] / finite_updates : 0;
  mt["actor/grad_norm"] = finite_updates ? grad_norm_sum / finite_updates : 0;
  mt["actor/lr"] = last_lr;
  mt["actor/updates"] = double(out.updates_applied);
  mt["actor/skipped_updates"] = double(out.updates_skipped);
  mt["actor/skipped_updates_total"] = double(skipped_total_);
  mt["actor/policy_version"] = double(policy_version_);
  mt["critic/score/mean"] = score_sum / n;
  mt["critic/score/max"] = score_max;
  mt["critic/score/min"] = score_min;
  mt["critic/rewards/mean"] = reward_sum / n;
  mt["critic/advantages/mean"] = response_tokens > 0 ? adv_token_sum / response_tokens : 0;
  mt["critic/advantages/max"] = adv_max > -1e300 ? adv_max : 0;
  mt["critic/advantages/min"] = adv_min < 1e300 ? adv_min : 0;
  mt["response_length/mean"] = response_tokens / n;
  mt["response_length/max"] = len_max;
  mt["response_length/min"] = len_min;
  mt["prompt_length/mean"] = prompt_tokens / n;
  if (diff[1] > 0) mt["training/rollout_logprob_abs_diff_mean"] = diff[0] / diff[1];
  if (recompute) mt["timing_s/old_log_prob"] = old_logprob_s;
  mt["timing_s/update_actor"] = elapsed;
  mt["perf/total_num_tokens"] = prompt_tokens + response_tokens;
  // verl: tokens of the batch per second per rank.
  mt["perf/throughput"] = (prompt_tokens + response_tokens) / elapsed / world;
  return out;
}

}  // namespace seamless
