#include "rollout/continuous_batcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/model/model_files.h"
#include "core/model/test_models.h"
#include "core/model/torch_raw_tensor.h"
#include "rollout/batch_generator.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;

GroupRequest Group(const std::string& id, std::vector<int32_t> prompt, int32_t samples,
                   double temperature, uint64_t seed, int64_t max_new, uint64_t launch_seq = 0) {
  GroupRequest r;
  r.group_id = id;
  r.prompt = std::move(prompt);
  r.num_samples = samples;
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  r.sampling.max_new_tokens = max_new;
  r.launch_seq = launch_seq;
  return r;
}

std::unique_ptr<ContinuousBatcher> MakeBatcher(MimoModel model, int64_t slots,
                                               const std::string& speculative,
                                               bool continuous = true, int64_t queue = 8192) {
  EngineOptions options;
  options.max_running = slots;
  options.max_queued_samples = queue;
  options.speculative = EnumFromString<Speculative>(speculative).value();
  options.continuous = continuous;
  auto batcher = ContinuousBatcher::Create(std::move(model), options, /*eos_id=*/-1);
  EXPECT_TRUE(batcher.ok()) << batcher.status();
  return std::move(*batcher);
}

// Runs until idle; samples by request id.
std::map<std::string, RolloutSample> RunAll(ContinuousBatcher& batcher) {
  std::map<std::string, RolloutSample> out;
  std::vector<RolloutSample> finished;
  while (batcher.HasWork()) {
    finished.clear();
    absl::Status s = batcher.Step(&finished);
    EXPECT_TRUE(s.ok()) << s;
    if (!s.ok()) break;
    for (auto& f : finished) out[f.request_id] = std::move(f);
  }
  return out;
}

class SpeculationTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SpeculationTest, GreedyIsIdenticalWithAndWithoutSpeculation) {
  MimoModel model = TinyTestModel();
  auto plain = MakeBatcher(model, 3, "off");
  auto spec = MakeBatcher(model, 3, GetParam());
  for (auto* b : {plain.get(), spec.get()}) {
    ASSERT_TRUE(b->Add(Group("a", {5, 9, 11, 3}, 1, 0.0, 0, 30)).ok());
    ASSERT_TRUE(b->Add(Group("b", {7}, 2, 0.0, 0, 17)).ok());
    ASSERT_TRUE(b->Add(Group("c", {1, 2, 3, 4, 5, 6, 7, 8}, 1, 0.0, 0, 25)).ok());
  }
  auto expected = RunAll(*plain);
  auto got = RunAll(*spec);
  ASSERT_EQ(got.size(), 4u);
  for (const auto& [id, sample] : expected) {
    EXPECT_EQ(got[id].tokens, sample.tokens) << id;
    ASSERT_EQ(got[id].logprobs.size(), sample.logprobs.size());
    for (size_t i = 0; i < sample.logprobs.size(); ++i) {
      EXPECT_NEAR(got[id].logprobs[i], sample.logprobs[i], 1e-4) << id << " token " << i;
    }
  }
  EXPECT_GT(spec->stats().draft_tokens, 0);
  EXPECT_LT(spec->stats().decode_steps, plain->stats().decode_steps)
      << "accepted drafts must save steps";
}

INSTANTIATE_TEST_SUITE_P(Modes, SpeculationTest, ::testing::Values("on"));

// Wilson–Hilferty approximation of the chi-square quantile.
double ChiSquareQuantile(double df, double z) {
  const double a = 2.0 / (9.0 * df);
  return df * std::pow(1 - a + z * std::sqrt(a), 3);
}

