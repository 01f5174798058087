#include "rollout/continuous_batcher.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "rollout/speculative.h"

namespace seamless {
namespace {

// Independent random streams per generated token, so a sample's tokens depend on its seed and
// the weights only (never on batch composition or on how many tokens a step emitted).
enum Stream : uint64_t { kMainDraw = 0, kDraftDraw = 1, kAcceptDraw = 2, kResampleDraw = 3 };
uint64_t Counter(size_t token_index, Stream stream) { return token_index * 4 + stream; }

}  // namespace

absl::Status EngineOptions::Validate() const {
  if (max_running < 1) return absl::InvalidArgumentError("max_running must be at least 1");
  if (max_len < 0) return absl::InvalidArgumentError("max_len must be >= 0 (0: the model's)");
  if (max_queued_samples < 1) {
    return absl::InvalidArgumentError("max_queued_samples must be at least 1");
  }
  if (prefill_tokens_per_step < 1) {
    return absl::InvalidArgumentError("prefill_tokens_per_step must be at least 1");
  }
  if (kv_cache_tokens < 0) {
    return absl::InvalidArgumentError("kv_cache_tokens must be >= 0 (0: the default pool)");
  }
  if (kv_block_tokens < 1 || kv_block_tokens > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("kv_block_tokens ", kv_block_tokens, " must be in [1, 4096]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ContinuousBatcher>> ContinuousBatcher::Create(
    MimoModel model, const EngineOptions& options, int32_t eos_id, Detokenizer detokenizer) {
  RETURN_IF_ERROR(options.Validate());
  const bool has_mtp = model->config().num_nextn_predict_layers > 0;
  if (options.speculative == Speculative::kOn && !has_mtp) {
    return absl::InvalidArgumentError(
        "speculative decoding is 'on' but the model has no MTP layer (num_nextn_predict_layers 0)");
  }
  try {
    std::unique_ptr<ContinuousBatcher> batcher(
        new ContinuousBatcher(std::move(model), options, eos_id, std::move(detokenizer)));
    if (batcher->max_len_ < 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kv_cache_tokens ", options.kv_cache_tokens, " (", batcher->cache_->num_blocks(),
          " blocks of ", options.kv_block_tokens, ") holds too few tokens for one sequence"));
    }
    return batcher;
  } catch (const c10::Error& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate the KV cache: ", e.what_without_backtrace()));
  }
}

ContinuousBatcher::ContinuousBatcher(MimoModel model, const EngineOptions& options, int32_t eos_id,
                                     Detokenizer detokenizer)
    : model_(std::move(model)),
      options_(options),
      eos_id_(eos_id),
      detokenizer_(std::move(detokenizer)),
      device_(model_->parameters().front().device()) {
  const ModelConfig& config = model_->config();
  vocab_ = config.vocab_size;
  // Two positions of headroom: a speculative step writes [pending, draft] and the MTP layer
  // one padded row past the end (NOTE [MTP pending rows]).
  const int64_t model_limit = config.max_position_embeddings - 2;
  max_len_ = options.max_len > 0 ? std::min(options.max_len, model_limit) : model_limit;
  speculative_ = options.speculative != Speculative::kOff && config.num_nextn_predict_layers > 0;
  model_->eval();
  auto f32 = at::TensorOptions().dtype(at::kFloat).device(device_);
  const int64_t context = max_len_ + 2;
  KvCache::Paging paging;
  // The default (engine_options.h): 4k tokens a slot, and at least one whole context.
  paging.tokens = options.kv_cache_tokens > 0
                      ? options.kv_cache_tokens
                      : std::max(context, options.max_running * std::min<int64_t>(context, 4096));
  paging.block_tokens = options.kv_block_tokens;
  paging.mtp_groups = speculative_ ? 1 : 0;  // decoding uses MTP layer 0 only
  cache_ = std::make_unique<KvCache>(config, options.max_running, context, paging, f32);
  // One sequence always fits the pool alone (NOTE [KV block admission and preemption]).
  context_len_ = max_len_;
  max_len_ = std::min(max_len_, cache_->num_blocks() * cache_->block_tokens() - 2);
  if (speculative_) pending_hidden_ = at::zeros({options.max_running, 2, config.hidden_size}, f32);
  for (int64_t s = options.max_running - 1; s >= 0; --s) free_slots_.push_back(s);
}

int64_t ContinuousBatcher::kv_blocks_used() const {
  int64_t used = 0;
  for (int g = 0; g < cache_->num_groups(); ++g) {
    if (cache_->has_group(g)) used += cache_->used_blocks(g);
  }
  return used;
}

int64_t ContinuousBatcher::kv_blocks_total() const {
  int64_t total = 0;
  for (int g = 0; g < cache_->num_groups(); ++g) {
    if (cache_->has_group(g)) total += cache_->num_blocks();
  }
  return total;
}

absl::Status ContinuousBatcher::Validate(const GroupRequest& r) const {
  const std::string where = absl::StrCat("group '", r.group_id, "': ");
  if (r.group_id.empty()) return absl::InvalidArgumentError("group_id is empty");
  if (r.num_samples < 1 || r.num_samples > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "num_samples ", r.num_samples, " must be in [1, 4096]"));
  }
  if (r.prompt.empty()) return absl::InvalidArgumentError(where + "prompt is empty");
  if (static_cast<int64_t>(r.prompt.size()) >= max_len_) {
    if (max_len_ < context_len_) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "prompt has ", r.prompt.size(), " tokens; the KV cache pool holds ",
          cache_->num_blocks() * cache_->block_tokens(),
          " (kv_cache_tokens: ", cache_->num_blocks(), " blocks of ", cache_->block_tokens(),
          ", 2 kept for a decode step), so a sequence holds at most ", max_len_,
          " and the response needs at least one"));
    }
    return absl::InvalidArgumentError(absl::StrCat(where, "prompt has ", r.prompt.size(),
                                                   " tokens; the context holds ", max_len_,
                                                   " and the response needs at least one"));
  }
  for (size_t i = 0; i < r.prompt.size(); ++i) {
    if (r.prompt[i] < 0 || r.prompt[i] >= vocab_) {
      return absl::InvalidArgumentError(absl::StrCat(where, "prompt token ", i, ": token id ",
                                                     r.prompt[i], " is outside the vocabulary [0, ",
                                                     vocab_, ")"));
    }
  }
  absl::Status sampling = r.sampling.Validate();
  if (!sampling.ok()) return Annotate(sampling, where + "sampling");
  if (!r.stop_strings.empty() && !detokenizer_) {
    return absl::InvalidArgumentError(where +
                                      "stop_strings need a worker started with a tokenizer");
  }
  for (const auto& s : r.stop_strings) {
    if (s.empty()) return absl::InvalidArgumentError(where + "a stop string is empty");
  }
  return absl::OkStatus();
}

