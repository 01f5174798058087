// seamless plan: memory per rank, by component, for the learner and the rollout workers of a
// model on a given set of GPUs, and whether the run fits. The arithmetic is
// core/model/capacity_plan.h; this file chooses the split and prints it.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/status_macros.h"
#include "core/model/capacity_plan.h"
#include "core/model/published_models.h"
#include "nlohmann/json.hpp"
#include "tools/subcommand.h"

namespace seamless {
namespace {

double Gib(uint64_t bytes) { return bytes / kGiB; }
double Round3(double x) { return std::round(x * 1000) / 1000; }

void PrintItems(const std::vector<MemoryItem>& items) {
  for (const MemoryItem& item : items) {
    std::printf("  %-13s %9.2f GiB  = %s\n", item.name.c_str(), Gib(item.bytes), item.why.c_str());
  }
}

nlohmann::json ItemsJson(const std::vector<MemoryItem>& items) {
  nlohmann::json j = nlohmann::json::object();
  for (const MemoryItem& item : items) {
    std::string key = item.name;
    for (char& ch : key)
      if (ch == ' ') ch = '_';
    j[key + "_gib"] = Round3(Gib(item.bytes));
  }
  return j;
}

absl::StatusOr<int64_t> KvBytes(const std::string& name) {
  if (name == "bf16" || name == "fp16" || name == "f16") return 2;
  if (name == "fp32" || name == "f32") return 4;
  if (name == "fp8" || name == "int8") return 1;
  return absl::InvalidArgumentError(
      absl::StrCat("--kv-dtype '", name, "': expected bf16, fp16, fp32 or fp8"));
}

}  // namespace

absl::Status RunPlan(const std::vector<std::string>& args) {
  std::string model_dir, like, gpu_memory = "80GiB", sharding_name = "none",
                               precision_name = "bf16", kv_dtype = "bf16", overhead = "2GiB",
                               learner_overhead = "2GiB";
  int64_t gpus = 1, nodes = 1, learner_gpus = -1, rollout_gpus = -1, tokens = 8192,
          logit_tokens = -1, seq_len = 0, mtp_layers = -1;
  bool train_mtp = false;
  FlagSet flags(
      "seamless plan (--model DIR | --like NAME) --gpus N --gpu-memory SIZE [flags]",
      "Prints the memory one learner rank and one rollout worker need, by component, with the\n"
      "arithmetic, and whether the run fits; then one JSON line with every figure. The learner\n"
      "accounting (core/model/capacity_plan.h) is what the learner checks before loading a\n"
      "model: fp32 master weights 4 B/param, fp32 gradients 4, AdamW 8, divided over the\n"
      "learner ranks as --sharding says; bf16 adds a 2 B/param compute copy unless sharding is\n"
      "full; per-layer activation checkpointing. A rollout worker holds bf16 weights, a fixed\n"
      "runtime overhead, and KV cache in the rest.");
  flags.AddString("model", &model_dir, "Model directory (its config.json is read)");
  flags.AddString("like", &like, "Or a published shape: qwen2.5-0.5b, qwen2.5-1.5b, mimo-7b");
  flags.AddInt("mtp-layers", &mtp_layers, "With --like: MTP layers (-1: the shape's default, 1)");
  flags.AddInt("gpus", &gpus, "GPUs per node");
  flags.AddInt("nodes", &nodes, "Nodes (GPUs in all: gpus x nodes)");
  flags.AddString("gpu-memory", &gpu_memory,
                  "Memory of one GPU: 141GiB, 80GB, ... (GiB = 2^30 bytes, GB = 10^9)");
  flags.AddString("sharding", &sharding_name,
                  "Learner state sharded over its ranks: none | optimizer (AdamW state) | "
                  "gradients (+ gradients) | full (+ weights)");
  flags.AddString("precision", &precision_name, "Learner compute dtype: fp32 | bf16");
  flags.AddInt("learner-gpus", &learner_gpus,
               "GPUs (ranks) of the learner (default: half of all, or what --rollout-gpus "
               "leaves)");
  flags.AddInt("rollout-gpus", &rollout_gpus,
               "GPUs of rollout workers, one worker each (default: what the learner leaves)");
  flags.AddString("kv-dtype", &kv_dtype, "Rollout KV cache dtype: bf16 | fp16 | fp32 | fp8");
  flags.AddInt("max-tokens-per-micro-batch", &tokens,
               "Tokens (prompt + response) in one learner forward/backward per rank");
  flags.AddInt("logit-tokens", &logit_tokens,
               "Of those, tokens whose logits are computed (responses; -1: all)");
  flags.AddInt("seq-len", &seq_len,
               "Longest sequence (0: the model's max_position_embeddings; the learner caps it "
               "at the micro-batch)");
  flags.AddBool("train-mtp", &train_mtp,
                "MTP layers are trained (gradients and optimizer state); RL freezes them");
  flags.AddString("runtime-overhead", &overhead,
                  "Fixed per-worker overhead: CUDA context, workspaces, allocator slack");
  flags.AddString("learner-runtime-overhead", &learner_overhead,
                  "Fixed per-learner-rank overhead (LibTorch, collectives, allocator slack; "
                  "0.75GiB measured on this CPU at 0.5B, a GPU adds its CUDA context)");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));

  if (model_dir.empty() == like.empty()) {
    return absl::InvalidArgumentError("give one of --model DIR or --like NAME");
  }
  ModelConfig config;
  std::string model_name;
  if (!model_dir.empty()) {
    ASSIGN_OR_RETURN(config, ReadHfConfig(model_dir + "/config.json"));
    model_name = model_dir;
  } else {
    ASSIGN_OR_RETURN(config, ModelConfigLike(like, mtp_layers));
    model_name = like;
  }
  ASSIGN_OR_RETURN(const uint64_t memory, ParseByteSize(gpu_memory));
  ASSIGN_OR_RETURN(const uint64_t overhead_bytes, ParseByteSize(overhead));
  ASSIGN_OR_RETURN(const uint64_t learner_overhead_bytes, ParseByteSize(learner_overhead));
  ASSIGN_OR_RETURN(const Sharding sharding, ParseSharding(sharding_name));
  ASSIGN_OR_RETURN(const Precision precision, ParsePrecision(precision_name));
  ASSIGN_OR_RETURN(const int64_t kv_bytes, KvBytes(kv_dtype));
  if (gpus < 1 || nodes < 1) return absl::InvalidArgumentError("--gpus and --nodes must be >= 1");
  if (tokens < 1) return absl::InvalidArgumentError("--max-tokens-per-micro-batch must be >= 1");
  const int64_t all = gpus * nodes;
  if (learner_gpus < 0 && rollout_gpus < 0) {
    learner_gpus = std::max<int64_t>(1, all / 2);
    rollout_gpus = all - learner_gpus;
  } else if (learner_gpus < 0) {
    learner_gpus = all - rollout_gpus;
  } else if (rollout_gpus < 0) {
    rollout_gpus = all - learner_gpus;
  }
  if (learner_gpus < 1 || rollout_gpus < 0 || learner_gpus + rollout_gpus > all) {
    return absl::InvalidArgumentError(
        absl::StrCat("--learner-gpus ", learner_gpus, " and --rollout-gpus ", rollout_gpus,
                     ": the learner needs at least one and together they have ", all, " GPUs"));
  }

  LearnerPlanOptions lo;
  lo.ranks = learner_gpus;
  lo.sharding = sharding;
  lo.precision = precision;
  lo.tokens_per_micro_batch = tokens;
  lo.logit_tokens_per_micro_batch = logit_tokens;
  lo.seq_len = seq_len > 0 ? std::min(seq_len, tokens) : 0;
  lo.freeze_mtp = !train_mtp;
  lo.runtime_overhead_bytes = learner_overhead_bytes;
  const LearnerMemoryPlan learner = EstimateLearnerMemory(config, lo);
  const absl::Status learner_fits = CheckLearnerFits(config, lo, memory, model_name);
  RolloutPlanOptions ro;
  ro.weight_bytes = 2;
  ro.kv_bytes = kv_bytes;
  ro.runtime_overhead_bytes = overhead_bytes;
  ro.seq_len = seq_len;
  const RolloutMemoryPlan rollout = EstimateRolloutMemory(config, ro, memory);
  const bool fits = learner_fits.ok() && rollout.fits;

  std::printf(
      "model: %s, %s params (%.2fB), %lld layers + %lld MTP, hidden %lld, vocab %lld, "
      "%s head\n",
      model_name.c_str(), absl::StrFormat("%d", config.ParameterCount()).c_str(),
      config.ParameterCount() / 1e9, static_cast<long long>(config.num_hidden_layers),
      static_cast<long long>(config.num_nextn_predict_layers),
      static_cast<long long>(config.hidden_size), static_cast<long long>(config.vocab_size),
      config.tie_word_embeddings ? "tied" : "untied");
  std::printf("gpus: %lld (%lld node%s x %lld) of %.2f GiB: learner %lld, rollout %lld\n\n",
              static_cast<long long>(all), static_cast<long long>(nodes), nodes > 1 ? "s" : "",
              static_cast<long long>(gpus), Gib(memory), static_cast<long long>(learner_gpus),
              static_cast<long long>(rollout_gpus));
  std::printf(
      "learner rank (%lld rank%s, sharding %s, precision %s, %lld tokens per "
      "micro-batch, MTP %s):\n",
      static_cast<long long>(learner_gpus), learner_gpus == 1 ? "" : "s",
      ShardingName(sharding).c_str(), PrecisionName(precision).c_str(),
      static_cast<long long>(tokens), train_mtp ? "trained" : "frozen");
  PrintItems(learner.items);
  if (learner_fits.ok()) {
    std::printf("  %-13s %9.2f GiB  of %.2f GiB: fits, %.2f GiB to spare\n\n", "total",
                Gib(learner.total()), Gib(memory), Gib(memory - learner.total()));
  } else {
    std::printf("  %-13s %9.2f GiB  of %.2f GiB: DOES NOT FIT\n  %s\n\n", "total",
                Gib(learner.total()), Gib(memory), std::string(learner_fits.message()).c_str());
  }
  std::printf("rollout worker (%lld worker%s, bf16 weights, %s KV cache):\n",
              static_cast<long long>(rollout_gpus), rollout_gpus == 1 ? "" : "s", kv_dtype.c_str());
  PrintItems(rollout.items);
  if (rollout.fits) {
    std::printf("  = %.1f sequences of %lld tokens per worker: fits\n\n",
                double(rollout.kv_tokens) / rollout.seq_len,
                static_cast<long long>(rollout.seq_len));
  } else {
    std::printf("  DOES NOT FIT: %s tokens of KV cache, fewer than one %lld-token sequence\n\n",
                absl::StrFormat("%d", rollout.kv_tokens).c_str(),
                static_cast<long long>(rollout.seq_len));
  }
  if (rollout_gpus == 0) {
    std::printf("note: no GPU is left for rollout workers; the figures are one worker's own GPU\n");
  }
  std::printf("fits: %s\n", fits ? "yes" : "no");

  nlohmann::json lj = ItemsJson(learner.items);
  lj["ranks"] = learner_gpus;
  lj["sharding"] = ShardingName(sharding);
  lj["precision"] = PrecisionName(precision);
  lj["tokens_per_micro_batch"] = tokens;
  lj["trainable_parameters"] = learner.trainable_parameters;
  lj["total_gib"] = Round3(Gib(learner.total()));
  lj["fits"] = learner_fits.ok();
  nlohmann::json rj = ItemsJson(rollout.items);
  rj["workers"] = rollout_gpus;
  rj["kv_bytes_per_token"] = rollout.kv_bytes_per_token;
  rj["kv_tokens"] = rollout.kv_tokens;
  rj["seq_len"] = rollout.seq_len;
  rj["fits"] = rollout.fits;
  nlohmann::json out = {{"fits", fits},
                        {"model", model_name},
                        {"parameters", config.ParameterCount()},
                        {"gpus", all},
                        {"gpu_memory_gib", Round3(Gib(memory))},
                        {"learner", lj},
                        {"rollout", rj}};
  std::printf("%s\n", out.dump().c_str());
  return absl::OkStatus();
}

}  // namespace seamless