// The heart of exactness: the joint distribution of the first two sampled tokens (the second
// one goes through draft, accept/reject and residual resampling) must match the target model's
// p(t1) p(t2 | t1), computed with full forward passes.
TEST(ContinuousBatcherTest, SpeculativeSamplingMatchesTheTargetDistribution) {
  MimoModel model = TinyTestModel();
  const std::vector<int32_t> prompt = {5, 9};
  const int64_t vocab = model->config().vocab_size;
  const double temperature = 1.3;  // > 1 spreads mass so that many cells are testable

  // Exact p(t1, t2).
  std::vector<double> exact(vocab * vocab);
  {
    at::NoGradGuard no_grad;
    std::vector<int64_t> rows;
    for (int64_t t1 = 0; t1 < vocab; ++t1) rows.insert(rows.end(), {prompt[0], prompt[1], t1});
    at::Tensor ids = at::tensor(rows, at::kLong).view({vocab, 3});
    at::Tensor logp = at::log_softmax(model->Logits(model->Hidden(ids)) / temperature, -1);
    at::Tensor p1 = logp[0][1].exp();         // after the prompt
    at::Tensor p2 = logp.select(1, 2).exp();  // [t1, t2]
    for (int64_t a = 0; a < vocab; ++a) {
      for (int64_t b = 0; b < vocab; ++b) {
        exact[a * vocab + b] = p1[a].item<double>() * p2[a][b].item<double>();
      }
    }
  }

  auto batcher = MakeBatcher(model, 512, "on", true, /*queue=*/20000);
  const int groups = 5, per_group = 4000;
  for (int g = 0; g < groups; ++g) {
    ASSERT_TRUE(
        batcher->Add(Group("g" + std::to_string(g), prompt, per_group, temperature, 1000 + g, 2))
            .ok());
  }
  auto samples = RunAll(*batcher);
  ASSERT_EQ(samples.size(), static_cast<size_t>(groups * per_group));
  std::vector<double> counts(vocab * vocab, 0);
  for (const auto& [id, s] : samples) {
    ASSERT_EQ(s.tokens.size(), 2u);
    counts[s.tokens[0] * vocab + s.tokens[1]] += 1;
  }
  const double n = groups * per_group;
  // Pool cells expected below 5 counts into one bin, as the chi-square test requires.
  double chi2 = 0, pooled_expected = 0, pooled_observed = 0;
  int bins = 0;
  for (size_t c = 0; c < counts.size(); ++c) {
    const double e = exact[c] * n;
    if (e < 5) {
      pooled_expected += e;
      pooled_observed += counts[c];
      continue;
    }
    chi2 += (counts[c] - e) * (counts[c] - e) / e;
    ++bins;
  }
  if (pooled_expected > 0) {
    chi2 +=
        (pooled_observed - pooled_expected) * (pooled_observed - pooled_expected) / pooled_expected;
    ++bins;
  }
  const double df = bins - 1;
  ASSERT_GT(df, 50) << "too few testable cells";
  EXPECT_LT(chi2, ChiSquareQuantile(df, 3.09)) << "p < 0.001 with " << df << " dof";
  // The test only means something if drafts were both accepted and rejected.
  const auto& st = batcher->stats();
  EXPECT_GT(st.accepted_tokens, st.draft_tokens / 20);
  EXPECT_LT(st.accepted_tokens, st.draft_tokens * 19 / 20);
  // One prefill per group; every other sample copied the prompt's KV from a sibling.
  EXPECT_EQ(st.prompt_tokens, groups * static_cast<int64_t>(prompt.size()));
  EXPECT_EQ(st.shared_prefix_tokens,
            int64_t{groups} * (per_group - 1) * static_cast<int64_t>(prompt.size()));
}

TEST(ContinuousBatcherTest, SharedPrefillGivesTheSameSamplesAsSeparatePrefills) {
  MimoModel model = TinyTestModel();
  const std::vector<int32_t> prompt = {3, 1, 4, 1, 5, 9, 2, 6};
  for (const std::string spec : {"off", "on"}) {
    EngineOptions options;
    options.speculative = EnumFromString<Speculative>(spec).value();
    options.max_running = 4;  // siblings run together and share the prompt's KV blocks
    auto copied = ContinuousBatcher::Create(model, options, -1);
    options.max_running = 1;  // one at a time: each takes the blocks the group kept
    auto reused = ContinuousBatcher::Create(model, options, -1);
    options.share_prefill = false;  // the baseline: every sample prefills the prompt itself
    auto separate = ContinuousBatcher::Create(model, options, -1);
    ASSERT_TRUE(copied.ok() && reused.ok() && separate.ok());
    for (auto* b : {copied->get(), reused->get(), separate->get()}) {
      ASSERT_TRUE(b->Add(Group("g", prompt, 4, 1.0, 77, 12)).ok());
    }
    auto expected = RunAll(**separate);
    ASSERT_EQ(expected.size(), 4u);
    EXPECT_EQ((*separate)->stats().prompt_tokens, 4 * static_cast<int64_t>(prompt.size()));
    EXPECT_EQ((*separate)->stats().shared_prefix_tokens, 0);
    for (auto* b : {copied->get(), reused->get()}) {
      auto got = RunAll(*b);
      EXPECT_EQ(b->stats().prompt_tokens, static_cast<int64_t>(prompt.size())) << spec;
      EXPECT_EQ(b->stats().shared_prefix_tokens, 3 * static_cast<int64_t>(prompt.size()));
      for (const auto& [id, s] : expected) {
        EXPECT_EQ(got[id].tokens, s.tokens) << spec << " " << id;
        for (size_t i = 0; i < s.logprobs.size(); ++i) {
          EXPECT_NEAR(got[id].logprobs[i], s.logprobs[i], 1e-4);
        }
      }
    }
    // Siblings differ from each other (their seeds differ).
    EXPECT_NE(expected["g/0"].tokens, expected["g/1"].tokens);
  }
}

