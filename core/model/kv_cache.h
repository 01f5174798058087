// Paged key/value cache for incremental decoding. Each layer's keys and values live in a pool
// of fixed-size blocks, [num_blocks, kv_heads, block_tokens, head_dim], allocated once and
// shared by all sequences. A sequence (a slot) holds a block table per group: block j of the
// table holds its tokens j * block_tokens .. (j + 1) * block_tokens - 1. A sequence takes
// blocks as it grows (Reserve) and returns them when it is Reset, so memory follows the tokens
// actually cached, not slots x the context.
//
// Groups: group 0 is the main decoder stack (all its layers share one block table per slot),
// group 1 + k is MTP layer k, whose sequence lags the main one by a token (see mimo_model.h).
// Each group has its own pool of num_blocks() blocks and its own tables.
//
// Blocks are reference counted: a prompt's blocks can be kept (Retain) and shared by other
// slots (Attach), as the samples of a group share one prefill. Shared blocks are read-only;
// Reserve copies a shared block before a slot writes into it (copy on write).
#ifndef SEAMLESS_CORE_MODEL_KV_CACHE_H_
#define SEAMLESS_CORE_MODEL_KV_CACHE_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "core/model/model_config.h"

namespace seamless {

class KvCache {
 public:
  struct Paging {
    int64_t tokens = 0;         // pool size per group in tokens, rounded up to whole blocks
    int64_t block_tokens = 16;  // tokens per block
    int64_t mtp_groups = -1;    // MTP layers that get a pool (-1: all); the others stay empty
  };

  // Blocks of a retained prefix, per group, and the tokens of each group they hold. Holds one
  // reference to each block until Release.
  struct Prefix {
    std::vector<std::vector<int32_t>> blocks;
    std::vector<int64_t> lengths;
    bool empty() const { return blocks.empty(); }
  };

  // A pool that holds every slot at max_len: num_slots x BlocksFor(max_len) blocks of 16
  // tokens per group (tests and benchmarks that fill every slot).
  KvCache(const ModelConfig& config, int64_t num_slots, int64_t max_len,
          at::TensorOptions options = at::kFloat);
  // A pool of paging.tokens tokens per group. max_len bounds each sequence.
  KvCache(const ModelConfig& config, int64_t num_slots, int64_t max_len, const Paging& paging,
          at::TensorOptions options);

  int64_t num_slots() const { return num_slots_; }
  int64_t max_len() const { return max_len_; }
  int64_t num_groups() const { return static_cast<int64_t>(groups_.size()); }
  int64_t block_tokens() const { return block_tokens_; }
  int64_t num_blocks() const { return num_blocks_; }  // per group
  int64_t BlocksFor(int64_t tokens) const { return (tokens + block_tokens_ - 1) / block_tokens_; }
  // Whether `group` has a pool (see Paging::mtp_groups).
  bool has_group(int group) const { return groups_[group].enabled; }
  // The group whose block tables layer `layer` (main layers first, then MTP layers) uses.
  int GroupOfLayer(int64_t layer) const;

  // Tokens cached for `slot` in `group`.
  int64_t length(int group, int64_t slot) const { return groups_[group].lengths[slot]; }
  // Sets the cached length. Shortening (a rolled-back draft) keeps the blocks; lengthening
  // needs the blocks to be reserved already.
  void set_length(int group, int64_t slot, int64_t len);
  // Makes positions [0, len) of `slot` in `group` writable from its current length on: takes
  // missing blocks from the pool and copies shared blocks that the write would touch. False
  // when the pool runs out (blocks taken so far stay with the slot; Reset returns them).
  bool Reserve(int group, int64_t slot, int64_t len);
  // Blocks Reserve(group, slot, len) would take from the pool.
  int64_t BlocksNeeded(int group, int64_t slot, int64_t len) const;
  // Returns every block of `slot` (all groups) and empties it.
  void Reset(int64_t slot);

  // Keeps `slot`'s blocks at their current lengths (all groups) beyond the slot's life.
  Prefix Retain(int64_t slot);
  // Drops the references of `prefix` and empties it.
  void Release(Prefix* prefix);
  // Makes an empty `slot` share `prefix`'s blocks at its lengths.
  void Attach(int64_t slot, const Prefix& prefix);

  // Block table of `slot` in `group` (at least BlocksFor(length) entries).
  const std::vector<int32_t>& block_table(int group, int64_t slot) const {
    return groups_[group].tables[slot];
  }
  int64_t free_blocks(int group) const { return static_cast<int64_t>(groups_[group].free.size()); }
  int64_t used_blocks(int group) const { return num_blocks_ - free_blocks(group); }

  // Block pools of layer `layer` (main layers first, then MTP layers):
  // [num_blocks, kv_heads, block_tokens, head_dim]; undefined for a group without a pool.
  at::Tensor& keys(int64_t layer) { return keys_[layer]; }
  at::Tensor& values(int64_t layer) { return values_[layer]; }

  // Bytes held by all pools.
  int64_t bytes() const;

 private:
  struct Group {
    bool enabled = false;
    std::vector<std::vector<int32_t>> tables;  // per slot
    std::vector<int64_t> lengths;              // per slot
    std::vector<int32_t> refs;                 // per block
    std::vector<int32_t> free;                 // free blocks, taken from the back
  };
  void Unref(Group& g, int32_t block);
  // Copies block `from` to `to` in every layer of `group`.
  void CopyBlock(int group, int32_t from, int32_t to);

  int64_t num_slots_;
  int64_t max_len_;
  int64_t block_tokens_;
  int64_t num_blocks_;
  int64_t main_layers_;
  std::vector<at::Tensor> keys_;
  std::vector<at::Tensor> values_;
  std::vector<Group> groups_;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_KV_CACHE_H_
