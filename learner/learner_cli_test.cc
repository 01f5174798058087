// End-to-end tests of `seamless sft` and `seamless learner` processes: kill and resume, two
// ranks over loopback Gloo, and weights pushed to a real rollout worker.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>

#include "core/base/file_util.h"
#include "core/service/grpc_server.h"
#include "learner/rollout_batch.h"
#include "proto/learner.grpc.pb.h"
#include "proto/rollout.grpc.pb.h"
#include "tests/testing/child_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

using testing::ChildProcess;
using testing::RunCommand;
using testing::SeamlessBinary;

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(SftCliTest, KilledAndResumedRunEqualsUninterruptedRun) {
  const std::string dir = testing::TestTempDir();
  std::string data;
  for (int a = 0; a < 5; ++a) {
    for (int b = 0; b < 5; ++b) {
      data += "{\"prompt\": \"" + std::to_string(a) + "+" + std::to_string(b) +
              "=\", \"response\": \"" + std::to_string(a + b) + "\"}\n";
    }
  }
  ASSERT_TRUE(WriteFileAtomically(dir + "/data.jsonl", data).ok());
  const std::string common = SeamlessBinary() + " sft --data " + dir +
                             "/data.jsonl --steps 6 --batch-size 4 --log-every 0";
  auto full = RunCommand(common + " --out " + dir + "/full");
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const std::string resumable =
      common + " --out " + dir + "/part --checkpoint-dir " + dir + "/ck --checkpoint-every 2";
  auto killed = RunCommand(resumable + " --abort-after-step 3");
  EXPECT_EQ(killed.exit_code, 3) << killed.err;  // died after step 3; checkpoint at step 2
  EXPECT_FALSE(FileExists(dir + "/part/model.safetensors"));
  auto resumed = RunCommand(resumable);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resumed from"), std::string::npos) << resumed.err;
  EXPECT_EQ(*ReadFileToString(dir + "/full/model.safetensors"),
            *ReadFileToString(dir + "/part/model.safetensors"));
  // The output is a model directory `seamless generate` can use.
  auto gen = RunCommand(SeamlessBinary() + " generate --model " + dir +
                        "/full --max-new-tokens 2 --temperature 0 '1+1='");
  EXPECT_EQ(gen.exit_code, 0) << gen.err;
}

RolloutBatch SmallBatch() {
  std::mt19937_64 rng(3);
  RolloutBatch batch;
  for (int g = 0; g < 2; ++g) {
    RolloutGroup group{"g" + std::to_string(g), {}};
    for (int i = 0; i < 3; ++i) {
      RolloutSequence s;
      s.prompt_ids = {10, 11, 12};
      for (int j = 0; j < 5; ++j) s.response_ids.push_back(int32_t(3 + rng() % 90));
      s.behaviour_logprobs.assign(5, -4.6f);
      s.reward = double(i % 2);
      group.sequences.push_back(s);
    }
    batch.groups.push_back(group);
  }
  return batch;
}

// A model too large for this machine is refused from its config.json, before any weights are
// read (the directory has none), with the numbers and what to change.
TEST(SftCliTest, BadFlagsAreRefusedBeforeTraining) {
  const std::string dir = testing::TestTempDir();
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/data.jsonl", "{\"prompt\": \"1+1=\", \"response\": \"2\"}\n")
          .ok());
  const std::string sft =
      SeamlessBinary() + " sft --data " + dir + "/data.jsonl --out " + dir + "/out --steps 1 ";
  // --lr nan exited 0 with every weight NaN; a negative rate ran and reported success.
  for (const char* lr : {"nan", "-1", "1e300", "inf"}) {
    auto r = RunCommand(sft + "--lr " + lr);
    EXPECT_EQ(r.exit_code, 1) << lr;
    EXPECT_NE(r.err.find("optim.lr is "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("; valid range [1e-12, 10]"), std::string::npos) << r.err;
  }
  // A batch whose activations cannot fit (--batch-size 100000 took 23 GB): refused with the
  // numbers. 1,000,000 sequences need hundreds of GiB on any machine.
  auto big = RunCommand(sft + "--batch-size 1000000");
  EXPECT_EQ(big.exit_code, 1);
  EXPECT_NE(big.err.find("batch_size 1000000: a micro-batch of 1000000 sequence(s)"),
            std::string::npos)
      << big.err;
  EXPECT_NE(big.err.find("available (MemAvailable); micro_batch_size "), std::string::npos)
      << big.err;
  EXPECT_FALSE(FileExists(dir + "/out"));
}