TEST(ContinuousBatcherTest, ContinuousBatchingRefillsSlotsWithoutWaitingForTheLongest) {
  MimoModel model = TinyTestModel();
  auto run = [&](bool continuous) {
    auto batcher = MakeBatcher(model, 4, "off", continuous);
    // One long answer and many short ones.
    EXPECT_TRUE(batcher->Add(Group("long", {1, 2}, 1, 1.0, 1, 48)).ok());
    for (int i = 0; i < 12; ++i) {
      EXPECT_TRUE(batcher->Add(Group("s" + std::to_string(i), {3, 4}, 1, 1.0, i, 4)).ok());
    }
    auto samples = RunAll(*batcher);
    EXPECT_EQ(samples.size(), 13u);
    EXPECT_EQ(samples["long/0"].tokens.size(), 48u);
    return batcher->stats().decode_steps;
  };
  const int64_t continuous = run(true), static_steps = run(false);
  // Continuous: the short ones flow through 3 slots while the long one runs (~48 steps).
  EXPECT_LE(continuous, 48);
  // Static: the first batch waits for the long answer, then 3 more batches of short ones.
  EXPECT_GE(static_steps, 47 + 3 * 3);
}

TEST(ContinuousBatcherTest, AbortByGroupRequestAndLaunchSequence) {
  MimoModel model = TinyTestModel();
  auto batcher = MakeBatcher(model, 2, "on");
  ASSERT_TRUE(batcher->Add(Group("early", {1, 2}, 2, 1.0, 1, 40, /*launch_seq=*/1)).ok());
  ASSERT_TRUE(batcher->Add(Group("mid", {1, 3}, 2, 1.0, 2, 40, 2)).ok());
  ASSERT_TRUE(batcher->Add(Group("late", {1, 4}, 3, 1.0, 3, 40, 3)).ok());
  std::vector<RolloutSample> finished;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(batcher->Step(&finished).ok());
  ASSERT_TRUE(finished.empty());
  ASSERT_EQ(batcher->running(), 2);  // both samples of "early"
  EXPECT_EQ(batcher->queued_samples(), 5);

  // FIFO early termination: everything launched after seq 1 goes; "early" keeps running.
  std::vector<RolloutSample> aborted;
  AbortSpec after;
  after.by_launch_seq = true;
  after.launched_after = 1;
  AbortCounts counts = batcher->Abort(after, &aborted);
  EXPECT_EQ(counts.groups, 2);
  EXPECT_EQ(counts.samples, 5);
  EXPECT_EQ(batcher->queued_samples(), 0);
  EXPECT_EQ(batcher->running(), 2);
  for (const auto& s : aborted) {
    EXPECT_EQ(s.finish, Finish::kAborted);
    EXPECT_TRUE(s.tokens.empty());  // never started
    EXPECT_NE(s.group_id, "early");
  }

  // By request id: one running sample returns its partial tokens and frees its slot now.
  aborted.clear();
  AbortSpec one;
  one.request_ids = {"early/1"};
  counts = batcher->Abort(one, &aborted);
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0].request_id, "early/1");
  EXPECT_GE(aborted[0].tokens.size(), 3u);
  EXPECT_EQ(aborted[0].tokens.size(), aborted[0].logprobs.size());
  EXPECT_EQ(batcher->running(), 1);

  // The freed slot takes new work at the next step.
  ASSERT_TRUE(batcher->Add(Group("next", {2, 2}, 1, 1.0, 4, 5, 4)).ok());
  finished.clear();
  ASSERT_TRUE(batcher->Step(&finished).ok());
  EXPECT_EQ(batcher->running(), 2);

  // By group id.
  aborted.clear();
  AbortSpec group;
  group.group_ids = {"early"};
  counts = batcher->Abort(group, &aborted);
  EXPECT_EQ(counts.samples, 1);
  auto rest = RunAll(*batcher);
  ASSERT_EQ(rest.size() + finished.size(), 1u);
  EXPECT_FALSE(batcher->HasWork());
  EXPECT_EQ(batcher->stats().aborted_samples, 7);
}

