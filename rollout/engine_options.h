// Settings of one rollout engine (config key `rollout.engine`, and worker flags).
#ifndef SEAMLESS_ROLLOUT_ENGINE_OPTIONS_H_
#define SEAMLESS_ROLLOUT_ENGINE_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "core/base/config_enum.h"

namespace seamless {

// MTP speculative decoding: auto drafts when the model has an MTP layer.
enum class Speculative { kAuto, kOn, kOff };
inline ConfigEnumTable<Speculative> ConfigEnumNames(Speculative) {
  static constexpr ConfigEnumName<Speculative> kNames[] = {
      {Speculative::kAuto, "auto"}, {Speculative::kOn, "on"}, {Speculative::kOff, "off"}};
  return kNames;
}

struct EngineOptions {
  int64_t max_running = 64;                // sequences decoded together (KV cache slots)
  int64_t max_len = 0;                     // prompt + response tokens per sequence; 0 = the model's
  int64_t max_queued_samples = 4096;       // samples waiting for a slot; more is RESOURCE_EXHAUSTED
  int64_t prefill_tokens_per_step = 2048;  // prompt tokens prefilled between two decode steps
  Speculative speculative = Speculative::kAuto;  // MTP drafting
  bool continuous = true;     // false: static batching, refill only when all finished
  bool share_prefill = true;  // a group's samples reuse one prompt prefill
  // KV cache pool in tokens, shared by the running sequences (every layer holds this many).
  // 0: max_running x min(max_len + 2, 4096), and at least one whole context (max_len + 2).
  // Up to 4k-token contexts that is what a cache of max_running full contexts held, so
  // nothing changes; past that, a full context per slot is rarely used (RL answers are mostly
  // far shorter than the limit, and a long one takes blocks that short ones left free), and
  // 64 slots of a 32k context would be 2M tokens (50 GiB for the 0.5B MiMo shape in fp32)
  // instead of 256k (6.25 GiB). A sequence never outgrows the pool: max_len is capped to it.
  int64_t kv_cache_tokens = 0;
  int64_t kv_block_tokens = 16;  // tokens per KV cache block (the unit sequences grow by)

  template <typename V>
  void VisitFields(V& v) {
    v("max_running", max_running, "Sequences decoded together (KV cache slots)");
    v("max_len", max_len, "Prompt + response tokens per sequence; 0 uses the model's limit");
    v("max_queued_samples", max_queued_samples,
      "Samples waiting for a slot before new requests get RESOURCE_EXHAUSTED");
    v("prefill_tokens_per_step", prefill_tokens_per_step,
      "Prompt tokens prefilled between two decode steps (bounds decode stalls)");
    v("speculative", speculative, "MTP speculative decoding: auto, on or off");
    v("continuous", continuous,
      "Refill a finished sequence's slot at once (false: static batches, for comparison)");
    v("share_prefill", share_prefill,
      "Samples of a group reuse the prompt's prefill (false: prefill each, for comparison)");
    v("kv_cache_tokens", kv_cache_tokens,
      "KV cache pool in tokens shared by all sequences (paged in blocks); 0: max_running x "
      "min(max_len + 2, 4096), at least max_len + 2");
    v("kv_block_tokens", kv_block_tokens, "Tokens per KV cache block");
  }

  absl::Status Validate() const;
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_ENGINE_OPTIONS_H_