absl::Status ContinuousBatcher::Add(GroupRequest request) {
  RETURN_IF_ERROR(Validate(request));
  if (unfinished_.count(request.group_id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("group '", request.group_id, "' is already being generated"));
  }
  if (queued_samples_ + request.num_samples > options_.max_queued_samples) {
    return absl::ResourceExhaustedError(
        absl::StrCat("queue full: ", queued_samples_, " samples waiting (max_queued_samples ",
                     options_.max_queued_samples, "); retry later"));
  }
  queued_samples_ += request.num_samples;
  unfinished_[request.group_id] = request.num_samples;
  auto group = std::make_shared<Group>();
  group->serial = next_serial_++;
  group->request = std::move(request);
  queue_.push_back(std::move(group));
  return absl::OkStatus();
}

float ContinuousBatcher::Logprob(const float* logits, const std::vector<double>& probs,
                                 int32_t token, const SamplingOptions& sampling) const {
  if (sampling.temperature == 0) {  // greedy: report the model's own log-softmax
    const float max_logit = *std::max_element(logits, logits + vocab_);
    double total = 0;
    for (int64_t i = 0; i < vocab_; ++i) total += std::exp(logits[i] - max_logit);
    return static_cast<float>(logits[token] - max_logit - std::log(total));
  }
  return static_cast<float>(std::log(probs[token]));
}