TEST(ContinuousBatcherTest, BackpressureAndDuplicateGroups) {
  MimoModel model = TinyTestModel();
  auto batcher = MakeBatcher(model, 2, "off", true, /*queue=*/5);
  ASSERT_TRUE(batcher->Add(Group("a", {1}, 4, 1.0, 0, 4)).ok());
  absl::Status full = batcher->Add(Group("b", {1}, 2, 1.0, 0, 4));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_THAT(full.message(), HasSubstr("max_queued_samples 5"));
  EXPECT_EQ(batcher->Add(Group("a", {1}, 1, 1.0, 0, 4)).code(), absl::StatusCode::kAlreadyExists);
  RunAll(*batcher);
  EXPECT_TRUE(batcher->Add(Group("a", {1}, 1, 1.0, 0, 4)).ok()) << "a finished group id is free";
}

TEST(ContinuousBatcherTest, BadRequestsNameTheField) {
  MimoModel model = TinyTestModel();
  auto batcher = MakeBatcher(model, 2, "auto");
  auto check = [&](GroupRequest r, const std::string& expected) {
    absl::Status s = batcher->Add(std::move(r));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(s.message(), HasSubstr(expected));
  };
  check(Group("x", {}, 1, 1.0, 0, 4), "prompt is empty");
  check(Group("x", std::vector<int32_t>(62, 1), 1, 1.0, 0, 4), "context holds 62");
  check(Group("x", {1, 99}, 1, 1.0, 0, 4), "token id 99");
  check(Group("x", {1}, 1, -1.0, 0, 4), "temperature");
  check(Group("x", {1}, 0, 1.0, 0, 4), "num_samples");
  GroupRequest p = Group("x", {1}, 1, 1.0, 0, 4);
  p.sampling.top_p = 1.5;
  check(p, "top_p");
  GroupRequest stop = Group("x", {1}, 1, 1.0, 0, 4);
  stop.stop_strings = {"\n"};
  check(stop, "stop_strings need a worker started with a tokenizer");
  EXPECT_FALSE(batcher->HasWork());
}

TEST(ContinuousBatcherTest, StopStringsEndASample) {
  MimoModel model = TinyTestModel();
  EngineOptions options;
  options.max_running = 2;
  // A fake detokenizer: token t is the letter 'a' + t % 26.
  auto detok = [](const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t t : ids) s += static_cast<char>('a' + t % 26);
    return s;
  };
  auto probe = RunAll(*MakeBatcher(model, 1, "off"));  // nothing queued: trivially empty
  EXPECT_TRUE(probe.empty());
  auto plain = MakeBatcher(model, 1, "off");
  ASSERT_TRUE(plain->Add(Group("g", {5, 6}, 1, 0.0, 0, 20)).ok());
  auto free_run = RunAll(*plain);
  const auto& tokens = free_run["g/0"].tokens;
  ASSERT_GE(tokens.size(), 6u);
  const std::string stop = detok({tokens[3], tokens[4]});
  auto batcher = ContinuousBatcher::Create(model, options, -1, detok);
  ASSERT_TRUE(batcher.ok());
  GroupRequest r = Group("g", {5, 6}, 1, 0.0, 0, 20);
  r.stop_strings = {stop};
  ASSERT_TRUE((*batcher)->Add(r).ok());
  auto out = RunAll(**batcher);
  EXPECT_EQ(out["g/0"].finish, Finish::kStop);
  EXPECT_LE(out["g/0"].tokens.size(), 5u);
  EXPECT_NE(detok(out["g/0"].tokens).find(stop), std::string::npos);
}

