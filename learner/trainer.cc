#include "learner/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/log.h"
#include "core/base/process_memory.h"
#include "core/base/status_macros.h"
#include "core/model/model_files.h"
#include "core/model/torch_raw_tensor.h"
#include "core/model/transformer_layers.h"
#include "learner/advantages.h"
#include "learner/unit_forward.h"

namespace seamless {
namespace {

using Range = std::pair<int64_t, int64_t>;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Indices [lo, hi) of the sequences rank `rank` of `world` trains within [begin, end).
Range Shard(int64_t begin, int64_t end, int rank, int world) {
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

// Stands in for the micro-batches a rank lacks under gradient or full sharding, where every
// rank must run as many as the others (their collectives pair up): one token, zero weight.
const RolloutSequence& PaddingSequence() {
  static const RolloutSequence* s = [] {
    auto* seq = new RolloutSequence;
    seq->prompt_ids = {0};
    seq->response_ids = {0};
    seq->behaviour_logprobs = {0.0f};
    return seq;
  }();
  return *s;
}

}  // namespace

absl::Status TorchExceptionToStatus(const std::exception& e, const std::string& context) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  std::string what = torch_error != nullptr ? torch_error->what_without_backtrace() : e.what();
  what = what.substr(0, what.find('\n'));
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr ||
      what.find("alloc") != std::string::npos || what.find("out of memory") != std::string::npos) {
    return absl::ResourceExhaustedError(absl::StrCat(
        context, ": out of memory (", what,
        "); lower learner.trainer.max_tokens_per_micro_batch or micro_batch_size, or use "
        "learner.trainer.sharding: full or more ranks"));
  }
  return absl::InternalError(absl::StrCat(context, ": ", what));
}

namespace {

// loss.backward(), with LibTorch's exceptions (out of memory, a failed collective inside a
// checkpointed unit) as a Status.
absl::Status RunBackward(const at::Tensor& loss) {
  try {
    loss.backward();
  } catch (const std::exception& e) {
    return TorchExceptionToStatus(e, "learner backward pass");
  }
  return absl::OkStatus();
}

}  // namespace

// The batch flattened in group order, with shaped rewards, advantages and mini-batches.
struct GrpoBatchPlan {
  std::vector<const RolloutSequence*> seqs;
  std::vector<double> advantage;
  std::vector<int64_t> group_end;  // exclusive end index of each group in `seqs`
  std::vector<Range> minibatches;  // [begin, end) of sequences, whole groups each
  double score_sum = 0, reward_sum = 0, prompt_tokens = 0, response_tokens = 0;
  double score_max = -1e300, score_min = 1e300, len_max = 0, len_min = 1e300;
  double adv_token_sum = 0, adv_max = -1e300, adv_min = 1e300;

  std::vector<const RolloutSequence*> Subset(int64_t lo, int64_t hi) const {
    return {seqs.begin() + lo, seqs.begin() + hi};
  }
};

struct GrpoTrainer::MiniBatchSums {
  std::vector<double> v = std::vector<double>(kNumSums, 0.0);
};

namespace {

void AddGroup(const RolloutGroup& group, const GrpoConfig& g, GrpoBatchPlan* p);

}  // namespace

GrpoTrainer::GrpoTrainer(MimoModel model, TrainerConfig config, Collective* collective,
                         LossAggMode mode)
    : model_(std::move(model)), config_(config), collective_(collective), agg_mode_(mode) {}

GrpoTrainer::~GrpoTrainer() = default;