TEST(LearnerCliTest, AModelThatCannotFitIsRefusedBeforeLoading) {
  const std::string dir = testing::TestTempDir();
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/config.json",
                          R"({"model_type": "qwen2", "vocab_size": 152064, "hidden_size": 8192,
                      "intermediate_size": 29568, "num_hidden_layers": 80,
                      "num_attention_heads": 64, "num_key_value_heads": 8,
                      "max_position_embeddings": 32768})")
          .ok());
  auto r = RunCommand(SeamlessBinary() + " learner --listen 127.0.0.1:0 --model " + dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("GiB per rank"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("available"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("model.safetensors"), std::string::npos) << "refused before loading";
}

TEST(LearnerCliTest, TwoRanksOnLoopbackTrainCheckpointAndPushToARolloutWorker) {
  const std::string dir = testing::TestTempDir();
  auto worker = ChildProcess::Start(
      {SeamlessBinary(), "rollout-worker", "--listen", "127.0.0.1:0", "--max-running", "4"});
  ASSERT_TRUE(worker.ok()) << worker.status();
  auto worker_port = worker->WaitForListeningPort();
  ASSERT_TRUE(worker_port.ok()) << worker_port.status();

  const std::string master = "MASTER_PORT=" + std::to_string(FreePort());
  // Fully sharded ranks: publishing and checkpoints gather from both processes.
  const std::string config = dir + "/learner.yaml";
  ASSERT_TRUE(WriteFileAtomically(config, "trainer:\n  sharding: full\n").ok());
  auto rank1 =
      ChildProcess::Start({"/usr/bin/env", "RANK=1", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1",
                           master, SeamlessBinary(), "learner", "--config", config});
  ASSERT_TRUE(rank1.ok());
  auto rank0 = ChildProcess::Start(
      {"/usr/bin/env", "RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", master, SeamlessBinary(),
       "learner", "--config", config, "--listen", "127.0.0.1:0", "--checkpoint-dir", dir + "/ck",
       "--rollout-workers", "127.0.0.1:" + std::to_string(*worker_port), "--metrics-jsonl",
       dir + "/metrics.jsonl"});
  ASSERT_TRUE(rank0.ok());
  auto port = rank0->WaitForListeningPort();
  ASSERT_TRUE(port.ok()) << port.status();
  auto stub = LearnerService::NewStub(MakeChannel("127.0.0.1:" + std::to_string(*port)));

  for (int step = 1; step <= 2; ++step) {
    grpc::ClientContext context;
    TrainStepResult result;
    auto writer = stub->TrainStep(&context, &result);
    RolloutBatch batch = SmallBatch();
    batch.step = step - 1;  // the steps trained before it
    ASSERT_TRUE(writer->Write(BatchToProto(batch)));
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(result.step(), step);
    EXPECT_EQ(result.policy_version(), step);
    EXPECT_TRUE(result.metrics().count("actor/pg_clipfrac"));
  }
  {  // The rollout worker now serves version 2.
    auto rollout =
        RolloutService::NewStub(MakeChannel("127.0.0.1:" + std::to_string(*worker_port)));
    grpc::ClientContext context;
    RolloutStatus status;
    ASSERT_TRUE(rollout->Status(&context, RolloutStatusRequest(), &status).ok());
    EXPECT_EQ(status.policy_version(), 2);
  }
  {
    grpc::ClientContext context;
    CheckpointResponse response;
    ASSERT_TRUE(stub->Checkpoint(&context, CheckpointRequest(), &response).ok());
    EXPECT_EQ(response.step(), 2);
    EXPECT_TRUE(FileExists(response.path() + "/model.safetensors"));
  }
  rank0->Signal(SIGTERM);
  EXPECT_EQ(rank0->Wait(), 0);
  EXPECT_EQ(rank1->Wait(), 0);  // released by rank 0's stop command
  auto metrics = ReadFileToString(dir + "/metrics.jsonl");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->find("\"actor/pg_loss\""), std::string::npos);
  EXPECT_NE(metrics->find("\"perf/memory_optimizer_bytes\""), std::string::npos);

  // A restarted rank 0 (alone now) resumes from the checkpoint.
  auto again = ChildProcess::Start(
      {SeamlessBinary(), "learner", "--listen", "127.0.0.1:0", "--checkpoint-dir", dir + "/ck"});
  ASSERT_TRUE(again.ok());
  auto again_port = again->WaitForListeningPort();
  ASSERT_TRUE(again_port.ok());
  {  // Version 2 is there at once: it came from the checkpoint.
    auto stub2 = LearnerService::NewStub(MakeChannel("127.0.0.1:" + std::to_string(*again_port)));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    GetWeightsRequest request;
    request.set_min_version(2);
    auto reader = stub2->GetWeights(&context, request);
    WeightsMessage m;
    int messages = 0;
    while (reader->Read(&m)) ++messages;
    EXPECT_TRUE(reader->Finish().ok());
    EXPECT_GT(messages, 2);
  }
  again->Signal(SIGTERM);
  EXPECT_EQ(again->Wait(), 0);
}

}  // namespace
}  // namespace seamless
