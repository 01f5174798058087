#include "scheduler/train_plan.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/base/file_util.h"
#include "core/base/json_limits.h"
#include "core/base/process_memory.h"
#include "core/base/status_macros.h"
#include "core/model/capacity_plan.h"
#include "core/tokenizer/char_tokenizer.h"
#include "nlohmann/json.hpp"
#include "scheduler/prompt_dataset.h"

namespace seamless {
namespace {

// Fixed per-process figures, not derived: a rollout worker's LibTorch and OpenBLAS runtime,
// gRPC threads and allocator slack (a 0.5B worker measures 0.35 GiB beyond its weights and KV
// cache once listening; the learner's is LearnerPlanOptions::runtime_overhead_bytes), a reward
// server, and the scheduler's tokenizer and prompts.
constexpr uint64_t kTorchProcessBytes = 400ull << 20;
constexpr uint64_t kRewardServerBytes = 200ull << 20;
constexpr uint64_t kSchedulerBytes = 300ull << 20;

std::string Gib(uint64_t bytes) { return absl::StrFormat("%.1f GiB", bytes / kGiB); }

}  // namespace

absl::StatusOr<ModelConfig> ReadTrainModelConfig(const std::string& model) {
  if (model.empty() || model == "default") {
    ModelConfig c;  // as DefaultModelConfig() (default_model.h, which needs LibTorch)
    c.vocab_size = CharTokenizer().vocab_size();
    c.bos_token_id = CharTokenizer::kBos;
    c.eos_token_id = CharTokenizer::kEos;
    return c;
  }
  const std::string path = model + "/config.json";
  if (!FileExists(path)) {
    return absl::NotFoundError(absl::StrCat("model ", model,
                                            ": no config.json (expected a "
                                            "Hugging Face model directory or 'default')"));
  }
  return ReadHfConfig(path);
}

int64_t RolloutKvTokens(const RolloutWorkerConfig& rollout, const ModelConfig& model) {
  const EngineOptions& e = rollout.engine;
  const int64_t limit = model.max_position_embeddings - 2;
  const int64_t context = (e.max_len > 0 ? std::min(e.max_len, limit) : limit) + 2;
  const int64_t tokens = e.kv_cache_tokens > 0
                             ? e.kv_cache_tokens
                             : std::max(context, e.max_running * std::min<int64_t>(context, 4096));
  const int64_t block = std::max<int64_t>(1, e.kv_block_tokens);
  return (tokens + block - 1) / block * block;
}

int64_t RolloutSequenceLimit(const RolloutWorkerConfig& rollout, const ModelConfig& model) {
  const EngineOptions& e = rollout.engine;
  const int64_t limit = model.max_position_embeddings - 2;
  const int64_t max_len = e.max_len > 0 ? std::min(e.max_len, limit) : limit;
  return std::min(max_len, RolloutKvTokens(rollout, model) - 2);
}

namespace {

absl::Status CheckIds(const std::vector<int32_t>& ids, int64_t vocab_size,
                      const std::string& where) {
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": token id ", id, " is outside the model's vocabulary [0, ", vocab_size - 1,
          "] (config.json vocab_size ", vocab_size, "): the tokenizer does not match the model"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DataFit> CheckPromptData(const std::string& path, const Tokenizer& tokenizer,
                                        int64_t vocab_size, int64_t sequence_limit,
                                        int64_t max_new_tokens) {
  ASSIGN_OR_RETURN(PromptDataset data, LoadPromptDataset(path));
  DataFit fit;
  fit.records = static_cast<int64_t>(data.records.size());
  if (fit.records == 0) return absl::InvalidArgumentError(path + ": no prompts");
  ChatOptions chat;  // as the scheduler renders them (scheduler_main.cc)
  for (const PromptRecord& r : data.records) {
    const std::string where = absl::StrCat(path, ":", r.line);
    ASSIGN_OR_RETURN(std::string text, RenderPrompt(tokenizer, r.prompt, chat, where));
    auto ids = tokenizer.Encode(text);
    if (!ids.ok()) return Annotate(ids.status(), where + ": prompt");
    RETURN_IF_ERROR(CheckIds(*ids, vocab_size, where + ": prompt"));
    const int64_t n = static_cast<int64_t>(ids->size());
    if (n + max_new_tokens > sequence_limit) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": the prompt is ", n, " tokens with the model's tokenizer; with ",
                       "scheduler.sampling.max_new_tokens ", max_new_tokens, " that exceeds the ",
                       sequence_limit, " tokens a rollout sequence may hold (the model's context, ",
                       "rollout.max_len and rollout.kv_cache_tokens, less 2)"));
    }
    fit.longest = std::max(fit.longest, n);
  }
  return fit;
}