absl::StatusOr<std::unique_ptr<GrpoTrainer>> GrpoTrainer::Create(MimoModel model,
                                                                 TrainerConfig config,
                                                                 Collective* collective) {
  const LossAggMode mode = config.grpo.loss_agg_mode;
  const Sharding sharding = config.sharding;
  if (config.grpo.temperature <= 0) {
    return absl::InvalidArgumentError("grpo.temperature must be > 0");
  }
  if (config.max_tokens_per_micro_batch < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "learner.trainer.max_tokens_per_micro_batch ", config.max_tokens_per_micro_batch,
        " must be >= 0 (0: micro_batch_size sequences)"));
  }
  const bool unit_path = sharding != Sharding::kNone || config.precision == Precision::kBf16 ||
                         config.activation_checkpointing;
  if (unit_path && config.grpo.kl_coef != 0) {
    return absl::InvalidArgumentError(
        "grpo.kl_coef > 0 keeps a full reference model: it needs sharding: none, fp32 and no "
        "activation_checkpointing");
  }
  std::unique_ptr<GrpoTrainer> t(new GrpoTrainer(std::move(model), config, collective, mode));
  t->sharding_ = sharding;
  t->compute_dtype_ = config.precision == Precision::kBf16
                          ? at::kBFloat16
                          : t->model_->parameters()[0].scalar_type();
  for (auto& item : t->model_->named_parameters()) {
    const bool mtp = absl::StartsWith(item.key(), "model.mtp_layers.");
    item.value().set_requires_grad(!(mtp && config.freeze_mtp));
  }
  if (unit_path) {
    ASSIGN_OR_RETURN(t->params_,
                     ShardedParameters::Create(t->model_, sharding, config.freeze_mtp, collective));
    t->unit_forward_ =
        std::make_unique<UnitForward>(t->model_, *t->params_, *collective, t->compute_dtype_);
    ReleaseFreedMemory();  // the module's former storage (sharded away) back to the kernel
    return t;
  }
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (auto& item : t->model_->named_parameters()) {
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
  std::vector<at::Tensor> counters{
      at::tensor({step_, policy_version_, skipped_total_, optimizer_step()}, at::kLong)};
  if (unit_path()) {
    RETURN_IF_ERROR(params_->BroadcastFromRank0());
  } else {
    std::vector<at::Tensor> tensors;
    for (auto& p : model_->parameters()) tensors.push_back(p.detach());
    for (auto& s : optimizer_->StateTensors()) tensors.push_back(s);
    RETURN_IF_ERROR(collective_->Broadcast(tensors, 0));
  }
  RETURN_IF_ERROR(collective_->Broadcast(counters, 0));
  auto c = counters[0].accessor<int64_t, 1>();
  RestoreCounters(c[0], c[1], c[2]);
  if (unit_path()) {
    params_->set_optimizer_step(c[3]);
  } else {
    optimizer_->set_step(c[3]);
  }
  return absl::OkStatus();
}

int64_t GrpoTrainer::optimizer_step() const {
  return unit_path() ? params_->optimizer_step() : optimizer_->step();
}

absl::StatusOr<RawTensorMap> GrpoTrainer::ExportWeights(DType dtype) {
  if (unit_path()) return params_->ExportWeights(dtype);
  return seamless::ExportWeights(model_, dtype);
}

absl::StatusOr<RawTensorMap> GrpoTrainer::ExportOptimizerState() {
  if (unit_path()) return params_->ExportOptimizerState();
  return optimizer_->ExportState();
}

std::unique_ptr<TensorCursor> GrpoTrainer::OpenWeights() {
  if (unit_path()) return params_->OpenWeights();
  std::vector<std::pair<std::string, at::Tensor>> all;
  for (auto& item : model_->named_parameters()) all.emplace_back(item.key(), item.value());
  return std::make_unique<ListCursor>(std::move(all));
}

std::unique_ptr<TensorCursor> GrpoTrainer::OpenOptimizerState() {
  if (unit_path()) return params_->OpenOptimizerState();
  std::vector<std::pair<std::string, at::Tensor>> all;
  const auto& params = optimizer_->params();
  std::vector<at::Tensor> state = optimizer_->StateTensors();  // exp_avg..., exp_avg_sq...
  for (size_t i = 0; i < params.size(); ++i) {
    all.emplace_back("exp_avg." + params[i].first, state[i]);
    all.emplace_back("exp_avg_sq." + params[i].first, state[params.size() + i]);
  }
  return std::make_unique<ListCursor>(std::move(all));
}

ListCursor::ListCursor(std::vector<std::pair<std::string, at::Tensor>> tensors) {
  std::sort(tensors.begin(), tensors.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [name, t] : tensors) {
    entries_.push_back({name, DType::kF32, t.sizes().vec()});
    tensors_.push_back(t.detach());
  }
}

