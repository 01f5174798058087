// learner.trainer.sharding, precision and activation checkpointing: every setting trains as
// the plain single-rank trainer does, to rounding, over 1, 2 and 4 ranks; checkpoints move
// between world sizes.
#include <gtest/gtest.h>

#include <thread>

#include "core/base/config.h"
#include "core/model/test_models.h"
#include "core/model/torch_raw_tensor.h"
#include "learner/test_batches.h"
#include "learner/trainer.h"

namespace seamless {
namespace {

TrainerConfig Config() {
  TrainerConfig c;
  c.optim.lr = 1e-2;
  c.optim.eps = 1.0;  // updates proportional to gradients (see trainer_test.cc)
  c.optim.max_grad_norm = 0.5;
  c.optim.weight_decay = 0.1;
  c.mini_batch_groups = 2;
  c.micro_batch_size = 2;
  return c;
}

struct TrainRun {
  std::vector<std::pair<std::string, at::Tensor>> weights;  // rank 0's, name order
  RawTensorMap optimizer;
  int64_t optimizer_step = 0;
  std::vector<StepOutcome> outcomes;
  std::vector<LearnerMemory> memory;  // per rank
};

std::vector<std::pair<std::string, at::Tensor>> Drain(TensorCursor& cursor) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const TensorEntry& e : cursor.entries()) {
    auto t = cursor.Next();
    EXPECT_TRUE(t.ok()) << t.status();
    out.emplace_back(e.name, t->clone());
  }
  return out;
}

// `steps` steps of `batch` on `world` ranks (threads over Gloo). `resume`, when given, is
// the consolidated state to start from.
TrainRun Train(const RolloutBatch& batch, TrainerConfig config, int world, int steps,
               bool double_precision, const TrainRun* resume = nullptr,
               const ModelConfig& model_config = TinyTestConfig()) {
  InProcessRendezvous rendezvous;
  std::vector<TrainRun> runs(world);
  std::vector<std::string> errors(world);
  std::vector<std::thread> threads;
  threads.reserve(world);
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      auto fail = [&](const absl::Status& s) { errors[r] = s.ToString(); };
      auto collective = rendezvous.Join(r, world);
      if (!collective.ok()) return fail(collective.status());
      MimoModel model = TinyTestModel(model_config);
      if (double_precision) model->to(at::kDouble);
      auto trainer = GrpoTrainer::Create(model, config, collective->get());
      if (!trainer.ok()) return fail(trainer.status());
      if (resume != nullptr) {
        RawTensorMap weights;
        for (const auto& [name, t] : resume->weights) {
          weights[name] = *TensorToRaw(t, *FromScalarType(t.scalar_type()));
        }
        absl::Status s =
            (*trainer)->ImportState(MapTensorProvider(weights),
                                    MapTensorProvider(resume->optimizer), resume->optimizer_step);
        if (!s.ok()) return fail(s);
      }
      for (int i = 0; i < steps; ++i) {
        auto outcome = (*trainer)->Step(batch);
        if (!outcome.ok()) return fail(outcome.status());
        runs[r].outcomes.push_back(*outcome);
      }
      auto cursor = (*trainer)->OpenWeights();
      runs[r].weights = Drain(*cursor);
      auto state = (*trainer)->ExportOptimizerState();
      if (!state.ok()) return fail(state.status());
      runs[r].optimizer = *state;
      runs[r].optimizer_step = (*trainer)->optimizer_step();
      runs[r].memory.push_back((*trainer)->memory());
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r) EXPECT_EQ(errors[r], "") << "rank " << r;
  TrainRun out = runs[0];
  for (int r = 1; r < world; ++r) out.memory.push_back(runs[r].memory[0]);
  return out;
}

double MaxDiff(const TrainRun& a, const TrainRun& b) {
  double worst = 0;
  for (size_t i = 0; i < a.weights.size(); ++i) {
    EXPECT_EQ(a.weights[i].first, b.weights[i].first);
    worst = std::max(worst, (a.weights[i].second - b.weights[i].second).abs().max().item<double>());
  }
  return worst;
}

