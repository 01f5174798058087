#include "core/model/capacity_plan.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/model/parameter_layout.h"

namespace seamless {
namespace {

// 494032768 -> "494,032,768".
std::string Grouped(uint64_t n) {
  std::string digits = absl::StrCat(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Gib(uint64_t bytes) { return absl::StrFormat("%.2f GiB", bytes / kGiB); }

uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace

absl::StatusOr<Sharding> ParseSharding(absl::string_view name) {
  if (std::optional<Sharding> s = EnumFromString<Sharding>(std::string(name))) return *s;
  return absl::InvalidArgumentError(
      absl::StrCat("sharding '", name, "': expected none, optimizer, gradients or full"));
}

std::string ShardingName(Sharding s) { return EnumToString(s); }

absl::StatusOr<Precision> ParsePrecision(absl::string_view name) {
  if (std::optional<Precision> p = EnumFromString<Precision>(std::string(name))) return *p;
  return absl::InvalidArgumentError(absl::StrCat("precision '", name, "': expected fp32 or bf16"));
}

std::string PrecisionName(Precision p) { return EnumToString(p); }

absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text) {
  const std::string t(absl::StripAsciiWhitespace(text));
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  double number = 0;
  std::string unit = absl::AsciiStrToLower(absl::StripAsciiWhitespace(t.substr(i)));
  if (i == 0 || !absl::SimpleAtod(t.substr(0, i), &number) || number < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "size '", text, "': expected a number and a unit, e.g. 141GiB, 80GB or 512MiB"));
  }
  double scale = 0;
  if (unit.empty() || unit == "b")
    scale = 1;
  else if (unit == "k" || unit == "kib")
    scale = 1024.0;
  else if (unit == "m" || unit == "mib")
    scale = 1024.0 * 1024;
  else if (unit == "g" || unit == "gib")
    scale = kGiB;
  else if (unit == "t" || unit == "tib")
    scale = kGiB * 1024;
  else if (unit == "kb")
    scale = 1e3;
  else if (unit == "mb")
    scale = 1e6;
  else if (unit == "gb")
    scale = 1e9;
  else if (unit == "tb")
    scale = 1e12;
  else {
    return absl::InvalidArgumentError(absl::StrCat("size '", text, "': unknown unit '", unit,
                                                   "' (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)"));
  }
  return static_cast<uint64_t>(std::llround(number * scale));
}

int64_t TrainableParameters(const ModelConfig& config, bool freeze_mtp) {
  const int64_t all = config.ParameterCount();
  return freeze_mtp ? all - config.num_nextn_predict_layers * MtpLayerParameters(config) : all;
}

namespace {

// As learner/unit_forward.h runs it: one decoder layer's weights exist whole at a time
// (gathered in fp32 under full sharding, then cast for bf16; cast alone for bf16 without
// it), and the vocabulary-sized matrices are only ever read a piece of 2^23 elements at a
// time (gathered, cast), never whole. No prefetch.
MemoryItem BuffersItem(const ModelConfig& c, bool full, bool bf16) {
  const uint64_t layer =
      static_cast<uint64_t>(std::max(DecoderLayerParameters(c), MtpLayerParameters(c)));
  const uint64_t piece = uint64_t(1) << 23;
  const uint64_t bytes = (full ? (layer + piece) * 4 : 0) + (bf16 ? (layer + piece) * 2 : 0);
  if (bytes == 0) return {"buffers", 0, "no gathers or casts: the modules read the weights"};
  return {"buffers", bytes,
          absl::StrCat("one layer (", Grouped(layer), " params) and one vocabulary piece (",
                       Grouped(piece), " values)", full ? ", all-gathered fp32" : "",
                       bf16 ? ", cast to bf16" : "", "; the embedding and head are never whole")};
}

}  // namespace

LearnerMemoryPlan EstimateLearnerMemory(const ModelConfig& c, const LearnerPlanOptions& o) {
  LearnerMemoryPlan plan;
  const uint64_t ranks = std::max<int64_t>(1, o.ranks);
  const bool full = o.sharding == Sharding::kFull;
  const bool shard_grads = full || o.sharding == Sharding::kGradients;
  const bool shard_optim = o.sharding != Sharding::kNone;
  const bool bf16 = o.precision == Precision::kBf16;
  const uint64_t compute_bytes = bf16 ? 2 : 4;
  const std::string dtype = bf16 ? "bf16" : "fp32";
  const uint64_t p = static_cast<uint64_t>(c.ParameterCount());
  const uint64_t pt = static_cast<uint64_t>(TrainableParameters(c, o.freeze_mtp));
  plan.parameters = static_cast<int64_t>(p);
  plan.trainable_parameters = static_cast<int64_t>(pt);
  auto per_rank = [&](bool sharded) {
    return sharded ? absl::StrCat(" / ", ranks, " ranks") : std::string(" (replicated)");
  };
  const std::string trainable_note =
      pt == p ? "" : absl::StrCat(" (", Grouped(p - pt), " frozen MTP params have none)");

  plan.weights = CeilDiv(p * 4, full ? ranks : 1);
  plan.items.push_back({"weights", plan.weights,
                        absl::StrCat(Grouped(p), " params x 4 B fp32 master", per_rank(full))});
  plan.gradients = CeilDiv(pt * 4, shard_grads ? ranks : 1);
  plan.items.push_back({"gradients", plan.gradients,
                        absl::StrCat(Grouped(pt), " trainable params x 4 B fp32",
                                     per_rank(shard_grads), trainable_note)});
  plan.optimizer = CeilDiv(pt * 8, shard_optim ? ranks : 1);
  plan.items.push_back(
      {"optimizer", plan.optimizer,
       absl::StrCat(Grouped(pt), " trainable params x 8 B AdamW m, v", per_rank(shard_optim))});

  plan.items.push_back(BuffersItem(c, full, bf16));
  plan.buffers = plan.items.back().bytes;

  const uint64_t tokens = static_cast<uint64_t>(std::max<int64_t>(1, o.tokens_per_micro_batch));
  const uint64_t logit_tokens = o.logit_tokens_per_micro_batch >= 0
                                    ? static_cast<uint64_t>(o.logit_tokens_per_micro_batch)
                                    : tokens;
  const uint64_t seq = o.seq_len > 0 ? static_cast<uint64_t>(o.seq_len)
                                     : std::min<uint64_t>(tokens, c.max_position_embeddings);
  const uint64_t h = c.hidden_size, q = c.num_attention_heads * c.head_dim(),
                 kv = c.num_key_value_heads * c.head_dim(), inter = c.intermediate_size;
  const uint64_t saved = tokens * h * c.num_hidden_layers * compute_bytes;
  // What autograd keeps of one block per token: both norms' inputs and outputs (4h), the
  // residual sum (h), the q/k/v projection (q + 2kv), rotated q and k (q + kv), contiguous v
  // (kv), the attention output (q), gate/up (2I), silu(gate) and its product with up (2I).
  const uint64_t layer_per_token = 5 * h + 3 * q + 4 * kv + 4 * inter;
  // Attention probabilities: a query attends, in blocks of 64, to about (seq + 64) / 2 keys.
  const uint64_t keys_per_query = std::min<uint64_t>(seq, (seq + 64) / 2);
  const uint64_t attention = tokens * c.num_attention_heads * keys_per_query;
  // Without checkpointing every trained block keeps its activations until the backward pass.
  const uint64_t kept_layers =
      o.activation_checkpointing
          ? 1
          : c.num_hidden_layers + (o.freeze_mtp ? 0 : c.num_nextn_predict_layers);
  const uint64_t recompute = kept_layers * (tokens * layer_per_token + attention) * compute_bytes;
  const uint64_t logits = logit_tokens * c.vocab_size * 4 * 3;
  plan.activations = saved + recompute + logits;
  plan.runtime = o.runtime_overhead_bytes;
  plan.items.push_back(
      {"activations", plan.activations,
       absl::StrCat(Gib(saved), " saved layer inputs (", tokens, " tokens x ", h, " hidden x ",
                    c.num_hidden_layers, " layers x ", compute_bytes, " B) + ", Gib(recompute),
                    kept_layers == 1 ? " one layer recomputed ("
                                     : absl::StrCat(" ", kept_layers, " layers' activations ("),
                    tokens, " tokens x ", layer_per_token, " values + ", c.num_attention_heads,
                    " heads x ", keys_per_query, " keys of attention, x ", compute_bytes, " B) + ",
                    Gib(logits), " logits (", logit_tokens, " tokens x ", c.vocab_size,
                    " vocab x 4 B x 3)")});
  plan.items.push_back(
      {"runtime", plan.runtime, "the process: LibTorch, collectives, allocator slack (stated)"});
  return plan;
}

absl::Status CheckLearnerFits(const ModelConfig& config, const LearnerPlanOptions& options,
                              uint64_t gpu_memory_bytes, const std::string& what) {
  const LearnerMemoryPlan plan = EstimateLearnerMemory(config, options);
  if (plan.total() <= gpu_memory_bytes) return absl::OkStatus();
  // Every lighter-to-heavier sharding level that would fit with these ranks, else the ranks
  // full sharding needs.
  std::string hint;
  for (Sharding s : {Sharding::kOptimizer, Sharding::kGradients, Sharding::kFull}) {
    if (s <= options.sharding) continue;
    LearnerPlanOptions more = options;
    more.sharding = s;
    const uint64_t need = EstimateLearnerMemory(config, more).total();
    if (need <= gpu_memory_bytes) {
      absl::StrAppend(&hint, hint.empty() ? "; try sharding: " : ", ",
                      absl::StrFormat("%s (%.1f GiB per rank)", ShardingName(s), need / kGiB));
    }
  }
  if (!hint.empty()) {
    hint += " or more ranks";
  } else {
    LearnerPlanOptions more = options;
    more.sharding = Sharding::kFull;
    for (int64_t r = std::max<int64_t>(1, options.ranks) * 2; r <= (1 << 16); r *= 2) {
      more.ranks = r;
      const uint64_t need = EstimateLearnerMemory(config, more).total();
      if (need <= gpu_memory_bytes) {
        hint = absl::StrFormat("; try sharding: full over %d ranks (%.1f GiB per rank)", r,
                               need / kGiB);
        break;
      }
    }
    if (hint.empty()) hint = "; even full sharding does not fit: fewer tokens per micro-batch";
  }
  return absl::ResourceExhaustedError(absl::StrFormat(
      "%s: the learner needs %.1f GiB per rank, %.1f GiB available (%d rank(s), sharding %s, "
      "precision %s)%s",
      what, plan.total() / kGiB, gpu_memory_bytes / kGiB, std::max<int64_t>(1, options.ranks),
      ShardingName(options.sharding), PrecisionName(options.precision), hint));
}

RolloutMemoryPlan EstimateRolloutMemory(const ModelConfig& c, const RolloutPlanOptions& o,
                                        uint64_t gpu_memory_bytes) {
  RolloutMemoryPlan plan;
  const uint64_t p = static_cast<uint64_t>(c.ParameterCount());
  plan.parameters = static_cast<int64_t>(p);
  plan.weights = p * static_cast<uint64_t>(o.weight_bytes);
  plan.items.push_back(
      {"weights", plan.weights, absl::StrCat(Grouped(p), " params x ", o.weight_bytes, " B")});
  plan.runtime_overhead = o.runtime_overhead_bytes;
  plan.items.push_back({"runtime", plan.runtime_overhead,
                        "fixed: CUDA context, cuBLAS workspace, allocator slack, decode-batch "
                        "logits and sampling scratch"});
  const int64_t layers = c.num_hidden_layers + c.num_nextn_predict_layers;
  plan.kv_bytes_per_token = 2ull * layers * c.num_key_value_heads * c.head_dim() * o.kv_bytes;
  const uint64_t used = plan.weights + plan.runtime_overhead;
  plan.kv_cache = gpu_memory_bytes > used ? gpu_memory_bytes - used : 0;
  plan.kv_tokens = static_cast<int64_t>(plan.kv_cache / plan.kv_bytes_per_token);
  plan.seq_len = o.seq_len > 0 ? o.seq_len : c.max_position_embeddings;
  plan.fits = plan.kv_tokens >= plan.seq_len;
  plan.items.push_back({"kv cache", plan.kv_cache,
                        absl::StrCat("what is left: ", Grouped(plan.kv_tokens), " tokens x ",
                                     Grouped(plan.kv_bytes_per_token), " B (2 x ", layers,
                                     " layers incl. MTP x ", c.num_key_value_heads, " kv heads x ",
                                     c.head_dim(), " head dim x ", o.kv_bytes, " B)")});
  return plan;
}

}  // namespace seamless