absl::StatusOr<at::Tensor> ListCursor::Next() {
  if (position_ >= tensors_.size()) return absl::OutOfRangeError("cursor past its last tensor");
  return tensors_[position_++];
}

absl::Status GrpoTrainer::ImportState(const TensorProvider& weights,
                                      const TensorProvider& optimizer, int64_t optimizer_step) {
  if (unit_path()) {
    RETURN_IF_ERROR(params_->ImportWeights(weights));
    return params_->ImportOptimizerState(optimizer, optimizer_step);
  }
  RETURN_IF_ERROR(seamless::ImportWeights(model_, weights, "checkpoint"));
  return optimizer_->ImportState(optimizer, optimizer_step);
}

LearnerMemory GrpoTrainer::memory() const {
  LearnerMemory m;
  if (unit_path()) {
    const ParameterMemory p = params_->memory();
    m.weights = p.weights;
    m.gradients = p.gradients;
    m.optimizer = p.optimizer;
    m.buffers = p.buffers;
    m.activations = unit_forward_->peak_activation_bytes();
    return m;
  }
  for (const auto& p : model_->parameters()) {
    m.weights += int64_t(p.nbytes());
    if (p.grad().defined()) m.gradients += int64_t(p.grad().nbytes());
  }
  for (const auto& s : const_cast<AdamW&>(*optimizer_).StateTensors()) {
    m.optimizer += int64_t(s.nbytes());
  }
  return m;
}

// --- One step, in phases ---

namespace {

void AddGroup(const RolloutGroup& group, const GrpoConfig& g, GrpoBatchPlan* p) {
  std::vector<double> rewards;
  for (const RolloutSequence& s : group.sequences) {
    double r = s.reward;
    p->score_sum += r;
    p->score_max = std::max(p->score_max, r);
    p->score_min = std::min(p->score_min, r);
    if (g.overlong_shaping) {
      r += g.overlong_penalty * OverlongPenalty(int64_t(s.response_ids.size()), g.overlong_max_len,
                                                g.overlong_cache_len);
    }
    p->reward_sum += r;
    rewards.push_back(r);
    p->seqs.push_back(&s);
    const double len = double(s.response_ids.size());
    p->prompt_tokens += double(s.prompt_ids.size());
    p->response_tokens += len;
    p->len_max = std::max(p->len_max, len);
    p->len_min = std::min(p->len_min, len);
  }
  std::vector<double> adv = GroupAdvantages(rewards, g.adv_eps, g.scale_by_std);
  for (size_t i = 0; i < adv.size(); ++i) {
    p->advantage.push_back(adv[i]);
    const double len = double(group.sequences[i].response_ids.size());
    p->adv_token_sum += adv[i] * len;
    if (len > 0) {
      p->adv_max = std::max(p->adv_max, adv[i]);
      p->adv_min = std::min(p->adv_min, adv[i]);
    }
  }
  p->group_end.push_back(int64_t(p->seqs.size()));
}

}  // namespace

std::vector<Range> GrpoTrainer::MicroBatches(const Plan& plan, int64_t lo, int64_t hi) const {
  std::vector<Range> out;
  const int64_t size = config_.micro_batch_size > 0 ? config_.micro_batch_size : hi - lo;
  const int64_t budget = config_.max_tokens_per_micro_batch;
  int64_t begin = lo, longest = 0, packed_tokens = 0;
  for (int64_t i = lo; i < hi; ++i) {
    const int64_t len =
        int64_t(plan.seqs[i]->prompt_ids.size() + plan.seqs[i]->response_ids.size());
    const int64_t n = i - begin + 1;
    const bool over_count = n > std::max<int64_t>(size, 1);
    // Packed rows cost their tokens; padded ones sequences x the longest.
    const int64_t cost = packs() ? packed_tokens + len : n * std::max(longest, len);
    const bool over_tokens = budget > 0 && n > 1 && cost > budget;
    if (over_count || over_tokens) {
      out.emplace_back(begin, i);
      begin = i;
      longest = 0;
      packed_tokens = 0;
    }
    longest = std::max(longest, len);
    packed_tokens += len;
  }
  if (begin < hi) out.emplace_back(begin, hi);
  return out;
}

