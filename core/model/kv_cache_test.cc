#include "core/model/kv_cache.h"

#include <gtest/gtest.h>

#include <random>

#include "core/model/test_models.h"

namespace seamless {
namespace {

// Same tolerance as mimo_model_test: the decode kernel and the GEMM path sum in different
// orders.
constexpr double kTol = 5e-5;

at::Tensor RandomIds(int64_t batch, int64_t len, int64_t vocab, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randint(0, vocab, {batch, len}, gen, at::kLong);
}

void ExpectClose(const at::Tensor& a, const at::Tensor& b, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double diff = (a - b).abs().max().item<double>();
  EXPECT_LE(diff, kTol) << what << ": max |diff| " << diff;
}

KvCache SmallPool(const ModelConfig& config, int64_t slots, int64_t tokens, int64_t block,
                  int64_t max_len = 60) {
  KvCache::Paging paging;
  paging.tokens = tokens;
  paging.block_tokens = block;
  return KvCache(config, slots, max_len, paging, at::kFloat);
}

TEST(KvCacheTest, BlocksAreTakenAsASequenceGrowsAndReturnedOnReset) {
  KvCache cache = SmallPool(TinyTestConfig(), 3, 40, 4);
  EXPECT_EQ(cache.num_blocks(), 10);
  EXPECT_EQ(cache.free_blocks(0), 10);
  // The pools are [blocks, kv_heads, block_tokens, head_dim] for every layer (2 main + 1 MTP).
  EXPECT_EQ(cache.keys(0).sizes(), (std::vector<int64_t>{10, 2, 4, 8}));
  EXPECT_EQ(cache.bytes(), 3 * 2 * 10 * 2 * 4 * 8 * 4);
  ASSERT_TRUE(cache.Reserve(0, 1, 5));
  EXPECT_EQ(cache.block_table(0, 1).size(), 2u);
  EXPECT_EQ(cache.free_blocks(0), 8);
  EXPECT_EQ(cache.free_blocks(1), 10) << "MTP group has its own pool";
  cache.set_length(0, 1, 5);
  ASSERT_TRUE(cache.Reserve(0, 1, 8));  // within the second block
  EXPECT_EQ(cache.free_blocks(0), 8);
  ASSERT_TRUE(cache.Reserve(0, 1, 9));
  EXPECT_EQ(cache.free_blocks(0), 7);
  EXPECT_EQ(cache.BlocksNeeded(0, 1, 17), 2);
  EXPECT_THROW(cache.set_length(0, 1, 13), c10::Error) << "past the reserved blocks";
  ASSERT_TRUE(cache.Reserve(1, 1, 3));
  cache.Reset(1);
  EXPECT_EQ(cache.free_blocks(0), 10);
  EXPECT_EQ(cache.free_blocks(1), 10);
  EXPECT_EQ(cache.length(0, 1), 0);
  EXPECT_TRUE(cache.block_table(0, 1).empty());
}

TEST(KvCacheTest, ReserveFailsWhenThePoolRunsOutAndResetReturnsWhatWasTaken) {
  KvCache cache = SmallPool(TinyTestConfig(), 2, 16, 4);
  ASSERT_TRUE(cache.Reserve(0, 0, 12));
  EXPECT_EQ(cache.BlocksNeeded(0, 1, 8), 2);
  EXPECT_FALSE(cache.Reserve(0, 1, 8));
  EXPECT_EQ(cache.free_blocks(0), 0);
  EXPECT_EQ(cache.length(0, 1), 0);
  cache.Reset(1);
  EXPECT_EQ(cache.free_blocks(0), 1);
  cache.Reset(0);
  EXPECT_EQ(cache.free_blocks(0), 4);
}

TEST(KvCacheTest, TheWholeSlotsPoolHoldsEverySlotAtMaxLenWhenMaxLenIsNotAMultipleOfABlock) {
  // 64 slots of 20 tokens: 2 blocks of 16 each, 128 blocks (64 x 20 tokens would be 80).
  const int64_t slots = 64;
  const int64_t max_len = 20;
  KvCache cache(TinyTestConfig(), slots, max_len);
  EXPECT_EQ(cache.block_tokens(), 16);
  EXPECT_EQ(cache.num_blocks(), slots * cache.BlocksFor(max_len));
  for (int64_t s = 0; s < slots; ++s) {
    ASSERT_TRUE(cache.Reserve(0, s, max_len)) << "slot " << s << " ran out of blocks";
    cache.set_length(0, s, max_len);
  }
  EXPECT_EQ(cache.free_blocks(0), 0);
}

TEST(KvCacheTest, PrefixesAreSharedAndCopiedBeforeAWrite) {
  KvCache cache = SmallPool(TinyTestConfig(), 3, 40, 4);
  ASSERT_TRUE(cache.Reserve(0, 0, 6));
  cache.set_length(0, 0, 6);
  KvCache::Prefix prefix = cache.Retain(0);
  EXPECT_EQ(prefix.lengths[0], 6);
  cache.Reset(0);
  EXPECT_EQ(cache.free_blocks(0), 8) << "the prefix keeps its blocks";
  cache.Attach(1, prefix);
  cache.Attach(2, prefix);
  EXPECT_EQ(cache.length(0, 2), 6);
  EXPECT_EQ(cache.free_blocks(0), 8);
  // Slot 2 writes into the shared second block: it gets a copy; the first stays shared.
  EXPECT_EQ(cache.BlocksNeeded(0, 2, 7), 1);
  ASSERT_TRUE(cache.Reserve(0, 2, 7));
  EXPECT_EQ(cache.block_table(0, 2)[0], cache.block_table(0, 1)[0]);
  EXPECT_NE(cache.block_table(0, 2)[1], cache.block_table(0, 1)[1]);
  EXPECT_EQ(cache.free_blocks(0), 7);
  cache.Release(&prefix);
  cache.Reset(1);
  cache.Reset(2);
  EXPECT_EQ(cache.free_blocks(0), 10);
}

// Incremental forwards over shared and copied blocks give the full forward's logits: two
// siblings continue one prompt with different tokens, each writing into the prompt's last
// (shared) block.
TEST(PagedAttentionTest, SiblingsSharingAPromptKeepTheirOwnTokens) {
  MimoModel model = TinyTestModel();
  at::NoGradGuard no_grad;
  KvCache cache = SmallPool(model->config(), 3, 64, 4);
  at::Tensor prompt = RandomIds(1, 6, 50, 21);
  model->HiddenIncremental(prompt, cache, {0});
  KvCache::Prefix prefix = cache.Retain(0);
  cache.Attach(1, prefix);
  cache.Release(&prefix);
  at::Tensor a = RandomIds(1, 3, 50, 22), b = RandomIds(1, 3, 50, 23);
  std::vector<at::Tensor> got_a, got_b;
  for (int64_t t = 0; t < 3; ++t) {
    at::Tensor next = at::cat({a.narrow(1, t, 1), b.narrow(1, t, 1)}, 0);
    at::Tensor logits = model->Logits(model->HiddenIncremental(next, cache, {0, 1}));
    got_a.push_back(logits.narrow(0, 0, 1));
    got_b.push_back(logits.narrow(0, 1, 1));
  }
  ExpectClose(at::cat(got_a, 1),
              model->Logits(model->Hidden(at::cat({prompt, a}, 1))).narrow(1, 6, 3), "a");
  ExpectClose(at::cat(got_b, 1),
              model->Logits(model->Hidden(at::cat({prompt, b}, 1))).narrow(1, 6, 3), "b");
}

// Many sequences of different lengths in a pool far smaller than slots x context: they grow
// together (so their blocks interleave), finish, and new ones reuse the freed blocks. Every
// step's logits match a full forward over the sequence so far, on both attention paths (the
// decode kernel for 1-token steps, the GEMM path with a gather for longer chunks).
TEST(PagedAttentionTest, ManySequencesShareASmallPoolAndReuseFreedBlocks) {
  MimoModel model = TinyTestModel();
  at::NoGradGuard no_grad;
  const int64_t slots = 5, block = 3;
  KvCache cache = SmallPool(model->config(), slots, 30 * block, block);  // 90 of 5 x 60 tokens
  struct Seq {
    at::Tensor ids;  // [1, L] the whole sequence
    int64_t fed = 0;
  };
  std::mt19937 rng(5);
  std::vector<Seq> seqs(slots);
  uint64_t seed = 100;
  auto start = [&](int64_t slot) {
    seqs[slot].ids = RandomIds(1, 4 + static_cast<int64_t>(rng() % 14), 50, seed++);
    seqs[slot].fed = 0;
  };
  for (int64_t s = 0; s < slots; ++s) start(s);
  int64_t finished = 0, checked = 0, blocks_ever = 0;
  for (int round = 0; round < 100 && finished < 20; ++round) {
    // Chunk sizes 1 (kernel) or 5 (GEMM), the same for every row of a forward.
    const int64_t chunk = round % 4 == 1 ? 5 : 1;
    std::vector<int64_t> batch;
    for (int64_t s = 0; s < slots; ++s) {
      if (seqs[s].fed + chunk <= seqs[s].ids.size(1)) batch.push_back(s);
    }
    if (batch.empty()) continue;
    std::vector<at::Tensor> rows;
    rows.reserve(batch.size());
    for (int64_t s : batch) rows.push_back(seqs[s].ids.narrow(1, seqs[s].fed, chunk));
    at::Tensor logits = model->Logits(model->HiddenIncremental(at::cat(rows, 0), cache, batch));
    int64_t blocks_held = 0;
    for (size_t b = 0; b < batch.size(); ++b) {
      Seq& seq = seqs[batch[b]];
      at::Tensor full = model->Logits(model->Hidden(seq.ids.narrow(1, 0, seq.fed + chunk)));
      ExpectClose(logits.narrow(0, b, 1), full.narrow(1, seq.fed, chunk),
                  "slot " + std::to_string(batch[b]) + " round " + std::to_string(round));
      ++checked;
      seq.fed += chunk;
    }
    for (int64_t s = 0; s < slots; ++s) {
      EXPECT_EQ(cache.length(0, s), seqs[s].fed);
      blocks_held += static_cast<int64_t>(cache.block_table(0, s).size());
      if (seqs[s].fed == seqs[s].ids.size(1)) {  // done: free its blocks, start another
        blocks_ever += cache.BlocksFor(seqs[s].fed);
        cache.Reset(s);
        ++finished;
        start(s);
      }
    }
    EXPECT_LE(blocks_held, cache.num_blocks());
  }
  EXPECT_GE(finished, 20);
  EXPECT_GT(checked, 100);
  EXPECT_GT(blocks_ever, 2 * cache.num_blocks()) << "freed blocks were reused";
}

TEST(PagedAttentionTest, MtpGroupMatchesFull) {
  MimoModel model = TinyTestModel();
  at::NoGradGuard no_grad;
  at::Tensor ids = RandomIds(2, 12, 50, 6);
  at::Tensor hidden = model->Hidden(ids);
  at::Tensor full = model->Logits(model->MtpHidden(0, hidden, ids));  // [2, 11, V]
  // Blocks of 3 in a pool of 10 per group: the two rows' blocks interleave in both groups.
  KvCache cache = SmallPool(model->config(), 2, 30, 3, 16);
  const at::Tensor incremental = IncrementalMtpLogits(model, ids, cache, {1, 0});
  EXPECT_EQ(cache.length(1, 0), 11);
  EXPECT_EQ(cache.length(0, 0), 12);
  EXPECT_EQ(cache.used_blocks(0), 8);  // 2 x 12 tokens in blocks of 3
  EXPECT_EQ(cache.used_blocks(1), 8);  // 2 x 11
  ExpectClose(incremental, full, "mtp");
}

TEST(PagedAttentionTest, AFullPoolIsAnErrorAndLeavesCachedTokensIntact) {
  MimoModel model = TinyTestModel();
  at::NoGradGuard no_grad;
  KvCache cache = SmallPool(model->config(), 2, 12, 4);  // 3 blocks
  at::Tensor a = RandomIds(1, 7, 50, 31);
  model->HiddenIncremental(a.narrow(1, 0, 6), cache, {0});
  model->HiddenIncremental(RandomIds(1, 2, 50, 32), cache, {1});
  try {
    model->HiddenIncremental(RandomIds(1, 3, 50, 33), cache, {1});
    ADD_FAILURE() << "no error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of blocks"), std::string::npos) << e.what();
  }
  EXPECT_EQ(cache.length(0, 1), 2);
  // Slot 0 still decodes correctly.
  at::Tensor logits = model->Logits(model->HiddenIncremental(a.narrow(1, 6, 1), cache, {0}));
  ExpectClose(logits, model->Logits(model->Hidden(a)).narrow(1, 6, 1), "slot 0");
}

}  // namespace
}  // namespace seamless
