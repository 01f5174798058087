#include "learner/learner_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <thread>

#include "core/model/model_files.h"
#include "core/model/test_models.h"
#include "core/service/grpc_server.h"
#include "core/tensors/weight_stream.h"
#include "learner/test_batches.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

LearnerConfig Config(const std::string& checkpoint_dir = "") {
  LearnerConfig c;
  c.trainer.optim.lr = 1e-3;
  c.trainer.micro_batch_size = 3;
  c.trainer.mini_batch_groups = 1;
  c.checkpoint_dir = checkpoint_dir;
  return c;
}

std::vector<RolloutBatch> Batches(int n) {
  MimoModel model = TinyTestModel();
  std::vector<RolloutBatch> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    out.push_back(testing::RandomBatch(model, 2, 3, 100 + i));
    out.back().step = i;  // the steps trained before it
  }
  return out;
}

std::vector<at::Tensor> Params(MimoModel& m) {
  std::vector<at::Tensor> out;
  for (auto& p : m->parameters()) out.push_back(p.detach().clone());
  return out;
}

bool Bitwise(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].equal(b[i])) return false;
  }
  return true;
}

// Each step is applied once: the last step sent again is answered from its record (also
// after a restart from its checkpoint), any other step and a batch of another run are
// refused; the commit state rides with the checkpoint.
TEST(LearnerTest, StepsApplyOnceAndTheCommitStateSurvivesARestart) {
  std::vector<RolloutBatch> batches = Batches(3);
  for (auto& b : batches) {
    b.run_id = "run-a";
    b.commit_state = "state after step " + std::to_string(b.step);
  }
  auto single = SingleRankCollective();
  const std::string dir = testing::TestTempDir();
  LearnerConfig config = Config(dir);
  config.checkpoint_every = 1;
  config.run_id = "run-a";
  std::vector<at::Tensor> after_two;
  StepOutcome second;
  {
    auto learner = Learner::Create(TinyTestModel(), config, single.get());
    ASSERT_TRUE(learner.ok()) << learner.status();
    ASSERT_TRUE((*learner)->TrainStep(batches[0]).ok());
    auto trained = (*learner)->TrainStep(batches[1]);
    ASSERT_TRUE(trained.ok()) << trained.status();
    second = *trained;
    after_two = Params((*learner)->trainer().model());
    bool replayed = false;
    auto again = (*learner)->TrainStep(batches[1], &replayed);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(replayed);
    EXPECT_EQ(again->step, 2);
    EXPECT_EQ(again->metrics.at("actor/pg_loss"), second.metrics.at("actor/pg_loss"));
    EXPECT_EQ((*learner)->trainer().step(), 2);
    EXPECT_TRUE(Bitwise(Params((*learner)->trainer().model()), after_two));

    auto stale = (*learner)->TrainStep(batches[0]);
    EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(stale.status().message().find("trained already"), std::string::npos);
    RolloutBatch gap = batches[2];
    gap.step = 3;
    auto skipped = (*learner)->TrainStep(gap);
    EXPECT_EQ(skipped.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(skipped.status().message().find("never trained"), std::string::npos);
    RolloutBatch other = batches[2];
    other.run_id = "run-b";
    auto crossed = (*learner)->TrainStep(other);
    EXPECT_EQ(crossed.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(crossed.status().message().find("run-b"), std::string::npos);
    EXPECT_EQ((*learner)->trainer().step(), 2);
    const Learner::RunState state = (*learner)->run_state();
    EXPECT_EQ(state.run_id, "run-a");
    EXPECT_EQ(state.step, 2);
    EXPECT_EQ(state.commit_state, "state after step 1");
  }
  // A restart (the process killed after its checkpoint of step 2): the same state, and the
  // lost answer of step 2 still replays.
  auto restarted = Learner::Create(TinyTestModel(), config, single.get());
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  const Learner::RunState state = (*restarted)->run_state();
  EXPECT_EQ(state.run_id, "run-a");
  EXPECT_EQ(state.step, 2);
  EXPECT_EQ(state.commit_state, "state after step 1");
  bool replayed = false;
  auto again = (*restarted)->TrainStep(batches[1], &replayed);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(replayed);
  EXPECT_EQ(again->metrics.at("actor/pg_loss"), second.metrics.at("actor/pg_loss"));
  EXPECT_TRUE(Bitwise(Params((*restarted)->trainer().model()), after_two));
  ASSERT_TRUE((*restarted)->TrainStep(batches[2]).ok());
  EXPECT_EQ((*restarted)->run_state().commit_state, "state after step 2");
  // A learner configured for another run refuses the checkpoint.
  config.run_id = "run-b";
  auto wrong = Learner::Create(TinyTestModel(), config, single.get());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("run-a"), std::string::npos);
}

// Training 2N steps equals training N, checkpointing, dropping everything (as a killed
// process would), resuming from disk and training N more — bitwise.
TEST(LearnerTest, ResumeIsBitwiseIdentical) {
  const std::vector<RolloutBatch> batches = Batches(4);
  auto single = SingleRankCollective();
  std::vector<at::Tensor> straight;
  {
    auto learner = Learner::Create(TinyTestModel(), Config(), single.get());
    ASSERT_TRUE(learner.ok()) << learner.status();
    for (const auto& b : batches) ASSERT_TRUE((*learner)->TrainStep(b).ok());
    straight = Params((*learner)->trainer().model());
  }
  const std::string dir = testing::TestTempDir();
  {
    LearnerConfig config = Config(dir);
    config.checkpoint_every = 2;
    auto learner = Learner::Create(TinyTestModel(), config, single.get());
    ASSERT_TRUE(learner.ok());
    EXPECT_EQ((*learner)->resumed_from(), "");
    for (int i = 0; i < 2; ++i) ASSERT_TRUE((*learner)->TrainStep(batches[i]).ok());
  }
  auto resumed =
      Learner::Create(TinyTestModel(TinyTestConfig(), /*seed=*/5), Config(dir), single.get());
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ((*resumed)->resumed_from(), dir + "/step_00000002");
  EXPECT_EQ((*resumed)->trainer().step(), 2);
  EXPECT_EQ((*resumed)->trainer().policy_version(), 2);
  for (int i = 2; i < 4; ++i) ASSERT_TRUE((*resumed)->TrainStep(batches[i]).ok());
  EXPECT_TRUE(Bitwise(Params((*resumed)->trainer().model()), straight));

  // The checkpoint is a model directory the rollout worker can load.
  auto loaded = LoadModelDir(dir + "/step_00000002");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
}

TEST(LearnerTest, TwoRanksTrainInLockStep) {
  const std::vector<RolloutBatch> batches = Batches(2);
  InProcessRendezvous rendezvous;
  std::vector<std::unique_ptr<Collective>> collectives(2);
  std::vector<std::unique_ptr<Learner>> learners(2);
  std::vector<std::thread> threads;
  threads.reserve(2);
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      auto c = rendezvous.Join(r, 2);
      ASSERT_TRUE(c.ok());
      collectives[r] = std::move(*c);
      // Different initial weights: rank 1 must take rank 0's.
      auto l =
          Learner::Create(TinyTestModel(TinyTestConfig(), 1 + r), Config(), collectives[r].get());
      ASSERT_TRUE(l.ok()) << l.status();
      learners[r] = std::move(*l);
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(learners[0] && learners[1]);
  std::thread follower([&] { EXPECT_TRUE(learners[1]->Follow().ok()); });
  for (const auto& b : batches) {
    auto outcome = learners[0]->TrainStep(b);
    ASSERT_TRUE(outcome.ok()) << outcome.status();
  }
  ASSERT_TRUE(learners[0]->StopFollowers().ok());
  follower.join();
  EXPECT_EQ(learners[1]->trainer().step(), 2);
  EXPECT_TRUE(
      Bitwise(Params(learners[0]->trainer().model()), Params(learners[1]->trainer().model())));
  // Same as one rank training the same batches.
  auto single = SingleRankCollective();
  auto alone = Learner::Create(TinyTestModel(TinyTestConfig(), 1), Config(), single.get());
  for (const auto& b : batches) ASSERT_TRUE((*alone)->TrainStep(b).ok());
  auto a = Params((*alone)->trainer().model()), b = Params(learners[0]->trainer().model());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].allclose(b[i], 1e-5, 1e-6));
}

