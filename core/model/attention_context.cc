#include "core/model/attention_context.h"

#include <algorithm>
#include <limits>

#include "core/model/kv_cache.h"

namespace seamless {

AttentionContext AttentionContext::Full(int64_t batch, int64_t seq_len, int64_t position_offset,
                                        const at::Device& device) {
  AttentionContext ctx;
  auto i64 = at::TensorOptions().dtype(at::kLong).device(device);
  ctx.positions =
      (at::arange(seq_len, i64) + position_offset).unsqueeze(0).expand({batch, seq_len});
  ctx.kv_len = seq_len;
  auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  ctx.mask = at::full({seq_len, seq_len}, -std::numeric_limits<float>::infinity(), f32)
                 .triu(1)
                 .view({1, 1, 1, seq_len, seq_len});
  return ctx;
}

AttentionContext AttentionContext::Incremental(KvCache* cache, int group,
                                               const std::vector<int64_t>& slots, int64_t seq_len,
                                               int64_t position_offset, const at::Device& device) {
  AttentionContext ctx;
  ctx.cache = cache;
  ctx.group = group;
  ctx.slots = slots;
  const int64_t batch = static_cast<int64_t>(slots.size());
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t start = cache->length(group, slots[b]);
    ctx.start.push_back(start);
    ctx.kv_len = std::max(ctx.kv_len, start + seq_len);
    TORCH_CHECK(start + seq_len <= cache->max_len(), "KV cache overflow: ", start + seq_len, " > ",
                cache->max_len(), " tokens in slot ", slots[b]);
    TORCH_CHECK(cache->Reserve(group, slots[b], start + seq_len), "KV cache out of blocks: slot ",
                slots[b], " of group ", group, " needs ",
                cache->BlocksNeeded(group, slots[b], start + seq_len), " more, ",
                cache->free_blocks(group), " of ", cache->num_blocks(), " are free");
  }
  auto cpu_i64 = at::TensorOptions().dtype(at::kLong);
  at::Tensor start = at::tensor(ctx.start, cpu_i64).to(device);
  at::Tensor steps = at::arange(seq_len, cpu_i64).to(device);
  at::Tensor query_pos = start.unsqueeze(1) + steps.unsqueeze(0);  // [B, T] cache index
  ctx.positions = query_pos + position_offset;
  ctx.query_pos = query_pos;
  ctx.seq_len = seq_len;
  ctx.device = device;
  return ctx;
}

void AttentionContext::BuildRows(int64_t kv_heads) {
  const int64_t batch = static_cast<int64_t>(slots.size());
  const int64_t block = cache->block_tokens();
  int64_t width = 0;  // blocks per row of the padded block table
  for (int64_t b = 0; b < batch; ++b) {
    width = std::max<int64_t>(width, cache->BlocksFor(start[b] + seq_len));
  }
  std::vector<int64_t> table(batch * width, 0), rows;  // padding reads block 0 (masked)
  rows.reserve(batch * kv_heads * seq_len);
  for (int64_t b = 0; b < batch; ++b) {
    const auto& blocks = cache->block_table(group, slots[b]);
    const int64_t used = cache->BlocksFor(start[b] + seq_len);
    std::copy(blocks.begin(), blocks.begin() + used, table.begin() + b * width);
    for (int64_t h = 0; h < kv_heads; ++h) {
      for (int64_t t = 0; t < seq_len; ++t) {
        const int64_t pos = start[b] + t;
        rows.push_back((blocks[pos / block] * kv_heads + h) * block + pos % block);
      }
    }
  }
  auto cpu_i64 = at::TensorOptions().dtype(at::kLong);
  write_rows = at::tensor(rows, cpu_i64).to(device);
  // read_rows[b, h, s] = (table[b, s / block] * kv_heads + h) * block + s % block, built on
  // the device: kv_len columns per row can be many.
  auto i64 = cpu_i64.device(device);
  at::Tensor s = at::arange(kv_len, i64);
  at::Tensor blocks = at::tensor(table, cpu_i64).to(device).view({batch, width});
  at::Tensor heads = at::arange(kv_heads, i64).view({1, kv_heads, 1});
  at::Tensor of_s = blocks.index_select(1, at::floor_divide(s, block)).unsqueeze(1);  // [B,1,S]
  read_rows =
      ((of_s * kv_heads + heads) * block + at::remainder(s, block).view({1, 1, -1})).reshape({-1});
}

std::pair<at::Tensor, at::Tensor> AttentionContext::AppendAndRead(int64_t layer,
                                                                  const at::Tensor& k,
                                                                  const at::Tensor& v) {
  at::Tensor& k_pool = cache->keys(layer);
  at::Tensor& v_pool = cache->values(layer);
  const int64_t kv_heads = k_pool.size(1), dim = k_pool.size(3);
  const int64_t batch = static_cast<int64_t>(slots.size());
  if (!write_rows.defined()) BuildRows(kv_heads);
  // One row copy per tensor (advanced indexing with index_put_ cost ~3x more per call).
  k_pool.view({-1, dim}).index_copy_(0, write_rows, k.contiguous().view({-1, dim}));
  v_pool.view({-1, dim}).index_copy_(0, write_rows, v.contiguous().view({-1, dim}));
  // A prompt's prefill (every row starts empty): the new keys are all there is.
  if (std::all_of(start.begin(), start.end(), [](int64_t s) { return s == 0; })) return {k, v};
  return {k_pool.view({-1, dim}).index_select(0, read_rows).view({batch, kv_heads, kv_len, dim}),
          v_pool.view({-1, dim}).index_select(0, read_rows).view({batch, kv_heads, kv_len, dim})};
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
