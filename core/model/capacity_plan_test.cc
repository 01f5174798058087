#include "core/model/capacity_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/model/parameter_layout.h"
#include "core/model/published_models.h"
#include "core/model/test_models.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;

TEST(CapacityPlanTest, ParsesSizesShardingAndPrecision) {
  EXPECT_EQ(*ParseByteSize("141GiB"), 141ull << 30);
  EXPECT_EQ(*ParseByteSize("80GB"), 80'000'000'000ull);
  EXPECT_EQ(*ParseByteSize("512 MiB"), 512ull << 20);
  EXPECT_EQ(*ParseByteSize("1.5G"), 3ull << 29);
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_THAT(ParseByteSize("lots").status().message(), HasSubstr("expected a number"));
  EXPECT_THAT(ParseByteSize("3 parsecs").status().message(), HasSubstr("unknown unit"));
  EXPECT_EQ(*ParseSharding("full"), Sharding::kFull);
  EXPECT_FALSE(ParseSharding("zero3").ok());
  EXPECT_EQ(*ParsePrecision("bf16"), Precision::kBf16);
  EXPECT_FALSE(ParsePrecision("fp8").ok());
}

// The state components are bytes per parameter, divided by the ranks as each sharding level
// says (NOTE [Learner memory accounting]).
TEST(CapacityPlanTest, ShardingDividesTheRightComponents) {
  const ModelConfig c = TinyTestConfig();
  const uint64_t p = c.ParameterCount();
  const uint64_t pt = TrainableParameters(c, /*freeze_mtp=*/false);
  EXPECT_EQ(pt, p);
  LearnerPlanOptions o;
  o.ranks = 4;
  o.freeze_mtp = false;
  o.sharding = Sharding::kNone;
  LearnerMemoryPlan none = EstimateLearnerMemory(c, o);
  EXPECT_EQ(none.weights, 4 * p);
  EXPECT_EQ(none.gradients, 4 * p);
  EXPECT_EQ(none.optimizer, 8 * p);
  EXPECT_EQ(none.compute_weights, 0u);
  EXPECT_EQ(none.buffers, 0u);
  o.sharding = Sharding::kOptimizer;
  LearnerMemoryPlan opt = EstimateLearnerMemory(c, o);
  EXPECT_EQ(opt.weights, 4 * p);
  EXPECT_EQ(opt.gradients, 4 * p);
  EXPECT_EQ(opt.optimizer, (8 * p + 3) / 4);
  o.sharding = Sharding::kGradients;
  LearnerMemoryPlan grads = EstimateLearnerMemory(c, o);
  EXPECT_EQ(grads.weights, 4 * p);
  EXPECT_EQ(grads.gradients, p);
  EXPECT_EQ(grads.optimizer, 2 * p);
  o.sharding = Sharding::kFull;
  LearnerMemoryPlan full = EstimateLearnerMemory(c, o);
  EXPECT_EQ(full.weights, p);
  EXPECT_EQ(full.gradients, p);
  EXPECT_EQ(full.optimizer, 2 * p);
  // One layer (the MTP layer is the largest here) and one vocabulary piece, gathered in fp32.
  EXPECT_EQ(full.buffers, MtpLayerParameters(c) * 4 + (uint64_t(1) << 23) * 4);
  EXPECT_EQ(full.activations, none.activations) << "activations do not shard";
  EXPECT_EQ(full.items.size(), 6u)
      << "weights, gradients, optimizer, buffers, activations, runtime";
  uint64_t sum = 0;
  for (const MemoryItem& item : full.items) sum += item.bytes;
  EXPECT_EQ(sum, full.total());
}

TEST(CapacityPlanTest, Bf16CastsOneLayerAtATime) {
  const ModelConfig c = TinyTestConfig();
  const uint64_t layer = MtpLayerParameters(c), piece = uint64_t(1) << 23;
  LearnerPlanOptions o;
  o.ranks = 2;
  o.precision = Precision::kBf16;
  o.sharding = Sharding::kGradients;
  const LearnerMemoryPlan grads = EstimateLearnerMemory(c, o);
  EXPECT_EQ(grads.compute_weights, 0u) << "no whole bf16 copy";
  EXPECT_EQ(grads.buffers, layer * 2 + piece * 2) << "a layer and a piece cast to bf16";
  o.sharding = Sharding::kFull;
  LearnerMemoryPlan full = EstimateLearnerMemory(c, o);
  EXPECT_EQ(full.compute_weights, 0u);
  EXPECT_EQ(full.buffers, layer * 6 + piece * 6) << "gathered in fp32, then cast";
  // Activations are half of fp32's.
  LearnerPlanOptions fp32 = o;
  fp32.precision = Precision::kFp32;
  const LearnerMemoryPlan f = EstimateLearnerMemory(c, fp32);
  const uint64_t logits = 8192ull * c.vocab_size * 12;  // fp32 either way
  EXPECT_EQ(2 * (full.activations - logits), f.activations - logits);
}

TEST(CapacityPlanTest, FrozenMtpLayersHaveNoGradientsOrOptimizerState) {
  const ModelConfig c = TinyTestConfig();
  LearnerPlanOptions o;  // freeze_mtp by default, as the trainer
  const LearnerMemoryPlan plan = EstimateLearnerMemory(c, o);
  const uint64_t pt = c.ParameterCount() - MtpLayerParameters(c);
  EXPECT_EQ(plan.trainable_parameters, static_cast<int64_t>(pt));
  EXPECT_EQ(plan.weights, 4ull * c.ParameterCount());
  EXPECT_EQ(plan.gradients, 4 * pt);
  EXPECT_EQ(plan.optimizer, 8 * pt);
}

TEST(CapacityPlanTest, ActivationsFollowTheFormula) {
  const ModelConfig c = TinyTestConfig();  // h 32, q 32, kv 16, I 64, 4 heads, 2 layers
  LearnerPlanOptions o;
  o.tokens_per_micro_batch = 100;
  o.logit_tokens_per_micro_batch = 60;
  o.seq_len = 50;
  const uint64_t saved = 100ull * 32 * 2 * 4;
  const uint64_t layer = 100ull * (5 * 32 + 3 * 32 + 4 * 16 + 4 * 64) * 4;
  const uint64_t attention = 100ull * 4 * 50 * 4;  // (50 + 64) / 2 = 57 keys, capped at 50
  const uint64_t logits = 60ull * 50 * 4 * 3;
  EXPECT_EQ(EstimateLearnerMemory(c, o).activations, saved + layer + attention + logits);
  // Without checkpointing (SFT) every trained layer keeps its activations: 2 layers + 1 MTP
  // layer when the MTP layers train.
  o.activation_checkpointing = false;
  o.freeze_mtp = false;
  ASSERT_EQ(c.num_nextn_predict_layers, 1);
  EXPECT_EQ(EstimateLearnerMemory(c, o).activations, saved + 3 * (layer + attention) + logits);
}

TEST(CapacityPlanTest, Mimo7bOnEightGpusFitsOnlyWhenSharded) {
  const ModelConfig mimo = *ModelConfigLike("mimo-7b");
  const uint64_t h200 = *ParseByteSize("141GiB");
  LearnerPlanOptions o;
  o.ranks = 8;
  o.precision = Precision::kBf16;
  o.sharding = Sharding::kFull;
  const LearnerMemoryPlan full = EstimateLearnerMemory(mimo, o);
  EXPECT_TRUE(CheckLearnerFits(mimo, o, h200, "mimo-7b").ok());
  // 16 B/param / 8 ranks ≈ 14 GiB of state: what docs/DESIGN.md §9 says.
  EXPECT_NEAR((full.weights + full.gradients + full.optimizer) / kGiB, 14.3, 0.3);
  // One (MTP) layer gathered and cast, never the 151680 x 4096 embedding whole (its bf16
  // copy alone, twice, was the old estimate).
  EXPECT_LT(full.buffers, 2ull * 151680 * 4096 * 2);
  // Unsharded, 16 B/param of state (117 GiB) plus activations fills an H200 but not an H100.
  o.sharding = Sharding::kNone;
  const uint64_t h100 = *ParseByteSize("80GiB");
  absl::Status none = CheckLearnerFits(mimo, o, h100, "mimo-7b");
  EXPECT_EQ(none.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(none.message(), HasSubstr("GiB per rank, 80.0 GiB available"));
  EXPECT_THAT(none.message(), HasSubstr("try sharding: "));
  // One 80 GiB rank cannot hold it even fully sharded: the hint asks for more ranks.
  o.ranks = 1;
  absl::Status one = CheckLearnerFits(mimo, o, 80ull << 30, "mimo-7b");
  EXPECT_THAT(one.message(), HasSubstr("try sharding: full over"));
}

TEST(CapacityPlanTest, RolloutKvCacheFillsWhatIsLeft) {
  const ModelConfig mimo = *ModelConfigLike("mimo-7b");  // 36 + 1 MTP layers, 8 kv heads x 128
  RolloutPlanOptions o;
  const uint64_t memory = 141ull << 30;
  const RolloutMemoryPlan plan = EstimateRolloutMemory(mimo, o, memory);
  EXPECT_EQ(plan.kv_bytes_per_token, 2ull * 37 * 8 * 128 * 2);
  EXPECT_EQ(plan.weights, 2ull * mimo.ParameterCount());
  EXPECT_EQ(plan.kv_cache, memory - plan.weights - plan.runtime_overhead);
  EXPECT_EQ(plan.kv_tokens, static_cast<int64_t>(plan.kv_cache / plan.kv_bytes_per_token));
  EXPECT_TRUE(plan.fits);
  const RolloutMemoryPlan tiny = EstimateRolloutMemory(mimo, o, 16ull << 30);
  EXPECT_EQ(tiny.kv_tokens, 0);
  EXPECT_FALSE(tiny.fits);
}

}  // namespace
}  // namespace seamless