TEST(ContinuousBatcherTest, NewWeightsApplyBetweenStepsAndTokensRecordTheirVersion) {
  MimoModel model = TinyTestModel();
  MimoModel other = TinyTestModel(TinyTestConfig(), /*seed=*/99);
  auto weights = ExportWeights(other);
  ASSERT_TRUE(weights.ok());
  auto batcher = MakeBatcher(model, 2, "on");
  ASSERT_TRUE(batcher->Add(Group("g", {1, 2, 3}, 1, 0.0, 0, 30)).ok());
  std::vector<RolloutSample> finished;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(batcher->Step(&finished).ok());
  auto prepared = PrepareWeights(batcher->model(), *weights, "test");
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  batcher->ApplyWeights(*prepared, 7);
  auto out = RunAll(*batcher);
  const auto& s = out["g/0"];
  ASSERT_EQ(s.versions.size(), s.tokens.size());
  EXPECT_EQ(s.versions.front(), 0);
  EXPECT_EQ(s.versions.back(), 7);
  EXPECT_TRUE(std::is_sorted(s.versions.begin(), s.versions.end()));
  EXPECT_EQ(batcher->version(), 7);
  // The model now holds the other weights.
  auto now = ExportWeights(batcher->model());
  EXPECT_EQ(now->at("model.norm.weight").data, weights->at("model.norm.weight").data);
  EXPECT_EQ(now->at("model.mtp_layers.0.input_proj.weight").data,
            weights->at("model.mtp_layers.0.input_proj.weight").data);
}

// Greedy tokens of one prompt under `weights`, from a batcher of its own.
std::vector<int32_t> GreedyTokens(MimoModel& model) {
  auto batcher = MakeBatcher(model, 1, "off");
  EXPECT_TRUE(batcher->Add(Group("g", {4, 9, 2}, 1, 0.0, 0, 12)).ok());
  return RunAll(*batcher)["g/0"].tokens;
}

// Swaps (parameter, fresh storage holding `weights`) for every parameter of `model`.
PreparedWeights SwapsTo(MimoModel& model, const RawTensorMap& weights) {
  PreparedWeights prepared;
  for (auto& item : model->named_parameters()) {
    auto value = RawToTensor(weights.at(item.key()));
    EXPECT_TRUE(value.ok());
    prepared.swaps.emplace_back(item.value(), value->to(at::kFloat).contiguous().clone());
  }
  return prepared;
}

TEST(ContinuousBatcherTest, SwappedInWeightsServeLikeCopiedOnesEvenOnAStorageUsedBefore) {
  MimoModel two = TinyTestModel(TinyTestConfig(), /*seed=*/99);
  MimoModel three = TinyTestModel(TinyTestConfig(), /*seed=*/7);
  auto w2 = ExportWeights(two), w3 = ExportWeights(three);
  ASSERT_TRUE(w2.ok() && w3.ok());
  const std::vector<int32_t> want2 = GreedyTokens(two), want3 = GreedyTokens(three);
  ASSERT_NE(want2, want3);

  MimoModel model = TinyTestModel();
  auto batcher = MakeBatcher(model, 1, "off");
  ASSERT_TRUE(batcher->Add(Group("g", {4, 9, 2}, 1, 0.0, 0, 12)).ok());
  RunAll(*batcher);

  PreparedWeights to2 = SwapsTo(model, *w2);
  batcher->ApplyWeights(to2, 2);
  ASSERT_TRUE(batcher->Add(Group("g", {4, 9, 2}, 1, 0.0, 0, 12)).ok());
  EXPECT_EQ(RunAll(*batcher)["g/0"].tokens, want2);  // the fused-weight caches now hold v2
  const void* cached = model->named_parameters().begin()->value().data_ptr();

  // Away from that storage and back onto it with version 3 (a worker's spare set is the
  // storage the last version replaced), with no step between: the caches, keyed by data
  // pointer and version, must still see the change.
  PreparedWeights away = SwapsTo(model, *w2);
  batcher->ApplyWeights(away, 3);
  PreparedWeights to3;
  size_t i = 0;
  for (auto& item : model->named_parameters()) {
    at::Tensor spare = away.swaps[i++].second;  // the storage handed back
    spare.copy_(*RawToTensor(w3->at(item.key())));
    to3.swaps.emplace_back(item.value(), spare);
  }
  batcher->ApplyWeights(to3, 4);
  EXPECT_EQ(model->named_parameters().begin()->value().data_ptr(), cached);
  ASSERT_TRUE(batcher->Add(Group("g", {4, 9, 2}, 1, 0.0, 0, 12)).ok());
  EXPECT_EQ(RunAll(*batcher)["g/0"].tokens, want3);
}