PackedSequences GrpoTrainer::Pack(const std::vector<const RolloutSequence*>& seqs) const {
  return packs() ? PackSequencesInRow(seqs) : PackSequences(seqs);
}

absl::StatusOr<TokenLogProbs> GrpoTrainer::Forward(const PackedSequences& packed,
                                                   bool with_entropy) {
  if (unit_path()) return unit_forward_->LogProbs(packed, config_.grpo.temperature, with_entropy);
  try {
    return ResponseLogProbs(model_, packed, config_.grpo.temperature, with_entropy);
  } catch (const std::exception& e) {
    return TorchExceptionToStatus(e, "learner forward pass");
  }
}

absl::StatusOr<std::vector<at::Tensor>> GrpoTrainer::BehaviourLogProbs(const Plan& plan,
                                                                       double* diff_sum,
                                                                       double* diff_tokens) {
  const int rank = collective_->rank(), world = collective_->world_size();
  const at::Device device = at::kCPU;
  std::vector<at::Tensor> old_logp(plan.seqs.size());
  if (config_.grpo.old_logprobs != OldLogprobs::kRecompute) {
    for (const auto& [mb_lo, mb_hi] : plan.minibatches) {
      const auto [lo, hi] = Shard(mb_lo, mb_hi, rank, world);
      for (int64_t i = lo; i < hi; ++i) {
        const auto& lp = plan.seqs[i]->behaviour_logprobs;
        if (lp.size() != plan.seqs[i]->response_ids.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat("sequence ", i,
                           " of the batch has no behaviour log-probs; set "
                           "grpo.old_logprobs: recompute or have the rollout record them"));
        }
        old_logp[i] = at::tensor(at::ArrayRef<float>(lp)).to(device);
      }
    }
    return old_logp;
  }
  at::NoGradGuard no_grad;
  for (const auto& [mb_lo, mb_hi] : plan.minibatches) {
    const auto [lo, hi] = Shard(mb_lo, mb_hi, rank, world);
    for (const auto& [a, b] : MicroBatches(plan, lo, hi)) {
      PackedSequences packed = Pack(plan.Subset(a, b));
      // Sharded ranks gather in the forward pass, so they all run it, in the same order.
      ASSIGN_OR_RETURN(TokenLogProbs tl, Forward(packed, false));
      int64_t offset = 0;
      for (int64_t i = a; i < b; ++i) {
        const int64_t n = int64_t(plan.seqs[i]->response_ids.size());
        old_logp[i] = tl.logp.narrow(0, offset, n);
        offset += n;
        if (!plan.seqs[i]->behaviour_logprobs.empty()) {
          at::Tensor rollout = at::tensor(at::ArrayRef<float>(plan.seqs[i]->behaviour_logprobs));
          *diff_sum += (old_logp[i] - rollout).abs().sum().item<double>();
          *diff_tokens += double(n);
        }
      }
    }
  }
  return old_logp;
}

