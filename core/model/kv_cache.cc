#include "core/model/kv_cache.h"

namespace seamless {

KvCache::KvCache(const ModelConfig& config, int64_t num_slots, int64_t max_len,
                 at::TensorOptions options)
    : num_slots_(num_slots), max_len_(max_len) {
  const int64_t layers = config.num_hidden_layers + config.num_nextn_predict_layers;
  for (int64_t i = 0; i < layers; ++i) {
    keys_.push_back(at::zeros(
        {num_slots, config.num_key_value_heads, max_len, config.head_dim()}, options));
    values_.push_back(at::zeros_like(keys_.back()));
  }
  lengths_.assign(1 + config.num_nextn_predict_layers, std::vector<int64_t>(num_slots, 0));
}

void KvCache::Reset(int64_t slot) {
  for (auto& group : lengths_) group[slot] = 0;
}

int64_t KvCache::bytes() const {
  int64_t total = 0;
  for (const auto& t : keys_) total += t.numel() * t.element_size();
  for (const auto& t : values_) total += t.numel() * t.element_size();
  return total;
}

}  // namespace seamless