// How far training moved the weights (so that a tolerance means something).
double MaxUpdate(const TrainRun& trained, const TrainRun& initial) {
  return MaxDiff(trained, initial);
}

struct Mode {
  const char* sharding;
  bool checkpointing;
};

class ShardingTest : public ::testing::TestWithParam<Mode> {};

TEST_P(ShardingTest, MatchesThePlainTrainerOnOneTwoAndFourRanks) {
  MimoModel model = TinyTestModel();
  // 3 groups of 3: 4 ranks get uneven shares (2, 2, 2, 3 sequences of the first mini-batch),
  // so lock-step ranks pad with empty micro-batches.
  RolloutBatch batch = testing::RandomBatch(model, 3, 3, /*seed=*/11);
  const TrainerConfig plain = Config();
  const TrainRun reference = Train(batch, plain, 1, 2, /*double_precision=*/true);
  const TrainRun initial = Train(batch, plain, 1, 0, true);
  const double moved = MaxUpdate(reference, initial);
  ASSERT_GT(moved, 1e-4);
  TrainerConfig config = plain;
  config.sharding = *EnumFromString<Sharding>(GetParam().sharding);
  config.activation_checkpointing = GetParam().checkpointing;
  for (int world : {1, 2, 4}) {
    TrainRun run = Train(batch, config, world, 2, true);
    ASSERT_EQ(run.outcomes.size(), 2u);
    // float64: summation order (ranks, micro-batches, the norm) leaves ~1e-15.
    EXPECT_LT(MaxDiff(run, reference), 1e-10 * moved) << world << " ranks";
    EXPECT_NEAR(run.outcomes[1].metrics.at("actor/pg_loss"),
                reference.outcomes[1].metrics.at("actor/pg_loss"), 1e-12);
    EXPECT_NEAR(run.outcomes[1].metrics.at("actor/grad_norm"),
                reference.outcomes[1].metrics.at("actor/grad_norm"), 1e-9);
    EXPECT_EQ(run.optimizer_step, reference.optimizer_step);
    for (const auto& [name, t] : reference.optimizer) {
      ASSERT_TRUE(run.optimizer.count(name)) << name;
      EXPECT_EQ(run.optimizer.at(name).shape, t.shape) << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, ShardingTest,
                         ::testing::Values(Mode{"none", true}, Mode{"optimizer", false},
                                           Mode{"gradients", false}, Mode{"full", false}),
                         [](const auto& info) { return std::string(info.param.sharding); });

// An untied LM head is its own group, read a slice of rows at a time like the embedding.
TEST(ShardingTest, UntiedHeadMatchesThePlainTrainer) {
  ModelConfig untied = TinyTestConfig();
  untied.tie_word_embeddings = false;
  MimoModel model = TinyTestModel(untied);
  RolloutBatch batch = testing::RandomBatch(model, 3, 3, 17);
  const TrainRun reference = Train(batch, Config(), 1, 2, true, nullptr, untied);
  const TrainRun initial = Train(batch, Config(), 1, 0, true, nullptr, untied);
  const double moved = MaxDiff(reference, initial);
  ASSERT_GT(moved, 1e-4);
  TrainerConfig config = Config();
  config.sharding = Sharding::kFull;
  const TrainRun run = Train(batch, config, 2, 2, true, nullptr, untied);
  EXPECT_LT(MaxDiff(run, reference), 1e-10 * moved);
}

TEST(ShardingMemoryTest, EachModeDividesWhatItShards) {
  MimoModel model = TinyTestModel();
  RolloutBatch batch = testing::RandomBatch(model, 2, 2, 3);
  auto memory = [&](const char* sharding) {
    TrainerConfig config = Config();
    config.sharding = *EnumFromString<Sharding>(sharding);
    return Train(batch, config, 2, 1, false).memory[0];
  };
  const LearnerMemory none = memory("none"), opt = memory("optimizer"), grads = memory("gradients"),
                      full = memory("full");
  EXPECT_GT(none.weights, 0);
  EXPECT_EQ(opt.weights, none.weights);
  EXPECT_LE(opt.optimizer, none.optimizer / 2 + 64);
  EXPECT_EQ(opt.gradients, none.gradients);
  EXPECT_LE(grads.gradients, none.gradients / 2 + 64);
  EXPECT_LE(full.weights, none.weights / 2 + 64);
  EXPECT_GT(full.buffers, 0);  // the gathered layer
  EXPECT_GT(full.activations, 0);
}

TEST(ShardingCheckpointTest, StateWrittenByTwoRanksResumesOnOneTwoAndFour) {
  MimoModel model = TinyTestModel();
  RolloutBatch batch = testing::RandomBatch(model, 4, 2, 5);
  TrainerConfig config = Config();
  config.sharding = Sharding::kFull;
  const TrainRun straight = Train(batch, config, 2, 2, false);
  const TrainRun first = Train(batch, config, 2, 1, false);
  const TrainRun same = Train(batch, config, 2, 1, false, &first);
  EXPECT_EQ(MaxDiff(same, straight), 0.0) << "2 ranks -> 2 ranks must be bitwise";
  for (int world : {1, 4}) {
    TrainerConfig other = config;
    other.sharding = world == 1 ? Sharding::kNone : Sharding::kFull;
    const TrainRun moved = Train(batch, other, world, 1, false, &first);
    EXPECT_LT(MaxDiff(moved, straight), 1e-5) << "2 ranks -> " << world;
  }
}

TEST(PrecisionTest, Bf16ComputeFollowsTheFloat32Update) {
  MimoModel model = TinyTestModel();
  RolloutBatch batch = testing::RandomBatch(model, 2, 4, 9);
  TrainerConfig config = Config();
  config.optim.weight_decay = 0;
  const TrainRun initial = Train(batch, config, 1, 0, false);
  const TrainRun fp32 = Train(batch, config, 1, 1, false);
  config.precision = Precision::kBf16;
  config.sharding = Sharding::kFull;
  const TrainRun bf16 = Train(batch, config, 2, 1, false);
  // The update directions agree (bf16 rounds activations to 8 bits of mantissa).
  double dot = 0, a2 = 0, b2 = 0;
  for (size_t i = 0; i < initial.weights.size(); ++i) {
    at::Tensor a = (fp32.weights[i].second - initial.weights[i].second).to(at::kDouble);
    at::Tensor b = (bf16.weights[i].second - initial.weights[i].second).to(at::kDouble);
    dot += (a * b).sum().item<double>();
    a2 += (a * a).sum().item<double>();
    b2 += (b * b).sum().item<double>();
  }
  ASSERT_GT(a2, 0);
  EXPECT_GT(dot / std::sqrt(a2 * b2), 0.95);
  EXPECT_TRUE(std::isfinite(bf16.outcomes[0].metrics.at("actor/pg_loss")));
}

TEST(MicroBatchTest, TokenBudgetGivesTheSameUpdate) {
  MimoModel model = TinyTestModel();
  RolloutBatch batch = testing::RandomBatch(model, 2, 4, 13);
  TrainerConfig config = Config();
  config.micro_batch_size = 0;
  const TrainRun whole = Train(batch, config, 1, 1, true);
  config.max_tokens_per_micro_batch = 12;  // a few sequences per micro-batch
  const TrainRun budget = Train(batch, config, 1, 1, true);
  EXPECT_LT(MaxDiff(budget, whole), 1e-12);
  // On the unit path a budget packs each micro-batch into one row: sequences attend within
  // themselves only, RoPE restarts per sequence, and the update is the same.
  config.activation_checkpointing = true;
  config.max_tokens_per_micro_batch = 24;
  const TrainRun packed = Train(batch, config, 1, 1, true);
  EXPECT_LT(MaxDiff(packed, whole), 1e-12);
  config.sharding = Sharding::kFull;
  const TrainRun packed_sharded = Train(batch, config, 2, 1, true);
  EXPECT_LT(MaxDiff(packed_sharded, whole), 1e-12);
}

// Modes are enums parsed at load: a bad name is refused there, with the key, its line and the
// valid names (the trainer never sees a mode it does not know).
TEST(ShardingConfigTest, BadValuesAreRefusedWithTheKey) {
  LearnerConfig config;
  absl::Status s = LoadConfigString("trainer:\n  sharding: zero3\n", "learner.yaml", &config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("learner.yaml:2: trainer.sharding is 'zero3'; valid values: none | "
                             "optimizer | gradients | full"),
            std::string::npos)
      << s;
  s = LoadConfigString("trainer:\n  precision: fp8\n", "learner.yaml", &config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("precision is 'fp8'; valid values: fp32 | bf16"), std::string::npos)
      << s;
}

}  // namespace
}  // namespace seamless

