// Loopback tests of `seamless rollout-worker`: a real worker process, driven by a real client.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/metrics/http_server.h"
#include "core/model/default_model.h"
#include "core/model/model_files.h"
#include "core/tensors/weight_stream.h"
#include "rollout/rollout_client.h"
#include "tests/testing/child_process.h"
#include "tests/testing/subprocess.h"

namespace seamless {
namespace {

using testing::ChildProcess;
using ::testing::HasSubstr;

GroupRequest Group(const std::string& id, int32_t samples, int64_t max_new,
                   uint64_t launch_seq = 0) {
  GroupRequest r;
  r.group_id = id;
  r.prompt = {5, 6, 7, 8, 9};
  r.num_samples = samples;
  r.sampling.temperature = 1.0;
  r.sampling.max_new_tokens = max_new;
  r.sampling.seed = 11;
  r.launch_seq = launch_seq;
  return r;
}

class RolloutWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto child = ChildProcess::Start({testing::SeamlessBinary(), "rollout-worker", "--listen",
                                      "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
                                      "--max-queued", "64", "--max-running", "8"});
    ASSERT_TRUE(child.ok()) << child.status();
    worker_ = std::make_unique<ChildProcess>(std::move(*child));
    auto metrics_line = worker_->WaitForLine("metrics on", std::chrono::seconds(60));
    ASSERT_TRUE(metrics_line.ok()) << metrics_line.status();
    std::string port_text = metrics_line->substr(metrics_line->rfind(':') + 1);
    port_text = port_text.substr(0, port_text.find('/'));
    ASSERT_TRUE(absl::SimpleAtoi(port_text, &metrics_port_)) << *metrics_line;
    auto port = worker_->WaitForListeningPort();
    ASSERT_TRUE(port.ok()) << port.status();
    address_ = absl::StrCat("127.0.0.1:", *port);
    client_ = std::make_unique<RolloutClient>(address_);
  }

  std::unique_ptr<ChildProcess> worker_;
  std::unique_ptr<RolloutClient> client_;
  std::string address_;
  int metrics_port_ = 0;
};

TEST_F(RolloutWorkerTest, GeneratesAGroupWithBehaviourLogprobsAndVersions) {
  auto samples = client_->Generate(Group("g1", 4, 16));
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 4u);
  std::set<std::string> ids;
  for (const RolloutSample& s : *samples) {
    ids.insert(s.request_id);
    EXPECT_EQ(s.group_id, "g1");
    EXPECT_EQ(s.prompt, (std::vector<int32_t>{5, 6, 7, 8, 9}));
    ASSERT_FALSE(s.tokens.empty());
    EXPECT_EQ(s.logprobs.size(), s.tokens.size());
    EXPECT_EQ(s.versions, std::vector<int64_t>(s.tokens.size(), 0));
    for (float lp : s.logprobs) EXPECT_LE(lp, 0.0f);
    EXPECT_NE(s.finish, Finish::kAborted);
  }
  EXPECT_EQ(ids.size(), 4u);

  auto metrics = HttpGet("127.0.0.1", metrics_port_, "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(*metrics, HasSubstr("# TYPE seamless_rollout_generated_tokens_total counter"));
  EXPECT_THAT(*metrics, HasSubstr("seamless_rollout_samples_total{finish="));
  EXPECT_THAT(*metrics, HasSubstr("seamless_rollout_spec_draft_tokens_total"));
  EXPECT_THAT(*metrics, HasSubstr("seamless_rollout_idle_seconds_total"));
  EXPECT_THAT(*metrics, Not(HasSubstr("seamless_rollout_generated_tokens_total 0\n")));
}

TEST_F(RolloutWorkerTest, BadRequestsAndOverloadGetClearStatuses) {
  GroupRequest hot = Group("bad", 1, 4);
  hot.sampling.temperature = -1;
  auto bad = client_->Generate(hot);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("temperature"));

  GroupRequest unknown = Group("bad2", 1, 4);
  unknown.prompt = {5, 100000};
  auto unk = client_->Generate(unknown);
  EXPECT_EQ(unk.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unk.status().message(), HasSubstr("token id 100000"));

  auto big = client_->Generate(Group("big", 65, 4));  // the worker queues at most 64
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted) << big.status();

  // The worker is still fine.
  EXPECT_TRUE(client_->Generate(Group("ok", 2, 4)).ok());
}