bool ContinuousBatcher::Emit(Sequence& seq, int32_t token, float logprob) {
  RolloutSample& out = seq.out;
  out.tokens.push_back(token);
  out.logprobs.push_back(logprob);
  out.versions.push_back(version_);
  seq.last_token = token;
  ++stats_.generated_tokens;
  const auto& stops = seq.sampling.stop_token_ids;
  if (token == eos_id_ || std::find(stops.begin(), stops.end(), token) != stops.end()) {
    out.finish = Finish::kStop;
    return true;
  }
  const auto& stop_strings = seq.group->request.stop_strings;
  if (!stop_strings.empty()) {
    // Only a stop string that ends in this token is new, and every token is at least one
    // byte: decoding the last (longest stop string) tokens finds it without re-decoding the
    // whole response at every step.
    size_t longest = 0;
    for (const auto& s : stop_strings) longest = std::max(longest, s.size());
    const size_t window = std::min(out.tokens.size(), longest);
    const std::string text = detokenizer_(std::vector<int32_t>(
        out.tokens.end() - static_cast<std::ptrdiff_t>(window), out.tokens.end()));
    for (const auto& s : stop_strings) {
      if (text.find(s) != std::string::npos) {
        out.finish = Finish::kStop;
        return true;
      }
    }
  }
  if (static_cast<int64_t>(out.tokens.size()) >= seq.sampling.max_new_tokens ||
      static_cast<int64_t>(out.prompt.size() + out.tokens.size()) >= max_len_) {
    out.finish = Finish::kLength;
    return true;
  }
  return false;
}

void ContinuousBatcher::Release(Sequence& seq, Finish reason, std::vector<RolloutSample>* out) {
  seq.out.finish = reason;
  cache_->Reset(seq.slot);
  free_slots_.push_back(seq.slot);
  if (reason == Finish::kAborted) {
    ++stats_.aborted_samples;
    stats_.aborted_tokens += static_cast<int64_t>(seq.out.tokens.size());
  } else {
    ++stats_.completed_samples;
  }
  auto it = unfinished_.find(seq.out.group_id);
  if (it != unfinished_.end() && --it->second == 0) unfinished_.erase(it);
  out->push_back(std::move(seq.out));
}

void ContinuousBatcher::Prefill(Group& group, int64_t slot) {
  const auto& prompt = group.request.prompt;
  const int64_t n = static_cast<int64_t>(prompt.size());
  at::Tensor ids = at::tensor(std::vector<int64_t>(prompt.begin(), prompt.end()), at::kLong)
                       .view({1, n})
                       .to(device_);
  at::Tensor hidden = model_->HiddenIncremental(ids, *cache_, {slot});  // [1, n, H]
  at::Tensor last = hidden.select(1, n - 1);                            // [1, H]
  at::Tensor logits = model_->Logits(last).to(at::kCPU).contiguous();
  group.prompt_logits.assign(logits.data_ptr<float>(), logits.data_ptr<float>() + vocab_);
  if (speculative_) {
    if (n >= 2) {
      model_->MtpHiddenIncremental(0, hidden.narrow(1, 0, n - 1), ids.narrow(1, 1, n - 1), *cache_,
                                   {slot});
    }
    group.prompt_last_hidden = last.squeeze(0).clone();
  }
  ReleasePrefix(group);
  if (options_.share_prefill) group.prefix = cache_->Retain(slot);
  group.prefilled = true;
  stats_.prompt_tokens += n;
}