absl::StatusOr<DataFit> CheckSftData(const std::string& path, const Tokenizer& tokenizer,
                                     int64_t vocab_size, int64_t context) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  DataFit fit;
  int64_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const std::string where = absl::StrCat(path, ":", line_no);
    RETURN_IF_ERROR(Annotate(CheckJsonLimits(line), where));
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("prompt") || !j["prompt"].is_string() ||
        !j.contains("response") || !j["response"].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected {\"prompt\": string, \"response\": string}"));
    }
    int64_t n = 1;  // EOS
    for (const char* field : {"prompt", "response"}) {
      auto ids = tokenizer.Encode(j[field].get<std::string>());
      if (!ids.ok()) return Annotate(ids.status(), absl::StrCat(where, ": ", field));
      RETURN_IF_ERROR(CheckIds(*ids, vocab_size, absl::StrCat(where, ": ", field)));
      n += static_cast<int64_t>(ids->size());
    }
    if (n > context) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": prompt and response are ", n,
                                                     " tokens with the model's tokenizer (EOS "
                                                     "included), more than the model's context of ",
                                                     context));
    }
    fit.longest = std::max(fit.longest, n);
    ++fit.records;
  }
  if (fit.records == 0) return absl::InvalidArgumentError(path + ": no examples");
  return fit;
}

uint64_t TrainMemoryPlan::total() const {
  uint64_t t = 0;
  for (const Role& r : roles) t += r.bytes * static_cast<uint64_t>(r.count);
  return std::max(t, sft_bytes);
}

std::string TrainMemoryPlan::Describe() const {
  std::string out;
  for (const Role& r : roles) {
    absl::StrAppend(
        &out, absl::StrFormat("  %d x %s: %s each (%s)\n", r.count, r.name, Gib(r.bytes), r.why));
  }
  if (sft_bytes > 0)
    absl::StrAppend(&out, "  SFT warm start (alone, before): ", Gib(sft_bytes), "\n");
  return out;
}

namespace {

LearnerPlanOptions LearnerOptions(const TrainConfig& c, const ModelConfig& model,
                                  int64_t longest_prompt) {
  const TrainerConfig& t = c.learner.trainer;
  LearnerPlanOptions o;
  o.ranks = c.learner_ranks;
  o.sharding = t.sharding;
  o.precision = t.precision;
  const int64_t response = c.scheduler.sampling.max_new_tokens;
  const int64_t seq = std::min<int64_t>(longest_prompt + response, model.max_position_embeddings);
  const int64_t group_seqs = t.GroupsPerUpdate(c.scheduler.batch_groups) * c.scheduler.group_size;
  const int64_t rank_seqs = std::max<int64_t>(1, (group_seqs + o.ranks - 1) / o.ranks);
  int64_t seqs = t.micro_batch_size > 0 ? std::min(t.micro_batch_size, rank_seqs) : rank_seqs;
  if (t.max_tokens_per_micro_batch > 0) {
    seqs = std::min(seqs,
                    std::max<int64_t>(1, t.max_tokens_per_micro_batch / std::max<int64_t>(1, seq)));
  }
  o.tokens_per_micro_batch = std::max<int64_t>(1, seqs * seq);
  o.logit_tokens_per_micro_batch = seqs * std::min(response, seq);
  o.seq_len = seq;
  o.freeze_mtp = t.freeze_mtp;
  return o;
}

}  // namespace

