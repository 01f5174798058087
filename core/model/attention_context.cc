#include "core/model/attention_context.h"

#include <algorithm>
#include <limits>

#include "core/model/kv_cache.h"

namespace seamless {

AttentionContext AttentionContext::Full(int64_t batch, int64_t seq_len, int64_t position_offset,
                                        const at::Device& device) {
  AttentionContext ctx;
  auto i64 = at::TensorOptions().dtype(at::kLong).device(device);
  ctx.positions = (at::arange(seq_len, i64) + position_offset).unsqueeze(0).expand({batch, seq_len});
  ctx.kv_len = seq_len;
  auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  ctx.mask = at::full({seq_len, seq_len}, -std::numeric_limits<float>::infinity(), f32)
                 .triu(1)
                 .view({1, 1, 1, seq_len, seq_len});
  return ctx;
}

AttentionContext AttentionContext::Incremental(KvCache* cache, int group,
                                               const std::vector<int64_t>& slots,
                                               int64_t seq_len, int64_t position_offset,
                                               const at::Device& device) {
  AttentionContext ctx;
  ctx.cache = cache;
  ctx.slots = slots;
  const int64_t batch = static_cast<int64_t>(slots.size());
  ctx.contiguous = true;
  for (int64_t b = 0; b < batch; ++b) {
    ctx.start.push_back(cache->length(group, slots[b]));
    ctx.kv_len = std::max(ctx.kv_len, ctx.start.back() + seq_len);
    if (b > 0 && slots[b] != slots[0] + b) ctx.contiguous = false;
  }
  auto cpu_i64 = at::TensorOptions().dtype(at::kLong);
  at::Tensor start = at::tensor(ctx.start, cpu_i64).to(device);
  at::Tensor steps = at::arange(seq_len, cpu_i64).to(device);
  at::Tensor query_pos = start.unsqueeze(1) + steps.unsqueeze(0);  // [B, T] cache index
  ctx.positions = query_pos + position_offset;
  ctx.query_pos = query_pos;
  ctx.slot_index = at::tensor(slots, cpu_i64).to(device);
  ctx.seq_len = seq_len;
  ctx.device = device;
  return ctx;
}

at::Tensor AttentionContext::CacheRows(int64_t kv_heads, int64_t max_len) const {
  const int64_t batch = static_cast<int64_t>(slots.size());
  std::vector<int64_t> rows;
  rows.reserve(batch * kv_heads * seq_len);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < kv_heads; ++h) {
      for (int64_t t = 0; t < seq_len; ++t) {
        rows.push_back((slots[b] * kv_heads + h) * max_len + start[b] + t);
      }
    }
  }
  return at::tensor(rows, at::TensorOptions().dtype(at::kLong)).to(device);
}

const at::Tensor& AttentionContext::Mask() {
  if (mask.defined()) return mask;
  const int64_t batch = query_pos.size(0), len = query_pos.size(1);
  auto i64 = at::TensorOptions().dtype(at::kLong).device(device);
  at::Tensor key_pos = at::arange(kv_len, i64);
  at::Tensor visible = key_pos.view({1, 1, -1}) <= query_pos.unsqueeze(2);  // [B, T, S]
  auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  mask = at::zeros({batch, len, kv_len}, f32)
             .masked_fill(visible.logical_not(), -std::numeric_limits<float>::infinity())
             .view({batch, 1, 1, len, kv_len});
  return mask;
}

}  // namespace seamless