bool ContinuousBatcher::FitsBlocks(int64_t slot, int64_t n, int64_t growth) const {
  if (cache_->BlocksNeeded(0, slot, n + growth) > cache_->free_blocks(0)) return false;
  // The MTP layer's sequence lags by one token (mimo_model.h).
  return !speculative_ || cache_->BlocksNeeded(1, slot, n - 1 + growth) <= cache_->free_blocks(1);
}

void ContinuousBatcher::ReleasePrefix(Group& group) {
  if (!group.prefix.empty()) cache_->Release(&group.prefix);
  if (options_.share_prefill) group.prefilled = false;
}

bool ContinuousBatcher::ReleaseQueuedPrefixes() {
  bool released = false;
  for (auto& group : queue_) {
    released |= !group->prefix.empty();
    ReleasePrefix(*group);
  }
  return released;
}

void ContinuousBatcher::PopQueueFront() {
  Group& group = *queue_.front();
  ReleasePrefix(group);
  group.in_queue = false;
  queue_.pop_front();
}

void ContinuousBatcher::Admit(std::vector<RolloutSample>* finished) {
  if (!options_.continuous && !running_.empty()) return;  // static batching baseline
  int64_t budget = options_.prefill_tokens_per_step;
  while (!queue_.empty() && !free_slots_.empty()) {
    std::shared_ptr<Group> group = queue_.front();
    GroupRequest& request = group->request;
    const bool requeued = !group->requeued.empty();
    const int32_t index = requeued ? group->requeued.front() : group->next_index;
    if (!requeued && index >= request.num_samples) {
      PopQueueFront();
      continue;
    }
    if (!requeued && group->aborted_indices.count(index)) {  // already returned as aborted
      ++group->next_index;
      continue;
    }
    const int64_t n = static_cast<int64_t>(request.prompt.size());
    const bool share = options_.share_prefill && group->prefilled;
    // Keep decode moving: past the budget, prefill only when nothing else runs.
    if (!share && budget <= 0 && !running_.empty()) break;
    const int64_t slot = free_slots_.back();
    if (share) cache_->Attach(slot, group->prefix);
    // NOTE [KV block admission and preemption]
    const int64_t growth = running_.empty() ? 2 : std::max<int64_t>(2, cache_->block_tokens());
    if (!FitsBlocks(slot, n, growth)) {
      cache_->Reset(slot);
      if (!running_.empty()) break;  // running sequences will return blocks
      // Nothing runs: only kept prompt blocks can be in the way, and without them a lone
      // sequence fits (the constructor's cap).
      TORCH_CHECK(ReleaseQueuedPrefixes(), "KV cache: a prompt of ", n,
                  " tokens does not fit an idle pool of ", cache_->num_blocks(), " blocks");
      continue;
    }
    free_slots_.pop_back();
    if (share) {
      stats_.shared_prefix_tokens += n;
    } else {
      Prefill(*group, slot);
      budget -= n;
    }
    if (requeued) {
      group->requeued.pop_front();
    } else {
      ++group->next_index;
    }
    --queued_samples_;
    // The last sample started: the kept prompt blocks are not needed any more.
    if (group->requeued.empty() && group->next_index >= request.num_samples) PopQueueFront();

    Sequence seq;
    seq.group = group;
    seq.slot = slot;
    seq.admitted = next_admission_++;
    seq.sampling = request.sampling;
    seq.sampling.seed = MixSeed(request.sampling.seed, index);
    seq.out.request_id = RequestId(request.group_id, index);
    seq.out.group_id = request.group_id;
    seq.out.index_in_group = index;
    seq.out.launch_seq = request.launch_seq;
    seq.out.prompt = request.prompt;

    const float* logits = group->prompt_logits.data();
    SampledToken first = sampler_.Sample(logits, vocab_, seq.sampling, Counter(0, kMainDraw));
    if (speculative_) {
      seq.pending_rows = 1;
      seq.pending_tokens[0] = first.id;
      pending_hidden_.select(0, slot).select(0, 0).copy_(group->prompt_last_hidden);
    }
    if (Emit(seq, first.id, first.logprob)) {
      Release(seq, seq.out.finish, finished);
    } else {
      running_.push_back(std::move(seq));
    }
  }
}