TrainMemoryPlan PlanTrainMemory(const TrainConfig& c, const ModelConfig& model,
                                int64_t longest_prompt, int64_t longest_sft, bool resuming) {
  TrainMemoryPlan plan;
  plan.longest_prompt = longest_prompt;
  const uint64_t params = static_cast<uint64_t>(model.ParameterCount());
  // Learner ranks.
  {
    TrainMemoryPlan::Role r;
    r.name = "learner rank";
    r.count = c.learner_ranks;
    if (c.learner.device == "cpu") {
      const LearnerMemoryPlan l =
          EstimateLearnerMemory(model, LearnerOptions(c, model, longest_prompt));
      r.bytes = l.total();  // its runtime (LibTorch, Gloo, allocator slack) included
      r.why = absl::StrFormat(
          "sharding %s over %d, %s: %.1f B/param state + %s activations and "
          "buffers + %s runtime",
          EnumToString(c.learner.trainer.sharding), c.learner_ranks,
          EnumToString(c.learner.trainer.precision),
          double(l.weights + l.compute_weights + l.gradients + l.optimizer) /
              std::max<uint64_t>(1, params),
          Gib(l.activations + l.buffers), Gib(l.runtime));
      if (resuming) {
        // The checkpoint is imported a tensor at a time (core/tensors/safetensors_file_reader.h):
        // the largest, fp32, is held once, beside the rank's state.
        const uint64_t largest =
            static_cast<uint64_t>(model.hidden_size) *
            static_cast<uint64_t>(std::max(model.vocab_size, model.intermediate_size)) * 4;
        r.bytes += largest;
        absl::StrAppend(&r.why, " + ", Gib(largest), " one checkpoint tensor while resuming");
      }
    } else {
      // On a GPU only the model's host copy before it moves there counts here.
      r.bytes = params * 4 + kTorchProcessBytes;
      r.why = absl::StrCat("on ", c.learner.device, ": the fp32 host copy while loading");
    }
    plan.roles.push_back(r);
  }
  // Rollout workers: fp32 weights on CPU (4 B/param) and their KV pool in fp32.
  {
    TrainMemoryPlan::Role r;
    r.name = "rollout worker";
    r.count = c.rollout_workers;
    RolloutPlanOptions ro;
    ro.weight_bytes = 4;
    ro.kv_bytes = 4;
    ro.runtime_overhead_bytes = kTorchProcessBytes;
    const RolloutMemoryPlan p = EstimateRolloutMemory(model, ro, ~0ull >> 2);
    const int64_t kv_tokens = RolloutKvTokens(c.rollout, model);
    // Speculative decoding keeps the MTP layer's cache too; without MTP only the main stack.
    const bool mtp =
        model.num_nextn_predict_layers > 0 && c.rollout.engine.speculative != Speculative::kOff;
    const uint64_t per_token =
        p.kv_bytes_per_token /
        static_cast<uint64_t>(model.num_hidden_layers + model.num_nextn_predict_layers) *
        static_cast<uint64_t>(model.num_hidden_layers + (mtp ? 1 : 0));
    const uint64_t kv = static_cast<uint64_t>(kv_tokens) * per_token;
    const uint64_t logits = static_cast<uint64_t>(c.rollout.engine.max_running) *
                            static_cast<uint64_t>(model.vocab_size) * 4 * 2;
    // A worker decodes each weight stream into a spare fp32 set of its parameters and swaps
    // it in (rollout/staged_parameters.h): a second copy of the weights, whatever the wire
    // dtype. Its q|k|v and gate|up lie end to end, so the fused GEMMs read the parameters
    // in place (MimoModel::PackFusedProjections): no copies beside them.
    if (c.rollout.device == "cpu") {
      r.bytes = 2 * p.weights + kv + logits + kTorchProcessBytes;
      r.why = absl::StrFormat(
          "%s fp32 weights + %s spare fp32 set the next version streams into + KV cache %d "
          "tokens x %d B = %s + %s runtime",
          Gib(p.weights), Gib(p.weights), kv_tokens, per_token, Gib(kv),
          Gib(kTorchProcessBytes + logits));
    } else {
      r.bytes = p.weights + kTorchProcessBytes;
      r.why = absl::StrCat("on ", c.rollout.device, ": the fp32 host copy while loading");
    }
    plan.roles.push_back(r);
  }
  plan.roles.push_back(
      {"reward server", c.reward_servers, kRewardServerBytes, "verifier workers and queue"});
  plan.roles.push_back({"scheduler", 1, kSchedulerBytes, "tokenizer, prompts and ledger"});
  if (c.sft.steps > 0 && longest_sft > 0) {
    LearnerPlanOptions so;
    so.tokens_per_micro_batch = c.sft.batch_size * longest_sft;
    so.seq_len = longest_sft;
    so.freeze_mtp = false;
    so.activation_checkpointing = false;  // SftTrainer keeps every layer's activations
    plan.sft_bytes = EstimateLearnerMemory(model, so).total();
  }
  return plan;
}

absl::Status CheckTrainFits(const TrainConfig& c, const ModelConfig& model,
                            const TrainMemoryPlan& plan, uint64_t available,
                            const std::string& what) {
  if (available == 0) return absl::OkStatus();  // no /proc/meminfo: nothing to check against
  uint64_t others = 0;
  for (const auto& r : plan.roles) {
    if (r.name != "learner rank") others += r.bytes * static_cast<uint64_t>(r.count);
  }
  const auto& worker = plan.roles[1];
  if (others > available) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s: the rollout workers, reward servers and scheduler alone need %s, %s available "
        "(MemAvailable): %d rollout worker(s) x %s (%s); try fewer rollout_workers, a smaller "
        "rollout.kv_cache_tokens or rollout.device: cuda",
        what, Gib(others), Gib(available), worker.count, Gib(worker.bytes), worker.why));
  }
  if (plan.sft_bytes > available) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("%s: the SFT warm start needs %s (one rank, unsharded fp32), %s available "
                        "(MemAvailable); try sft.steps: 0 or a smaller sft.batch_size",
                        what, Gib(plan.sft_bytes), Gib(available)));
  }
  if (c.learner.device != "cpu") return absl::OkStatus();
  // What is left for each learner rank (CheckLearnerFits counts its runtime too).
  const uint64_t per_rank = (available - others) / static_cast<uint64_t>(c.learner_ranks);
  absl::Status fits =
      CheckLearnerFits(model, LearnerOptions(c, model, plan.longest_prompt), per_rank, what);
  if (fits.ok()) return fits;
  return absl::ResourceExhaustedError(absl::StrFormat(
      "%s (MemAvailable %s; %d rollout worker(s) x %s (%s; fewer workers or a smaller "
      "rollout.kv_cache_tokens leave more), reward and scheduler %s leave %s for %d learner "
      "rank(s); refused before loading the model)",
      fits.message(), Gib(available), worker.count, Gib(worker.bytes), worker.why,
      Gib(others - worker.bytes * static_cast<uint64_t>(worker.count)), Gib(available - others),
      c.learner_ranks));
}

uint64_t MemAvailableBytes() { return MachineAvailableBytes(); }

}  // namespace seamless