void GrpoTrainer::ZeroGradients() {
  if (unit_path()) {
    params_->ZeroGradients();
    return;
  }
  for (at::Tensor& p : trainable_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
}

PolicyLossInputs GrpoTrainer::LossInputs(const Plan& plan, std::pair<int64_t, int64_t> micro,
                                         const PackedSequences& packed, const TokenLogProbs& tl,
                                         const std::vector<at::Tensor>& old_logp,
                                         int64_t global_tokens, int64_t global_seqs) {
  PolicyLossInputs in;
  in.logp = tl.logp;
  in.entropy = tl.entropy;
  std::vector<at::Tensor> olds;
  std::vector<float> adv_tokens;
  for (int64_t i = micro.first; i < micro.second; ++i) {
    olds.push_back(old_logp[i]);
    adv_tokens.insert(adv_tokens.end(), plan.seqs[i]->response_ids.size(),
                      float(plan.advantage[i]));
  }
  in.old_logp = at::cat(olds);
  in.advantages = at::tensor(at::ArrayRef<float>(adv_tokens));
  in.weights = AggregationWeights(packed.response_lengths, agg_mode_, global_tokens, global_seqs);
  if (reference_) {
    at::NoGradGuard no_grad;
    in.ref_logp = ResponseLogProbs(reference_, packed, config_.grpo.temperature, false).logp;
  }
  return in;
}

absl::Status GrpoTrainer::ForwardBackward(const Plan& plan, size_t m,
                                          const std::vector<at::Tensor>& old_logp,
                                          std::pair<double, double>* diff, MiniBatchSums* sums) {
  const GrpoConfig& g = config_.grpo;
  const int rank = collective_->rank(), world = collective_->world_size();
  const auto [mb_lo, mb_hi] = plan.minibatches[m];
  int64_t global_tokens = 0;
  for (int64_t i = mb_lo; i < mb_hi; ++i) {
    global_tokens += int64_t(plan.seqs[i]->response_ids.size());
  }
  const int64_t global_seqs = mb_hi - mb_lo;
  const auto [lo, hi] = Shard(mb_lo, mb_hi, rank, world);
  std::vector<Range> micro = MicroBatches(plan, lo, hi);
  // Under gradient and full sharding every rank runs as many micro-batches as the busiest.
  size_t rounds = micro.size();
  if (sharding_ == Sharding::kGradients || sharding_ == Sharding::kFull) {
    for (int r = 0; r < world; ++r) {
      const auto [rl, rh] = Shard(mb_lo, mb_hi, r, world);
      rounds = std::max(rounds, MicroBatches(plan, rl, rh).size());
    }
  }
  const bool lock_step =
      rounds > 0 && (sharding_ == Sharding::kGradients || sharding_ == Sharding::kFull);
  for (size_t round = 0; round < rounds; ++round) {
    bool padding = round >= micro.size();
    PackedSequences packed;
    if (!padding) {
      packed = Pack(plan.Subset(micro[round].first, micro[round].second));
      if (packed.targets.numel() == 0) {
        if (!lock_step) continue;
        padding = true;  // a rank in lock step runs every round
      }
    }
    if (padding) packed = Pack({&PaddingSequence()});
    ASSIGN_OR_RETURN(TokenLogProbs tl, Forward(packed, /*with_entropy=*/true));
    if (padding) {
      RETURN_IF_ERROR(RunBackward((tl.logp.sum() * 0.0)));
      continue;
    }
    PolicyLossInputs in =
        LossInputs(plan, micro[round], packed, tl, old_logp, global_tokens, global_seqs);
    if (diff != nullptr) {
      at::NoGradGuard no_grad;
      diff->first += (tl.logp.detach() - in.old_logp).abs().sum().item<double>();
      diff->second += double(tl.logp.numel());
    }
    PolicyLoss loss = ComputePolicyLoss(in, g);
    if (!std::isfinite(loss.sums.pg_loss) || !std::isfinite(loss.loss.item<double>())) {
      sums->v[kLossNonFinite] += 1;  // the update is skipped below
      // Sharded ranks still run the backward (zero-weighted) so that collectives pair up.
      if (lock_step) {
        RETURN_IF_ERROR(RunBackward(tl.logp.sum() * 0.0));
      }
      continue;
    }
    RETURN_IF_ERROR(RunBackward(loss.loss));
    sums->v[kPgLoss] += loss.sums.pg_loss;
    sums->v[kClipped] += loss.sums.clipped;
    sums->v[kClippedLower] += loss.sums.clipped_lower;
    sums->v[kPpoKl] += loss.sums.ppo_kl;
    sums->v[kEntropy] += loss.sums.entropy;
    sums->v[kKl] += loss.sums.kl;
    sums->v[kTokens] += loss.sums.tokens;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> GrpoTrainer::Update(size_t m, const MiniBatchSums& sums, int64_t global_tokens,
                                         double* norm_out, double* lr) {
  const bool non_finite_loss = sums.v[kLossNonFinite] > 0;
  if (!non_finite_loss && sums.v[kTokens] != double(global_tokens)) {
    return absl::InternalError(absl::StrCat(
        "ranks disagree on the batch: ", sums.v[kTokens], " tokens trained, ", global_tokens,
        " in the mini-batch (every rank must be given the same batch)"));
  }
  double norm = 0;
  std::vector<at::Tensor> grads;
  if (unit_path()) {
    RETURN_IF_ERROR(params_->ReduceGradients());
    ASSIGN_OR_RETURN(norm, params_->GradNorm());
  } else {
    // Ranks without tokens still take part in the all-reduce with zeros.
    for (at::Tensor& p : trainable_) {
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
      grads.push_back(p.mutable_grad());
    }
    RETURN_IF_ERROR(AllReduceCoalesced(*collective_, grads));
    if (gradient_hook_) gradient_hook_(grads);
    norm = seamless::GradNorm(grads);
  }
  if (non_finite_loss || !std::isfinite(norm)) {
    ++skipped_total_;
    SLOG(WARNING) << "step " << step_ << " mini-batch " << m << ": non-finite "
                  << (non_finite_loss ? "loss" : "gradient norm")
                  << "; update skipped, weights unchanged (" << skipped_total_
                  << " skipped so far)";
    ZeroGradients();
    return false;
  }
  *lr = LearningRate(config_.optim, optimizer_step());
  if (unit_path()) {
    params_->ClipGradients(norm, config_.optim.max_grad_norm);
    RETURN_IF_ERROR(params_->AdamWStep(config_.optim, *lr));
  } else {
    seamless::ClipGradients(grads, norm, config_.optim.max_grad_norm);
    optimizer_->Step(*lr);
  }
  *norm_out = norm;
  return true;
}

void GrpoTrainer::FillStepMetrics(const Plan& plan, const StepTotals& t, StepOutcome* out) const {
  const double tokens = std::max(t.sums[kTokens], 1.0);
  const double n = double(plan.seqs.size());
  auto& mt = out->metrics;
  mt["actor/pg_loss"] = t.finite_updates ? t.pg_loss_sum / t.finite_updates : 0;
  mt["actor/pg_clipfrac"] = t.sums[kClipped] / tokens;
  mt["actor/pg_clipfrac_lower"] = t.sums[kClippedLower] / tokens;
  mt["actor/ppo_kl"] = t.sums[kPpoKl] / tokens;
  mt["actor/entropy"] = t.sums[kEntropy] / tokens;
  if (reference_) mt["actor/kl_loss"] = t.finite_updates ? t.sums[kKl] / t.finite_updates : 0;
  mt["actor/grad_norm"] = t.finite_updates ? t.grad_norm_sum / t.finite_updates : 0;
  mt["actor/lr"] = t.last_lr;
  mt["actor/updates"] = double(out->updates_applied);
  mt["actor/skipped_updates"] = double(out->updates_skipped);
  mt["actor/skipped_updates_total"] = double(skipped_total_);
  mt["actor/policy_version"] = double(policy_version_);
  mt["critic/score/mean"] = plan.score_sum / n;
  mt["critic/score/max"] = plan.score_max;
  mt["critic/score/min"] = plan.score_min;
  mt["critic/rewards/mean"] = plan.reward_sum / n;
  mt["critic/advantages/mean"] =
      plan.response_tokens > 0 ? plan.adv_token_sum / plan.response_tokens : 0;
  mt["critic/advantages/max"] = plan.adv_max > -1e300 ? plan.adv_max : 0;
  mt["critic/advantages/min"] = plan.adv_min < 1e300 ? plan.adv_min : 0;
  mt["response_length/mean"] = plan.response_tokens / n;
  mt["response_length/max"] = plan.len_max;
  mt["response_length/min"] = plan.len_min;
  mt["prompt_length/mean"] = plan.prompt_tokens / n;
  if (t.diff[1] > 0) mt["training/rollout_logprob_abs_diff_mean"] = t.diff[0] / t.diff[1];
  if (t.old_logprob_s >= 0) mt["timing_s/old_log_prob"] = t.old_logprob_s;
  mt["timing_s/update_actor"] = t.elapsed_s;
  mt["perf/total_num_tokens"] = plan.prompt_tokens + plan.response_tokens;
  // verl: tokens of the batch per second per rank.
  mt["perf/throughput"] =
      (plan.prompt_tokens + plan.response_tokens) / t.elapsed_s / collective_->world_size();
  const LearnerMemory mem = memory();
  mt["perf/memory_weights_bytes"] = double(mem.weights);
  mt["perf/memory_gradients_bytes"] = double(mem.gradients);
  mt["perf/memory_optimizer_bytes"] = double(mem.optimizer);
  mt["perf/memory_activations_bytes"] = double(mem.activations);
  mt["perf/memory_buffers_bytes"] = double(mem.buffers);
}

absl::StatusOr<StepOutcome> GrpoTrainer::Step(const RolloutBatch& batch) {
  const auto start = std::chrono::steady_clock::now();
  const ModelConfig& mc = model_->config();
  RETURN_IF_ERROR(ValidateBatch(batch, mc.vocab_size, mc.max_position_embeddings));
  TrainingNumericsScope numerics;

  Plan plan;
  for (const RolloutGroup& group : batch.groups) AddGroup(group, config_.grpo, &plan);
  const int64_t num_seqs = int64_t(plan.seqs.size());
  if (num_seqs == 0) return absl::InvalidArgumentError("empty training batch");
  const int64_t per = config_.GroupsPerUpdate(int64_t(plan.group_end.size()));
  for (size_t gi = 0; gi < plan.group_end.size(); gi += size_t(per)) {
    const int64_t begin = gi == 0 ? 0 : plan.group_end[gi - 1];
    const int64_t end = plan.group_end[std::min(plan.group_end.size(), gi + size_t(per)) - 1];
    plan.minibatches.emplace_back(begin, end);
  }

  const bool recompute = config_.grpo.old_logprobs == OldLogprobs::kRecompute;
  double diff_sum = 0, diff_tokens = 0;
  const auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(std::vector<at::Tensor> old_logp,
                   BehaviourLogProbs(plan, &diff_sum, &diff_tokens));
  const double old_logprob_s = SecondsSince(t0);

  StepOutcome out;
  std::vector<double> totals(kNumSums, 0.0);
  double pg_loss_sum = 0, grad_norm_sum = 0, last_lr = 0;
  int64_t finite_updates = 0;
  for (int64_t epoch = 0; epoch < std::max<int64_t>(config_.epochs, 1); ++epoch) {
    for (size_t m = 0; m < plan.minibatches.size(); ++m) {
      const auto [mb_lo, mb_hi] = plan.minibatches[m];
      int64_t global_tokens = 0;
      for (int64_t i = mb_lo; i < mb_hi; ++i) {
        global_tokens += int64_t(plan.seqs[i]->response_ids.size());
      }
      // The first mini-batch's forward, before any update, measures the recorded log-probs
      // against the learner's own.
      std::pair<double, double> gap{0, 0};
      const bool measure = !recompute && epoch == 0 && m == 0;
      MiniBatchSums sums;
      ZeroGradients();
      RETURN_IF_ERROR(ForwardBackward(plan, m, old_logp, measure ? &gap : nullptr, &sums));
      diff_sum += gap.first;
      diff_tokens += gap.second;
      RETURN_IF_ERROR(AllReduceDoubles(*collective_, &sums.v));
      double norm = 0;
      ASSIGN_OR_RETURN(bool applied, Update(m, sums, global_tokens, &norm, &last_lr));
      if (!applied) {
        ++out.updates_skipped;
        continue;
      }
      ++out.updates_applied;
      ++finite_updates;
      pg_loss_sum += sums.v[kPgLoss];
      grad_norm_sum += norm;
      for (int k = 0; k < kNumSums; ++k) totals[k] += sums.v[k];
    }
  }
  ZeroGradients();

  std::vector<double> diff{diff_sum, diff_tokens};
  RETURN_IF_ERROR(AllReduceDoubles(*collective_, &diff));
  ++step_;
  if (out.updates_applied > 0) ++policy_version_;
  out.step = step_;
  out.policy_version = policy_version_;

  const double elapsed = SecondsSince(start);
  StepTotals t{totals,
               pg_loss_sum,
               grad_norm_sum,
               last_lr,
               finite_updates,
               diff,
               recompute ? old_logprob_s : -1.0,
               elapsed};
  FillStepMetrics(plan, t, &out);
  return out;
}

}  // namespace seamless