bool ContinuousBatcher::ReserveStep(const Sequence& seq) {
  // Plain decoding writes one main entry; a speculative step writes [pending, draft] in the
  // main stack and two (one maybe padding) MTP rows (NOTE [MTP pending rows]).
  const int64_t main = cache_->length(0, seq.slot) + (speculative_ ? 2 : 1);
  if (!cache_->Reserve(0, seq.slot, main)) return false;
  return !speculative_ || cache_->Reserve(1, seq.slot, cache_->length(1, seq.slot) + 2);
}

void ContinuousBatcher::Preempt(Sequence& seq) {
  seq.preempted = true;
  ++preempted_samples_;
  preempted_tokens_ += static_cast<int64_t>(seq.out.tokens.size());
  cache_->Reset(seq.slot);
  free_slots_.push_back(seq.slot);
  Group& group = *seq.group;
  group.requeued.push_back(seq.out.index_in_group);
  ++queued_samples_;
  if (!group.in_queue) {
    group.in_queue = true;
    queue_.push_front(seq.group);
  }
}

void ContinuousBatcher::ReserveDecodeBlocks() {
  // NOTE [KV block admission and preemption]
  std::vector<Sequence*> by_age;
  for (Sequence& seq : running_) by_age.push_back(&seq);
  std::sort(by_age.begin(), by_age.end(),
            [](const Sequence* a, const Sequence* b) { return a->admitted < b->admitted; });
  size_t end = by_age.size();  // by_age[0, end) still run
  for (size_t i = 0; i < end; ++i) {
    while (!ReserveStep(*by_age[i])) {
      if (ReleaseQueuedPrefixes()) continue;
      TORCH_CHECK(end > 1, "KV cache: one sequence of ", cache_->length(0, by_age[i]->slot),
                  " tokens does not fit a pool of ", cache_->num_blocks(), " blocks");
      Preempt(*by_age[--end]);
      if (end == i) break;  // it was the newest itself
    }
  }
  if (end == by_age.size()) return;
  std::vector<Sequence> still;
  for (Sequence& seq : running_) {
    if (!seq.preempted) still.push_back(std::move(seq));
  }
  running_.swap(still);
}

void ContinuousBatcher::DecodePlain(std::vector<RolloutSample>* finished) {
  const int64_t batch = static_cast<int64_t>(running_.size());
  std::vector<int64_t> slots(batch), last(batch);
  for (int64_t b = 0; b < batch; ++b) {
    slots[b] = running_[b].slot;
    last[b] = running_[b].last_token;
  }
  at::Tensor ids = at::tensor(last, at::kLong).view({batch, 1}).to(device_);
  at::Tensor hidden = model_->HiddenIncremental(ids, *cache_, slots);
  at::Tensor logits = model_->Logits(hidden.squeeze(1)).to(at::kCPU).contiguous();
  const float* all = logits.data_ptr<float>();
  std::vector<Sequence> still;
  for (int64_t b = 0; b < batch; ++b) {
    Sequence& seq = running_[b];
    SampledToken t = sampler_.Sample(all + b * vocab_, vocab_, seq.sampling,
                                     Counter(seq.out.tokens.size(), kMainDraw));
    if (Emit(seq, t.id, t.logprob)) {
      Release(seq, seq.out.finish, finished);
    } else {
      still.push_back(std::move(seq));
    }
  }
  running_.swap(still);
}