// Rank 0's consolidated weights; every rank drains its cursor (full sharding gathers).
std::vector<at::Tensor> Consolidated(std::vector<std::unique_ptr<Learner>>& learners) {
  std::vector<std::vector<at::Tensor>> out(learners.size());
  std::vector<std::thread> threads;
  for (size_t r = 0; r < learners.size(); ++r) {
    threads.emplace_back([&, r] {
      auto cursor = learners[r]->trainer().OpenWeights();
      for (size_t i = 0; i < cursor->entries().size(); ++i) {
        auto t = cursor->Next();
        ASSERT_TRUE(t.ok()) << t.status();
        out[r].push_back(t->clone());
      }
    });
  }
  for (auto& t : threads) t.join();
  return out[0];
}

// `world` learner ranks over in-process Gloo that train `batches` (rank 0 leads).
std::vector<std::unique_ptr<Learner>> TrainRanks(int world, const LearnerConfig& config,
                                                 const std::vector<RolloutBatch>& batches,
                                                 InProcessRendezvous& rendezvous,
                                                 std::vector<std::unique_ptr<Collective>>& cs) {
  cs.resize(world);
  std::vector<std::unique_ptr<Learner>> learners(world);
  std::vector<std::thread> threads;
  threads.reserve(world);
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      auto c = rendezvous.Join(r, world);
      ASSERT_TRUE(c.ok());
      cs[r] = std::move(*c);
      auto l = Learner::Create(TinyTestModel(), config, cs[r].get());
      ASSERT_TRUE(l.ok()) << l.status();
      learners[r] = std::move(*l);
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::thread> followers;
  for (int r = 1; r < world; ++r) {
    followers.emplace_back([&, r] { EXPECT_TRUE(learners[r]->Follow().ok()); });
  }
  for (const auto& b : batches) {
    auto outcome = learners[0]->TrainStep(b);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
  }
  EXPECT_TRUE(learners[0]->StopFollowers().ok());
  for (auto& t : followers) t.join();
  return learners;
}