TEST_F(RolloutWorkerTest, EarlyTerminationAbortsOnlyLaterLaunchesAndReturnsPartialSamples) {
  std::vector<RolloutSample> early, late;
  std::thread first([&] {
    auto s = client_->Generate(Group("early", 2, 30, /*launch_seq=*/1));
    ASSERT_TRUE(s.ok()) << s.status();
    early = *s;
  });
  std::thread second([&] {
    auto s = client_->Generate(Group("late", 2, 480, /*launch_seq=*/2));
    ASSERT_TRUE(s.ok()) << s.status();
    late = *s;
  });
  // Wait until both groups run, then terminate everything launched after seq 1.
  for (int i = 0; i < 200; ++i) {
    auto st = client_->Status();
    if (st.ok() && st->running_sequences() >= 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  AbortSpec spec;
  spec.by_launch_seq = true;
  spec.launched_after = 1;
  auto counts = client_->Abort(spec);
  first.join();
  second.join();
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_EQ(late.size(), 2u);
  ASSERT_EQ(early.size(), 2u);
  for (const auto& s : late) {
    EXPECT_EQ(s.finish, Finish::kAborted);
    EXPECT_LT(s.tokens.size(), 480u);
    EXPECT_EQ(s.logprobs.size(), s.tokens.size());
  }
  for (const auto& s : early) EXPECT_NE(s.finish, Finish::kAborted);
}

TEST_F(RolloutWorkerTest, LoadsVersionedWeightsAndRejectsBrokenStreams) {
  MimoModel fresh = CreateDefaultModel(/*seed=*/5);
  auto weights = ExportWeights(fresh);
  ASSERT_TRUE(weights.ok());
  auto version = client_->LoadWeights(*weights, 5);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 5);
  auto samples = client_->Generate(Group("after", 1, 8));
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ((*samples)[0].versions, std::vector<int64_t>((*samples)[0].tokens.size(), 5));

  // A tensor with the wrong shape: rejected, version 5 keeps serving.
  RawTensorMap wrong = *weights;
  wrong["model.norm.weight"].shape = {2, 64};
  auto rejected = client_->LoadWeights(wrong, 6);
  ASSERT_FALSE(rejected.ok());
  EXPECT_THAT(rejected.status().message(), HasSubstr("model.norm.weight"));

  // A stream cut off before its end message: rejected too; meanwhile health is NOT_SERVING.
  {
    grpc::ClientContext context;
    LoadWeightsResponse response;
    auto writer = client_->stub()->LoadWeights(&context, &response);
    int sent = 0;
    (void)StreamWeights(*weights, 7, [&](const WeightsMessage& m) {
      if (m.has_end() || ++sent > 3) return absl::CancelledError("cut");
      return writer->Write(m) ? absl::OkStatus() : absl::UnavailableError("closed");
    });
    auto serving = client_->Serving();
    ASSERT_TRUE(serving.ok());
    EXPECT_FALSE(*serving) << "health must say NOT_SERVING while weights load";
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    EXPECT_FALSE(status.ok());
    EXPECT_THAT(status.error_message(), HasSubstr("incomplete weight stream"));
  }
  auto status = client_->Status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->policy_version(), 5);
  auto serving = client_->Serving();
  ASSERT_TRUE(serving.ok());
  EXPECT_TRUE(*serving);
  auto metrics = HttpGet("127.0.0.1", metrics_port_, "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(*metrics, HasSubstr("seamless_rollout_weight_version 5\n"));
}

TEST_F(RolloutWorkerTest, AKilledWorkerFailsItsStreamsInsteadOfHanging) {
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    worker_->Signal(SIGKILL);
  });
  auto samples = client_->Generate(Group("doomed", 4, 400));
  killer.join();
  // Either the group finished before the kill or the stream failed; never a hang.
  if (!samples.ok()) {
    EXPECT_EQ(samples.status().code(), absl::StatusCode::kUnavailable) << samples.status();
  }
  auto after = client_->Status();
  EXPECT_FALSE(after.ok());
}

}  // namespace
}  // namespace seamless