namespace seamless {
namespace {

TEST(TorchErrorsTest, OutOfMemoryIsResourceExhaustedWithWhatToChange) {
  const absl::Status oom = TorchExceptionToStatus(
      c10::Error(c10::SourceLocation{"f", "file.cc", 1},
                 "DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes"),
      "training step 3");
  EXPECT_EQ(oom.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(oom.message().find("training step 3"), std::string::npos);
  EXPECT_NE(oom.message().find("sharding: full"), std::string::npos);
  EXPECT_EQ(TorchExceptionToStatus(std::bad_alloc(), "x").code(),
            absl::StatusCode::kResourceExhausted);
  const absl::Status other = TorchExceptionToStatus(std::runtime_error("shape\nframe #0"), "y");
  EXPECT_EQ(other.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(other.message(), "y: shape");  // no backtrace
}

}  // namespace
}  // namespace seamless

namespace seamless {
namespace {

// A vocabulary-sized matrix past one piece (2^23 values) streams in pieces under full
// sharding; the pieces are the gathered tensor.
TEST(ShardingCursorTest, LargeMatricesStreamInPiecesEqualToTheWhole) {
  ModelConfig big = TinyTestConfig();
  big.vocab_size = 70000;  // 70000 x hidden 128 = 8.96M values: two pieces
  MimoModel reference = TinyTestModel(big);
  const RolloutBatch batch = testing::RandomBatch(reference, 2, 2, 3);
  InProcessRendezvous rendezvous;
  std::vector<std::map<std::string, at::Tensor>> pieces(2), whole(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  threads.reserve(2);
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      auto c = rendezvous.Join(r, 2);
      TrainerConfig config;
      config.sharding = Sharding::kFull;
      auto trainer = GrpoTrainer::Create(TinyTestModel(big), config, c->get());
      if (!trainer.ok()) {
        errors[r] = trainer.status().ToString();
        return;
      }
      auto stepped = (*trainer)->Step(batch);  // moments that are not zero
      if (!stepped.ok()) errors[r] = stepped.status().ToString();
      for (auto open : {&GrpoTrainer::OpenWeights, &GrpoTrainer::OpenOptimizerState}) {
        auto cursor = ((**trainer).*open)();
        for (const TensorEntry& e : cursor->entries()) {
          std::vector<at::Tensor> parts;
          absl::Status s = cursor->NextInPieces([&](const at::Tensor& p) {
            parts.push_back(p.reshape({-1}).clone());
            return absl::OkStatus();
          });
          if (!s.ok()) errors[r] = s.ToString();
          pieces[r][e.name] = at::cat(parts);
        }
      }
      for (auto open : {&GrpoTrainer::OpenWeights, &GrpoTrainer::OpenOptimizerState}) {
        auto cursor = ((**trainer).*open)();
        for (const TensorEntry& e : cursor->entries()) {
          whole[r][e.name] = cursor->Next()->reshape({-1}).clone();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  ASSERT_TRUE(whole[0].count("model.embed_tokens.weight"));
  EXPECT_GT(whole[0]["exp_avg_sq.model.embed_tokens.weight"].abs().max().item<double>(), 0.0);
  for (const auto& [name, t] : whole[0]) {
    ASSERT_TRUE(pieces[0].count(name)) << name;
    EXPECT_TRUE(pieces[0][name].equal(t)) << name;
  }
}

}  // namespace
}  // namespace seamless