// Full sharding: checkpoints are one consolidated model directory, written while every rank
// gathers; 2 ranks resume them bitwise, 1 rank to float32 rounding.
TEST(LearnerTest, FullyShardedRanksCheckpointAndResume) {
  const std::vector<RolloutBatch> batches = Batches(4);
  LearnerConfig config = Config();
  config.trainer.sharding = Sharding::kFull;
  std::vector<at::Tensor> straight;
  {
    InProcessRendezvous rv;
    std::vector<std::unique_ptr<Collective>> cs;
    auto learners = TrainRanks(2, config, batches, rv, cs);
    straight = Consolidated(learners);
  }
  const std::string tmp = testing::TestTempDir();
  const std::string dir = tmp + "/sharded";
  config.checkpoint_dir = dir;
  config.checkpoint_every = 2;
  {
    InProcessRendezvous rv;
    std::vector<std::unique_ptr<Collective>> cs;
    TrainRanks(2, config, {batches[0], batches[1]}, rv, cs);
  }
  auto loaded = LoadModelDir(dir + "/step_00000002");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const std::string copy = tmp + "/sharded_copy";
  std::filesystem::copy(dir, copy, std::filesystem::copy_options::recursive);
  {
    InProcessRendezvous rv;
    std::vector<std::unique_ptr<Collective>> cs;
    auto learners = TrainRanks(2, config, {batches[2], batches[3]}, rv, cs);
    EXPECT_EQ(learners[0]->resumed_from(), dir + "/step_00000002");
    EXPECT_TRUE(Bitwise(Consolidated(learners), straight));
  }
  LearnerConfig one = config;
  one.trainer.sharding = Sharding::kNone;
  one.checkpoint_every = 0;
  one.checkpoint_dir = copy;
  auto single = SingleRankCollective();
  auto alone = Learner::Create(TinyTestModel(), one, single.get());
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_EQ((*alone)->trainer().step(), 2);
  for (int i = 2; i < 4; ++i) ASSERT_TRUE((*alone)->TrainStep(batches[i]).ok());
  std::vector<std::unique_ptr<Learner>> just_one;
  just_one.push_back(std::move(*alone));
  const std::vector<at::Tensor> a = Consolidated(just_one);  // name order, as `straight`
  ASSERT_EQ(a.size(), straight.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].allclose(straight[i], 1e-5, 1e-6));
}

