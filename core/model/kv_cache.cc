#include "core/model/kv_cache.h"

#include <c10/util/Exception.h>

#include <algorithm>

namespace seamless {

namespace {

// Tokens of a pool that holds num_slots whole sequences of max_len tokens: every slot rounds
// its last block up, so it is num_slots x BlocksFor(max_len) blocks, not num_slots x max_len
// tokens (fewer blocks when max_len is not a multiple of the block).
KvCache::Paging WholeSlots(int64_t num_slots, int64_t max_len) {
  KvCache::Paging paging;
  paging.block_tokens = 16;
  paging.tokens =
      num_slots * ((max_len + paging.block_tokens - 1) / paging.block_tokens) * paging.block_tokens;
  return paging;
}

}  // namespace

KvCache::KvCache(const ModelConfig& config, int64_t num_slots, int64_t max_len,
                 at::TensorOptions options)
    : KvCache(config, num_slots, max_len, WholeSlots(num_slots, max_len), options) {}

KvCache::KvCache(const ModelConfig& config, int64_t num_slots, int64_t max_len,
                 const Paging& paging, at::TensorOptions options)
    : num_slots_(num_slots),
      max_len_(max_len),
      block_tokens_(paging.block_tokens),
      main_layers_(config.num_hidden_layers) {
  TORCH_CHECK(block_tokens_ >= 1, "KV cache blocks need at least one token");
  num_blocks_ = BlocksFor(paging.tokens);
  TORCH_CHECK(num_blocks_ < (int64_t{1} << 31), "KV cache of ", num_blocks_, " blocks");
  groups_.resize(1 + config.num_nextn_predict_layers);
  for (size_t g = 0; g < groups_.size(); ++g) {
    Group& group = groups_[g];
    group.enabled = g == 0 || paging.mtp_groups < 0 || static_cast<int64_t>(g) <= paging.mtp_groups;
    group.tables.assign(num_slots, {});
    group.lengths.assign(num_slots, 0);
    if (!group.enabled) continue;
    group.refs.assign(num_blocks_, 0);
    // Taken from the back: block 0 first, so a fresh cache fills its pool in order.
    for (int64_t b = num_blocks_ - 1; b >= 0; --b) group.free.push_back(static_cast<int32_t>(b));
  }
  const int64_t layers = config.num_hidden_layers + config.num_nextn_predict_layers;
  for (int64_t i = 0; i < layers; ++i) {
    if (!groups_[GroupOfLayer(i)].enabled) {
      keys_.emplace_back();
      values_.emplace_back();
      continue;
    }
    keys_.push_back(at::zeros(
        {num_blocks_, config.num_key_value_heads, block_tokens_, config.head_dim()}, options));
    values_.push_back(at::zeros_like(keys_.back()));
  }
}

int KvCache::GroupOfLayer(int64_t layer) const {
  return layer < main_layers_ ? 0 : static_cast<int>(1 + layer - main_layers_);
}

void KvCache::set_length(int group, int64_t slot, int64_t len) {
  Group& g = groups_[group];
  TORCH_CHECK(len >= 0 && BlocksFor(len) <= static_cast<int64_t>(g.tables[slot].size()),
              "KV cache: length ", len, " of slot ", slot, " in group ", group, " needs ",
              BlocksFor(len), " blocks; ", g.tables[slot].size(), " are reserved");
  g.lengths[slot] = len;
}

int64_t KvCache::BlocksNeeded(int group, int64_t slot, int64_t len) const {
  const Group& g = groups_[group];
  const auto& table = g.tables[slot];
  if (len <= g.lengths[slot]) return 0;  // nothing new is written
  const int64_t have = static_cast<int64_t>(table.size());
  const int64_t want = BlocksFor(len);
  int64_t needed = std::max<int64_t>(0, want - have);
  // Shared blocks the write [length, len) would touch get copied.
  for (int64_t j = g.lengths[slot] / block_tokens_; j < std::min(want, have); ++j) {
    if (g.refs[table[j]] > 1) ++needed;
  }
  return needed;
}

bool KvCache::Reserve(int group, int64_t slot, int64_t len) {
  Group& g = groups_[group];
  TORCH_CHECK(g.enabled, "KV cache group ", group, " has no pool");
  if (len <= g.lengths[slot]) return true;  // nothing new is written; the blocks exist
  auto& table = g.tables[slot];
  const int64_t want = BlocksFor(len);
  const int64_t have = static_cast<int64_t>(table.size());
  for (int64_t j = g.lengths[slot] / block_tokens_; j < std::min(want, have); ++j) {
    const int32_t shared = table[j];
    if (g.refs[shared] == 1) continue;
    if (g.free.empty()) return false;
    const int32_t copy = g.free.back();
    g.free.pop_back();
    g.refs[copy] = 1;
    CopyBlock(group, shared, copy);
    --g.refs[shared];  // still held by another: never reaches 0 here
    table[j] = copy;
  }
  while (static_cast<int64_t>(table.size()) < want) {
    if (g.free.empty()) return false;
    table.push_back(g.free.back());
    g.free.pop_back();
    g.refs[table.back()] = 1;
  }
  return true;
}

void KvCache::Unref(Group& g, int32_t block) {
  TORCH_CHECK(g.refs[block] > 0, "KV cache: block ", block, " released twice");
  if (--g.refs[block] == 0) g.free.push_back(block);
}

void KvCache::Reset(int64_t slot) {
  for (Group& g : groups_) {
    for (int32_t block : g.tables[slot]) Unref(g, block);
    g.tables[slot].clear();
    g.lengths[slot] = 0;
  }
}

KvCache::Prefix KvCache::Retain(int64_t slot) {
  Prefix prefix;
  for (Group& g : groups_) {
    const int64_t len = g.lengths[slot];
    std::vector<int32_t> blocks(g.tables[slot].begin(), g.tables[slot].begin() + BlocksFor(len));
    for (int32_t block : blocks) ++g.refs[block];
    prefix.blocks.push_back(std::move(blocks));
    prefix.lengths.push_back(len);
  }
  return prefix;
}

void KvCache::Release(Prefix* prefix) {
  for (size_t i = 0; i < prefix->blocks.size(); ++i) {
    for (int32_t block : prefix->blocks[i]) Unref(groups_[i], block);
  }
  prefix->blocks.clear();
  prefix->lengths.clear();
}

void KvCache::Attach(int64_t slot, const Prefix& prefix) {
  TORCH_CHECK(prefix.blocks.size() == groups_.size(), "KV cache: prefix of another cache");
  for (size_t i = 0; i < groups_.size(); ++i) {
    Group& g = groups_[i];
    TORCH_CHECK(g.tables[slot].empty(), "KV cache: slot ", slot, " is not empty");
    g.tables[slot] = prefix.blocks[i];
    for (int32_t block : g.tables[slot]) ++g.refs[block];
    g.lengths[slot] = prefix.lengths[i];
  }
}

void KvCache::CopyBlock(int group, int32_t from, int32_t to) {
  for (int64_t layer = 0; layer < static_cast<int64_t>(keys_.size()); ++layer) {
    if (GroupOfLayer(layer) != group) continue;
    keys_[layer].select(0, to).copy_(keys_[layer].select(0, from));
    values_[layer].select(0, to).copy_(values_[layer].select(0, from));
  }
}

int64_t KvCache::bytes() const {
  int64_t total = 0;
  for (const auto& t : keys_) total += t.defined() ? t.numel() * t.element_size() : 0;
  for (const auto& t : values_) total += t.defined() ? t.numel() * t.element_size() : 0;
  return total;
}

}  // namespace seamless
