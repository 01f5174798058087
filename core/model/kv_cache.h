// Preallocated key/value cache for incremental decoding: one [slots, kv_heads, max_len,
// head_dim] tensor per layer for keys and one for values, allocated once. A sequence owns a
// slot; joining or leaving the batch is bookkeeping (the slot's length), never a reallocation.
//
// Lengths are kept per *group*: group 0 is the main decoder stack, group 1 + k is MTP layer k,
// whose sequence lags the main one by a token (see mimo_model.h).
#ifndef SEAMLESS_CORE_MODEL_KV_CACHE_H_
#define SEAMLESS_CORE_MODEL_KV_CACHE_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "core/model/model_config.h"

namespace seamless {

class KvCache {
 public:
  // Allocates caches for every main and MTP layer of `config`.
  KvCache(const ModelConfig& config, int64_t num_slots, int64_t max_len,
          at::TensorOptions options = at::kFloat);

  int64_t num_slots() const { return num_slots_; }
  int64_t max_len() const { return max_len_; }
  int64_t num_groups() const { return static_cast<int64_t>(lengths_.size()); }

  // Tokens cached for `slot` in `group`.
  int64_t length(int group, int64_t slot) const { return lengths_[group][slot]; }
  void set_length(int group, int64_t slot, int64_t len) { lengths_[group][slot] = len; }
  // Frees a slot for reuse (all groups).
  void Reset(int64_t slot);

  // Cache tensors of layer `layer` (main layers first, then MTP layers).
  at::Tensor& keys(int64_t layer) { return keys_[layer]; }
  at::Tensor& values(int64_t layer) { return values_[layer]; }

  // Bytes held by all cache tensors.
  int64_t bytes() const;

 private:
  int64_t num_slots_;
  int64_t max_len_;
  std::vector<at::Tensor> keys_;
  std::vector<at::Tensor> values_;
  std::vector<std::vector<int64_t>> lengths_;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_KV_CACHE_H_
