#include "core/model/mimo_model.h"

#include <gtest/gtest.h>

#include <set>

#include "core/model/test_models.h"

namespace seamless {
namespace {

// fp32: the incremental path runs the CPU decode kernel (cached_attention.h), whose sums run
// in a different order from the GEMM path's (and differ again between -O3 and the sanitizer
// build's -O2), so agreement is to a few ulps of values of order 1-10, not bitwise.
constexpr double kTol = 5e-5;

at::Tensor Ids(std::vector<int64_t> v) { return at::tensor(v, at::kLong).view({1, -1}); }

at::Tensor RandomIds(int64_t batch, int64_t len, int64_t vocab, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randint(0, vocab, {batch, len}, gen, at::kLong);
}

void ExpectClose(const at::Tensor& a, const at::Tensor& b, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double diff = (a - b).abs().max().item<double>();
  EXPECT_LE(diff, kTol) << what << ": max |diff| " << diff;
}

TEST(MimoModelTest, ParameterNamesAreHuggingFaceKeys) {
  MimoModel model(TinyTestConfig());
  std::set<std::string> names;
  int64_t count = 0;
  for (const auto& p : model->named_parameters()) {
    names.insert(p.key());
    count += p.value().numel();
  }
  for (const char* expected :
       {"model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
        "model.layers.0.self_attn.q_proj.bias", "model.layers.1.self_attn.k_proj.bias",
        "model.layers.1.self_attn.v_proj.weight", "model.layers.1.self_attn.o_proj.weight",
        "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight",
        "model.layers.0.mlp.down_proj.weight", "model.layers.0.input_layernorm.weight",
        "model.layers.0.post_attention_layernorm.weight", "model.norm.weight",
        "model.mtp_layers.0.input_proj.weight", "model.mtp_layers.0.token_layernorm.weight",
        "model.mtp_layers.0.hidden_layernorm.weight", "model.mtp_layers.0.final_layernorm.weight",
        "model.mtp_layers.0.self_attn.q_proj.weight", "model.mtp_layers.0.mlp.down_proj.weight"}) {
    EXPECT_TRUE(names.count(expected)) << expected;
  }
  EXPECT_FALSE(names.count("model.layers.0.self_attn.o_proj.bias"));
  EXPECT_FALSE(names.count("lm_head.weight")) << "tied head has no tensor of its own";
  EXPECT_EQ(count, TinyTestConfig().ParameterCount());

  ModelConfig untied = TinyTestConfig();
  untied.tie_word_embeddings = false;
  MimoModel with_head(untied);
  EXPECT_TRUE(with_head->named_parameters().contains("lm_head.weight"));
  int64_t untied_count = 0;
  for (const auto& p : with_head->named_parameters()) untied_count += p.value().numel();
  EXPECT_EQ(untied_count, untied.ParameterCount());
}

TEST(MimoModelTest, IncrementalMatchesFullForwardInEveryChunking) {
  MimoModel model = TinyTestModel();
  at::NoGradGuard no_grad;
  at::Tensor ids = RandomIds(1, 20, 50, 3);
  at::Tensor full = model->Logits(model->Hidden(ids));
  for (const std::vector<int64_t>& chunks :
       {std::vector<int64_t>{20}, {1, 1, 1, 17}, {7, 1, 1, 1, 10}, {5, 3, 12}}) {
    KvCache cache(model->config(), 4, 32);
    int64_t at = 0;
    std::vector<at::Tensor> pieces;
    for (int64_t len : chunks) {
      at::Tensor hidden = model->HiddenIncremental(ids.narrow(1, at, len), cache, {2});
      pieces.push_back(model->Logits(hidden));
      at += len;
    }
    EXPECT_EQ(cache.length(0, 2), 20);
    ExpectClose(at::cat(pieces, 1), full, "chunks");
  }
}

TEST(MimoModelTest, BatchedRowsOfDifferentLengthsInScatteredSlots) {
  MimoModel model = TinyTestModel();
  at::NoGradGuard no_grad;
  at::Tensor a = RandomIds(1, 9, 50, 4), b = RandomIds(1, 4, 50, 5);
  KvCache cache(model->config(), 6, 32);
  // Prefill separately (different lengths), then decode both rows together, slots 5 and 1.
  model->HiddenIncremental(a.narrow(1, 0, 6), cache, {5});
  model->HiddenIncremental(b.narrow(1, 0, 1), cache, {1});
  std::vector<at::Tensor> got_a, got_b;
  for (int step = 0; step < 3; ++step) {
    at::Tensor next = at::cat({a.narrow(1, 6 + step, 1), b.narrow(1, 1 + step, 1)}, 0);
    at::Tensor logits = model->Logits(model->HiddenIncremental(next, cache, {5, 1}));
    got_a.push_back(logits.narrow(0, 0, 1));
    got_b.push_back(logits.narrow(0, 1, 1));
  }
  ExpectClose(at::cat(got_a, 1), model->Logits(model->Hidden(a)).narrow(1, 6, 3), "row a");
  ExpectClose(at::cat(got_b, 1), model->Logits(model->Hidden(b)).narrow(1, 1, 3), "row b");
}

TEST(MimoModelTest, MtpIncrementalMatchesFull) {
  MimoModel model = TinyTestModel();
  at::NoGradGuard no_grad;
  at::Tensor ids = RandomIds(2, 12, 50, 6);
  at::Tensor hidden = model->Hidden(ids);
  at::Tensor full = model->Logits(model->MtpHidden(0, hidden, ids));  // [2, 11, V]
  ASSERT_EQ(full.size(1), 11);

  KvCache cache(model->config(), 2, 16);
  // Prefill the first 5 tokens, then walk one token at a time, as generation does.
  const at::Tensor incremental = IncrementalMtpLogits(model, ids, cache, {0, 1});
  EXPECT_EQ(cache.length(1, 0), 11);
  EXPECT_EQ(cache.length(0, 0), 12);
  ExpectClose(incremental, full, "mtp");
}

// Inference reuses fused q/k/v and gate/up weights (FusedParameters); an in-place update of
// any part, as a weight swap or an optimizer step does, must be seen by the next forward.
TEST(MimoModelTest, InferenceSeesInPlaceWeightUpdates) {
  MimoModel model = TinyTestModel();
  MimoModel other = TinyTestModel(TinyTestConfig(), /*seed=*/42);
  at::Tensor ids = at::tensor(std::vector<int64_t>{3, 7, 1, 9}, at::kLong).view({1, 4});
  at::NoGradGuard no_grad;
  at::Tensor before = model->Logits(model->Hidden(ids));  // fills the fused-weight caches
  auto mine = model->named_parameters();
  for (const auto& item : other->named_parameters()) mine[item.key()].copy_(item.value());
  at::Tensor after = model->Logits(model->Hidden(ids));
  at::Tensor expected = other->Logits(other->Hidden(ids));
  EXPECT_FALSE(at::allclose(before, after));
  EXPECT_TRUE(at::allclose(after, expected, 1e-5, 1e-6));
}

// A rollout engine's model packs q|k|v and gate|up end to end: the same outputs, no
// concatenated copies (each group one storage), updates still seen, and training still
// reaches every part.
TEST(MimoModelTest, PackedProjectionsComputeTheSameWithoutCopies) {
  MimoModel model = TinyTestModel();
  MimoModel packed = TinyTestModel();
  packed->PackFusedProjections();
  packed->PackFusedProjections();  // idempotent
  at::Tensor ids = RandomIds(2, 6, 50, 3);
  {
    at::NoGradGuard no_grad;
    ExpectClose(packed->Logits(packed->Hidden(ids)), model->Logits(model->Hidden(ids)), "packed");
  }
  auto params = packed->named_parameters();
  const std::string attn = "model.layers.0.self_attn.", mlp = "model.layers.0.mlp.";
  const at::Tensor& q = params[attn + "q_proj.weight"];
  const at::Tensor& k = params[attn + "k_proj.weight"];
  const at::Tensor& up = params[mlp + "up_proj.weight"];
  EXPECT_TRUE(q.storage().is_alias_of(k.storage()));
  EXPECT_EQ(static_cast<const char*>(q.data_ptr()) + q.nbytes(), k.data_ptr());
  EXPECT_TRUE(up.storage().is_alias_of(params[mlp + "gate_proj.weight"].storage()));
  EXPECT_FALSE(q.storage().is_alias_of(params[attn + "o_proj.weight"].storage()));

  MimoModel other = TinyTestModel(TinyTestConfig(), /*seed=*/42);
  {
    at::NoGradGuard no_grad;
    for (const auto& item : other->named_parameters()) params[item.key()].copy_(item.value());
    ExpectClose(packed->Logits(packed->Hidden(ids)), other->Logits(other->Hidden(ids)), "updated");
  }
  at::Tensor loss = packed->Logits(packed->Hidden(ids)).sum();
  loss.backward();
  EXPECT_GT(params[attn + "v_proj.weight"].grad().abs().sum().item<double>(), 0);
}

TEST(MimoModelTest, OutputIsCausal) {
  MimoModel model = TinyTestModel();
  at::NoGradGuard no_grad;
  at::Tensor a = Ids({1, 2, 3, 4, 5, 6});
  at::Tensor b = Ids({1, 2, 3, 4, 9, 9});
  at::Tensor la = model->Logits(model->Hidden(a)), lb = model->Logits(model->Hidden(b));
  ExpectClose(la.narrow(1, 0, 4), lb.narrow(1, 0, 4), "prefix");
  EXPECT_GT((la.narrow(1, 4, 2) - lb.narrow(1, 4, 2)).abs().max().item<double>(), 1e-3);
}

TEST(MimoModelTest, GqaSharesKeysAcrossQueryHeads) {
  // With 4 query heads on 2 kv heads the k/v projections are half the width of q.
  MimoModel model(TinyTestConfig());
  auto params = model->named_parameters();
  EXPECT_EQ(params["model.layers.0.self_attn.q_proj.weight"].size(0), 32);
  EXPECT_EQ(params["model.layers.0.self_attn.k_proj.weight"].size(0), 16);
  // Same model without GQA gives different outputs from the same seed: the grouping matters.
  ModelConfig mha = TinyTestConfig();
  mha.num_key_value_heads = 4;
  EXPECT_EQ(MimoModel(mha)->named_parameters()["model.layers.0.self_attn.k_proj.weight"].size(0),
            32);
}

TEST(MimoModelTest, GradientsReachEveryParameter) {
  MimoModel model = TinyTestModel();
  at::Tensor ids = RandomIds(2, 10, 50, 7);
  at::Tensor hidden = model->Hidden(ids);
  at::Tensor logits = model->Logits(hidden);
  at::Tensor mtp = model->Logits(model->MtpHidden(0, hidden, ids));
  at::Tensor loss = at::cross_entropy_loss(logits.narrow(1, 0, 9).reshape({-1, 50}),
                                           ids.narrow(1, 1, 9).reshape({-1})) +
                    at::cross_entropy_loss(mtp.narrow(1, 0, 8).reshape({-1, 50}),
                                           ids.narrow(1, 2, 8).reshape({-1}));
  loss.backward();
  for (const auto& p : model->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
  }
}

TEST(MimoModelTest, PositionsPastTheContextAreAnError) {
  MimoModel model = TinyTestModel();
  at::NoGradGuard no_grad;
  EXPECT_THROW(model->Hidden(RandomIds(1, 80, 50, 8)), c10::Error);
  KvCache cache(model->config(), 1, 8);
  EXPECT_THROW(model->HiddenIncremental(RandomIds(1, 9, 50, 9), cache, {0}), c10::Error);
}

TEST(MimoModelTest, InitializationIsDeterministic) {
  MimoModel a = TinyTestModel(TinyTestConfig(), 11), b = TinyTestModel(TinyTestConfig(), 11);
  MimoModel c = TinyTestModel(TinyTestConfig(), 12);
  auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
  const std::string key = "model.layers.1.mlp.up_proj.weight";
  EXPECT_TRUE(pa[key].equal(pb[key]));
  EXPECT_FALSE(pa[key].equal(pc[key]));
  EXPECT_TRUE(pa["model.norm.weight"].equal(at::ones({32})));
  EXPECT_TRUE(pa["model.layers.0.self_attn.q_proj.bias"].equal(at::zeros({32})));
}

}  // namespace
}  // namespace seamless