TEST(LearnerServiceTest, TrainStepGetWeightsAndCheckpointOverGrpc) {
  auto single = SingleRankCollective();
  const std::string checkpoint_dir = testing::TestTempDir();
  auto learner = Learner::Create(TinyTestModel(), Config(checkpoint_dir), single.get());
  ASSERT_TRUE(learner.ok());
  int steps_seen = 0;
  LearnerServiceImpl service(
      learner->get(), [&](const StepOutcome&) { ++steps_seen; }, 5);
  auto server = GrpcServer::Start("127.0.0.1:0", {&service});
  ASSERT_TRUE(server.ok());
  auto stub =
      LearnerService::NewStub(MakeChannel("127.0.0.1:" + std::to_string((*server)->port())));

  // A batch in two parts.
  RolloutBatch batch = Batches(1)[0];
  TrainBatchPart whole = BatchToProto(batch);
  TrainBatchPart first, second;
  *first.add_groups() = whole.groups(0);
  *second.add_groups() = whole.groups(1);
  second.set_last(true);
  {
    grpc::ClientContext context;
    TrainStepResult result;
    auto writer = stub->TrainStep(&context, &result);
    ASSERT_TRUE(writer->Write(first));
    ASSERT_TRUE(writer->Write(second));
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(result.step(), 1);
    EXPECT_EQ(result.policy_version(), 1);
    EXPECT_FALSE(result.skipped());
    EXPECT_TRUE(result.metrics().count("actor/pg_loss"));
    EXPECT_TRUE(result.metrics().count("timing_s/publish_weights"));
    EXPECT_EQ(steps_seen, 1);
  }
  {  // A stream without its last part is refused.
    grpc::ClientContext context;
    TrainStepResult result;
    auto writer = stub->TrainStep(&context, &result);
    ASSERT_TRUE(writer->Write(first));
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext context;
    GetWeightsRequest request;
    request.set_min_version(1);
    auto reader = stub->GetWeights(&context, request);
    WeightAssembler assembler;
    WeightsMessage m;
    while (reader->Read(&m)) ASSERT_TRUE(assembler.Add(m).ok());
    ASSERT_TRUE(reader->Finish().ok());
    auto weights = assembler.Finish();
    ASSERT_TRUE(weights.ok());
    EXPECT_EQ(assembler.version(), 1);
    MimoModel copy = TinyTestModel(TinyTestConfig(), 42);
    ASSERT_TRUE(ImportWeights(copy, *weights, "GetWeights").ok());
    EXPECT_TRUE(Bitwise(Params(copy), Params((*learner)->trainer().model())));
  }
  {
    grpc::ClientContext context;
    CheckpointResponse response;
    ASSERT_TRUE(stub->Checkpoint(&context, CheckpointRequest(), &response).ok());
    EXPECT_EQ(response.step(), 1);
    EXPECT_TRUE(LoadModelDir(response.path()).ok());
    EXPECT_EQ(response.path().rfind(checkpoint_dir, 0), 0u) << response.path();
  }
  {  // A name under checkpoint_dir is written there.
    grpc::ClientContext context;
    CheckpointRequest request;
    request.set_directory("manual");
    CheckpointResponse response;
    ASSERT_TRUE(stub->Checkpoint(&context, request, &response).ok());
    EXPECT_EQ(response.path().rfind(checkpoint_dir + "/manual", 0), 0u) << response.path();
    EXPECT_TRUE(LoadModelDir(response.path()).ok());
  }
  // Anywhere else is refused before anything is written.
  const std::string outside = testing::TestTempDir("_outside");
  for (const std::string& bad : {outside, std::string("../escape"), std::string("/etc")}) {
    grpc::ClientContext context;
    CheckpointRequest request;
    request.set_directory(bad);
    CheckpointResponse response;
    grpc::Status status = stub->Checkpoint(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
  }
  EXPECT_TRUE(std::filesystem::is_empty(outside));
  EXPECT_FALSE(std::filesystem::exists(checkpoint_dir + "/../escape"));
}

// A GetWeights whose client gave up (its deadline passed) frees its server thread at once: the
// server then shuts down promptly instead of waiting out the 600 s version wait.
TEST(LearnerServiceTest, AnAbandonedGetWeightsDoesNotPinTheServer) {
  auto single = SingleRankCollective();
  auto learner = Learner::Create(TinyTestModel(), Config(), single.get());
  ASSERT_TRUE(learner.ok());
  LearnerServiceImpl service(learner->get(), nullptr, 600);
  auto server = GrpcServer::Start("127.0.0.1:0", {&service});
  ASSERT_TRUE(server.ok());
  auto stub =
      LearnerService::NewStub(MakeChannel("127.0.0.1:" + std::to_string((*server)->port())));
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
    GetWeightsRequest request;
    request.set_min_version(100);  // never comes
    auto reader = stub->GetWeights(&context, request);
    WeightsMessage m;
    EXPECT_FALSE(reader->Read(&m));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  // Waits for the handler to return: a handler pinned for the 600 s wait would hold the test
  // past its timeout (ctest's, 300 s), which fails it.
  server->reset();
}

// An exception thrown while answering a step (here by on_step, as a metrics writer might) is
// a logged INTERNAL status, not a crash of the gRPC thread, and the learner keeps serving.
TEST(LearnerServiceTest, AnExceptionInTheStepIsAnErrorStatus) {
  auto single = SingleRankCollective();
  auto learner = Learner::Create(TinyTestModel(), Config(), single.get());
  ASSERT_TRUE(learner.ok());
  LearnerServiceImpl service(learner->get(),
                             [](const StepOutcome&) { throw std::runtime_error("disk full"); });
  auto server = GrpcServer::Start("127.0.0.1:0", {&service});
  ASSERT_TRUE(server.ok());
  auto stub =
      LearnerService::NewStub(MakeChannel("127.0.0.1:" + std::to_string((*server)->port())));
  TrainBatchPart whole = BatchToProto(Batches(1)[0]);
  whole.set_last(true);
  grpc::ClientContext context;
  TrainStepResult result;
  auto writer = stub->TrainStep(&context, &result);
  ASSERT_TRUE(writer->Write(whole));
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(status.error_message().find("disk full"), std::string::npos) << status.error_message();
  grpc::ClientContext again;
  RunState state;
  ASSERT_TRUE(stub->GetRunState(&again, RunStateRequest(), &state).ok());
  EXPECT_EQ(state.step(), 1);
}

}  // namespace
}  // namespace seamless