void ContinuousBatcher::DecodeSpeculative(std::vector<RolloutSample>* finished) {
  const int64_t batch = static_cast<int64_t>(running_.size());
  std::vector<int64_t> slots(batch), pad_tokens(batch * 2), pick(batch);
  for (int64_t b = 0; b < batch; ++b) {
    const Sequence& seq = running_[b];
    slots[b] = seq.slot;
    pad_tokens[2 * b] = seq.pending_tokens[0];
    pad_tokens[2 * b + 1] = seq.pending_rows == 2 ? seq.pending_tokens[1] : seq.pending_tokens[0];
    pick[b] = 2 * b + seq.pending_rows - 1;
  }
  auto i64 = at::TensorOptions().dtype(at::kLong);
  at::Tensor slot_index = at::tensor(slots, i64).to(device_);

  // 1. Draft: feed the pending (hidden, token) rows to the MTP layer; its output at the last
  //    real row predicts the token after the pending one.
  at::Tensor mtp_in = pending_hidden_.index_select(0, slot_index);  // [B, 2, H]
  at::Tensor mtp_ids = at::tensor(pad_tokens, i64).view({batch, 2}).to(device_);
  at::Tensor mtp_out = model_->MtpHiddenIncremental(0, mtp_in, mtp_ids, *cache_, slots);
  for (const Sequence& seq : running_) {
    if (seq.pending_rows == 1) cache_->set_length(1, seq.slot, cache_->length(1, seq.slot) - 1);
  }
  at::Tensor picked =
      mtp_out.reshape({batch * 2, -1}).index_select(0, at::tensor(pick, i64).to(device_));
  at::Tensor draft_logits = model_->Logits(picked).to(at::kCPU).contiguous();
  const float* dl = draft_logits.data_ptr<float>();
  drafts_.resize(batch);
  std::vector<int64_t> verify(batch * 2);
  for (int64_t b = 0; b < batch; ++b) {
    Sequence& seq = running_[b];
    sampler_.Distribution(dl + b * vocab_, vocab_, seq.sampling, &drafts_[b]);
    const size_t j = seq.out.tokens.size();
    const int32_t draft =
        DrawFromDistribution(drafts_[b], CounterUniform(seq.sampling.seed, Counter(j, kDraftDraw)));
    verify[2 * b] = seq.last_token;
    verify[2 * b + 1] = draft;
  }

  // 2. Verify: one main forward over [pending, draft] gives the target distributions for the
  //    draft's position and for the bonus token after it.
  at::Tensor ids = at::tensor(verify, i64).view({batch, 2}).to(device_);
  at::Tensor hidden = model_->HiddenIncremental(ids, *cache_, slots);  // [B, 2, H]
  at::Tensor logits = model_->Logits(hidden).to(at::kCPU).contiguous();
  pending_hidden_.index_copy_(0, slot_index, hidden);
  const float* all = logits.data_ptr<float>();

  std::vector<Sequence> still;
  for (int64_t b = 0; b < batch; ++b) {
    Sequence& seq = running_[b];
    const float* at_draft = all + (2 * b) * vocab_;
    const float* after_draft = all + (2 * b + 1) * vocab_;
    const size_t j = seq.out.tokens.size();
    const int32_t draft = static_cast<int32_t>(verify[2 * b + 1]);
    sampler_.Distribution(at_draft, vocab_, seq.sampling, &target_);
    DraftVerdict verdict = VerifyDraft(
        target_, drafts_[b], draft, CounterUniform(seq.sampling.seed, Counter(j, kAcceptDraw)),
        CounterUniform(seq.sampling.seed, Counter(j, kResampleDraw)), &scratch_);
    ++stats_.draft_tokens;
    if (verdict.accepted) ++stats_.accepted_tokens;
    bool done = Emit(seq, verdict.token, Logprob(at_draft, target_, verdict.token, seq.sampling));
    if (!done && verdict.accepted) {
      SampledToken bonus =
          sampler_.Sample(after_draft, vocab_, seq.sampling, Counter(j + 1, kMainDraw));
      done = Emit(seq, bonus.id, bonus.logprob);
      seq.pending_rows = 2;
      seq.pending_tokens[0] = draft;
      seq.pending_tokens[1] = bonus.id;
    } else if (!done) {
      cache_->set_length(0, seq.slot, cache_->length(0, seq.slot) - 1);  // drop the draft's KV
      seq.pending_rows = 1;
      seq.pending_tokens[0] = verdict.token;
    }
    if (done) {
      Release(seq, seq.out.finish, finished);
    } else {
      still.push_back(std::move(seq));
    }
  }
  running_.swap(still);
}