std::unique_ptr<ContinuousBatcher> MakePagedBatcher(MimoModel model, int64_t slots,
                                                    const std::string& speculative,
                                                    int64_t kv_tokens, int64_t block,
                                                    bool share_prefill = true) {
  EngineOptions options;
  options.max_running = slots;
  options.speculative = EnumFromString<Speculative>(speculative).value();
  options.kv_cache_tokens = kv_tokens;
  options.kv_block_tokens = block;
  options.share_prefill = share_prefill;
  auto batcher = ContinuousBatcher::Create(std::move(model), options, /*eos_id=*/-1);
  EXPECT_TRUE(batcher.ok()) << batcher.status();
  return std::move(*batcher);
}

void AddPoolWorkload(ContinuousBatcher& batcher) {
  // Groups of 1-3 samples with prompts of 1-9 tokens and 20-45 new tokens: up to 12 blocks of
  // 4 per sequence, 8 slots.
  for (int g = 0; g < 10; ++g) {
    std::vector<int32_t> prompt;
    for (int i = 0; i <= (g * 7) % 9; ++i) prompt.push_back((g * 13 + i * 5) % 50);
    ASSERT_TRUE(batcher
                    .Add(Group("p" + std::to_string(g), prompt, 1 + g % 3, 1.0, 500 + g,
                               20 + (g * 11) % 26))
                    .ok());
  }
}

class KvPoolTest : public ::testing::TestWithParam<std::string> {};

// A pool of 40 blocks where the running sequences would want ~90: admission waits, sequences
// are preempted and restarted, and every sample is the one an ample pool gives.
TEST_P(KvPoolTest, ASmallPoolPreemptsAndGivesTheSameSamples) {
  MimoModel model = TinyTestModel();
  auto ample = MakePagedBatcher(model, 8, GetParam(), 0, 4);
  auto small = MakePagedBatcher(model, 8, GetParam(), 160, 4);
  EXPECT_EQ(ample->kv_blocks_total(), (GetParam() == "on" ? 2 : 1) * 8 * 64 / 4);
  EXPECT_EQ(small->kv_blocks_total(), (GetParam() == "on" ? 2 : 1) * 40);
  AddPoolWorkload(*ample);
  AddPoolWorkload(*small);
  auto expected = RunAll(*ample);
  EXPECT_EQ(ample->preempted_samples(), 0);
  std::map<std::string, RolloutSample> got;
  std::vector<RolloutSample> finished;
  int64_t most_used = 0;
  while (small->HasWork()) {
    finished.clear();
    ASSERT_TRUE(small->Step(&finished).ok());
    most_used = std::max(most_used, small->kv_blocks_used());
    EXPECT_LE(small->kv_blocks_used(), small->kv_blocks_total());
    for (auto& f : finished) got[f.request_id] = std::move(f);
  }
  EXPECT_GT(small->preempted_samples(), 0);
  EXPECT_GT(small->preempted_tokens(), 0);
  EXPECT_GT(most_used, small->kv_blocks_total() * 3 / 4);
  EXPECT_EQ(small->kv_blocks_used(), 0) << "every block comes back";
  EXPECT_EQ(ample->kv_blocks_used(), 0);
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [id, s] : expected) {
    EXPECT_EQ(got[id].tokens, s.tokens) << id;
    EXPECT_EQ(got[id].finish, s.finish) << id;
    ASSERT_EQ(got[id].logprobs.size(), s.logprobs.size()) << id;
    for (size_t i = 0; i < s.logprobs.size(); ++i) {
      EXPECT_NEAR(got[id].logprobs[i], s.logprobs[i], 1e-4) << id << " token " << i;
    }
  }
}