absl::Status ContinuousBatcher::Step(std::vector<RolloutSample>* finished) {
  try {
    c10::InferenceMode inference;
    Admit(finished);
    if (running_.empty()) return absl::OkStatus();
    ReserveDecodeBlocks();
    if (speculative_) {
      DecodeSpeculative(finished);
    } else {
      DecodePlain(finished);
    }
    ++stats_.decode_steps;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("decode step failed: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

AbortCounts ContinuousBatcher::Abort(const AbortSpec& spec, std::vector<RolloutSample>* aborted) {
  const std::set<std::string> groups(spec.group_ids.begin(), spec.group_ids.end());
  const std::set<std::string> requests(spec.request_ids.begin(), spec.request_ids.end());
  auto group_selected = [&](const GroupRequest& r) {
    return groups.count(r.group_id) || (spec.by_launch_seq && r.launch_seq > spec.launched_after);
  };
  AbortCounts counts;
  std::set<std::string> touched;
  auto note = [&](const std::string& group_id) {
    ++counts.samples;
    touched.insert(group_id);
  };
  // Running sequences: return what they have, free the slot now.
  std::vector<Sequence> still;
  for (Sequence& seq : running_) {
    if (group_selected(seq.group->request) || requests.count(seq.out.request_id)) {
      note(seq.out.group_id);
      Release(seq, Finish::kAborted, aborted);
    } else {
      still.push_back(std::move(seq));
    }
  }
  running_.swap(still);
  // Queued samples: return them empty, so the caller accounts for every sample it asked for.
  std::deque<std::shared_ptr<Group>> kept;
  for (auto& group : queue_) {
    const GroupRequest& r = group->request;
    const bool whole = group_selected(r);
    auto abort_queued = [&](int32_t i) {
      RolloutSample sample;
      sample.request_id = RequestId(r.group_id, i);
      sample.group_id = r.group_id;
      sample.index_in_group = i;
      sample.launch_seq = r.launch_seq;
      sample.prompt = r.prompt;
      sample.finish = Finish::kAborted;
      aborted->push_back(std::move(sample));
      --queued_samples_;
      ++stats_.aborted_samples;
      note(r.group_id);
      auto it = unfinished_.find(r.group_id);
      if (it != unfinished_.end() && --it->second == 0) unfinished_.erase(it);
    };
    std::deque<int32_t> requeued;  // preempted samples waiting to restart
    for (int32_t i : group->requeued) {
      if (whole || requests.count(RequestId(r.group_id, i))) {
        abort_queued(i);
      } else {
        requeued.push_back(i);
      }
    }
    group->requeued.swap(requeued);
    for (int32_t i = group->next_index; i < r.num_samples; ++i) {
      if (group->aborted_indices.count(i)) continue;
      if (!whole && !requests.count(RequestId(r.group_id, i))) continue;
      group->aborted_indices.insert(i);
      abort_queued(i);
    }
    const int32_t left =
        static_cast<int32_t>(group->requeued.size()) + r.num_samples - group->next_index -
        static_cast<int32_t>(std::count_if(group->aborted_indices.begin(),
                                           group->aborted_indices.end(),
                                           [&](int32_t i) { return i >= group->next_index; }));
    if (left > 0) {
      kept.push_back(group);
    } else {
      ReleasePrefix(*group);
      group->in_queue = false;
    }
  }
  queue_.swap(kept);
  counts.groups = static_cast<int32_t>(touched.size());
  return counts;
}

void ContinuousBatcher::ApplyWeights(PreparedWeights& weights, int64_t version) {
  ApplyPreparedWeights(weights);
  version_ = version;
  // Samples not yet started get the new weights' prompt pass, not a copy of the old one.
  for (auto& group : queue_) {
    ReleasePrefix(*group);
    group->prefilled = false;
  }
}

}  // namespace seamless