// Preempted samples wait in the queue; aborting them returns them like any queued sample.
TEST_P(KvPoolTest, PreemptedSamplesCanBeAborted) {
  MimoModel model = TinyTestModel();
  auto batcher = MakePagedBatcher(model, 8, GetParam(), 160, 4);
  AddPoolWorkload(*batcher);
  std::vector<RolloutSample> finished, aborted;
  int64_t total = 0;
  for (int g = 0; g < 10; ++g) total += 1 + g % 3;
  while (batcher->preempted_samples() == 0 && batcher->HasWork()) {
    ASSERT_TRUE(batcher->Step(&finished).ok());
  }
  ASSERT_GT(batcher->preempted_samples(), 0);
  AbortSpec all;
  for (int g = 0; g < 10; ++g) all.group_ids.push_back("p" + std::to_string(g));
  batcher->Abort(all, &aborted);
  EXPECT_EQ(static_cast<int64_t>(finished.size() + aborted.size()), total);
  EXPECT_FALSE(batcher->HasWork());
  EXPECT_EQ(batcher->queued_samples(), 0);
  EXPECT_EQ(batcher->kv_blocks_used(), 0);
}

INSTANTIATE_TEST_SUITE_P(Speculative, KvPoolTest, ::testing::Values("off", "on"));

TEST(ContinuousBatcherTest, APromptLargerThanThePoolIsAnErrorNamingTheSizes) {
  MimoModel model = TinyTestModel();
  auto batcher = MakePagedBatcher(model, 4, "on", 32, 16);  // 2 blocks: 30 tokens a sequence
  EXPECT_EQ(batcher->max_len(), 30);
  absl::Status s = batcher->Add(Group("big", std::vector<int32_t>(40, 1), 1, 1.0, 0, 4));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("prompt has 40 tokens; the KV cache pool holds 32"));
  EXPECT_THAT(s.message(), HasSubstr("2 blocks of 16"));
  // What fits runs to completion, one sequence at a time, capped by the pool.
  ASSERT_TRUE(batcher->Add(Group("ok", std::vector<int32_t>(20, 1), 3, 1.0, 0, 40)).ok());
  auto out = RunAll(*batcher);
  ASSERT_EQ(out.size(), 3u);
  for (const auto& [id, sample] : out) {
    EXPECT_EQ(sample.finish, Finish::kLength) << id;
    EXPECT_EQ(sample.prompt.size() + sample.tokens.size(), 30u) << id;
  }
  EXPECT_EQ(batcher->kv_blocks_used(), 0);
  EngineOptions tiny;
  tiny.kv_cache_tokens = 3;
  tiny.kv_block_tokens = 1;
  auto refused = ContinuousBatcher::Create(model, tiny, -1);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("too few tokens"));
}

// The default pool: 4k tokens a slot past 4k-token contexts, and always one whole context.
TEST(ContinuousBatcherTest, TheDefaultPoolHolds4kTokensASlotAndOneWholeContext) {
  ModelConfig config = TinyTestConfig();
  config.max_position_embeddings = 10002;  // max_len 10000
  MimoModel model = TinyTestModel(config);
  auto two = MakePagedBatcher(model, 2, "off", 0, 16);
  EXPECT_EQ(two->max_len(), 10000);
  EXPECT_EQ(two->kv_blocks_total(), 10002 / 16 + 1) << "one whole context";
  auto four = MakePagedBatcher(model, 4, "off", 0, 16);
  EXPECT_EQ(four->max_len(), 10000);
  EXPECT_EQ(four->kv_blocks_total(), 4 * 4096 / 16);
  EXPECT_EQ(four->kv_cache_bytes(), 2 * 2 * 1024 * 16 * 2 * 8 * 4) << "2 layers, no MTP pool";
}

// Siblings hold the prompt's full blocks once; each copies only the block it writes into.
TEST(ContinuousBatcherTest, SiblingsShareThePromptsBlocks) {
  MimoModel model = TinyTestModel();
  const std::vector<int32_t> prompt(33, 7);  // 2 full blocks of 16 and one partial
  for (bool share : {true, false}) {
    auto batcher = MakePagedBatcher(model, 4, "off", 0, 16, share);
    ASSERT_TRUE(batcher->Add(Group("g", prompt, 4, 1.0, 3, 8)).ok());
    std::vector<RolloutSample> finished;
    ASSERT_TRUE(batcher->Step(&finished).ok());
    EXPECT_EQ(batcher->running(), 4);
    EXPECT_EQ(batcher->kv_blocks_used(), share ? 2 + 4 : 4 * 3) << share;
    RunAll(*batcher);
    EXPECT_EQ(batcher->kv_blocks_used(), 0);
  }
}

}  // namespace
}  // namespace seamless
