// RewardService in process on port 0, through a real stub: scores, batches, field-naming
// errors, and RESOURCE_EXHAUSTED when the worker pool is full.
#include "reward/reward_service.h"

#include <thread>

#include "core/service/grpc_server.h"
#include "gtest/gtest.h"
#include "reward/reward_client.h"

namespace seamless {
namespace {

class RewardServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RewardConfig config;
    config.workers = 1;
    config.queue_capacity = 0;  // one sample at a time, nothing waiting: easy to fill
    config.sandbox.uid_base = 62200;
    config.sandbox.slots = 2;
    auto engine = RewardEngine::Create(config, &registry_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
    service_ = std::make_unique<RewardServiceImpl>(engine_.get(), &registry_);
    auto server = GrpcServer::Start("127.0.0.1:0", {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    server_->SetServing("seamless.RewardService", true);
    client_ = std::make_unique<RewardClient>("127.0.0.1:" + std::to_string(server_->port()));
    ASSERT_TRUE(client_->WaitUntilServing(std::chrono::seconds(10)).ok());
  }
  void TearDown() override {
    server_.reset();
    service_.reset();
  }

  static ScoreRequest Math(const std::string& response, const std::string& truth) {
    ScoreRequest r;
    r.set_request_id("m");
    r.set_kind(REWARD_KIND_MATH);
    r.set_response_text(response);
    r.set_ground_truth(truth);
    return r;
  }

  MetricsRegistry registry_;
  std::unique_ptr<RewardEngine> engine_;
  std::unique_ptr<RewardServiceImpl> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<RewardClient> client_;
};

TEST_F(RewardServiceTest, ScoresAndBatches) {
  auto r = client_->Score(Math("\\boxed{0.5}", "\\frac12"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->request_id(), "m");
  EXPECT_EQ(r->reward(), 1.0f);
  EXPECT_TRUE(r->passed());
  EXPECT_NE(r->detail_json().find("\"answer\""), std::string::npos);
  ScoreBatchRequest batch;
  *batch.add_requests() = Math("\\boxed{1}", "1");
  *batch.add_requests() = Math("\\boxed{2}", "1");
  // Queue capacity 0 with one worker: a batch of two does not fit.
  auto full = client_->ScoreBatch(batch);
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  batch.mutable_requests()->RemoveLast();
  auto one = client_->ScoreBatch(batch);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->responses_size(), 1);
  EXPECT_EQ(one->responses(0).reward(), 1.0f);
  const std::string metrics = registry_.RenderPrometheus();
  EXPECT_NE(metrics.find("seamless_reward_requests_total{kind=\"math\",result=\"ok\"} 2"),
            std::string::npos)
      << metrics;
  EXPECT_NE(
      metrics.find("seamless_reward_requests_total{kind=\"math\",result=\"resource_exhausted\"} 2"),
      std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("seamless_reward_latency_seconds_count{kind=\"math\"} 2"),
            std::string::npos);
}

TEST_F(RewardServiceTest, ErrorsNameTheField) {
  ScoreRequest unknown = Math("1", "1");
  unknown.set_kind(static_cast<RewardKind>(7));
  auto r = client_->Score(unknown);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("kind"), std::string::npos) << r.status();
  ScoreRequest code = Math("print(1)", "{\"inputs\": [\"\"], \"outputs\": 5}");
  code.set_kind(REWARD_KIND_CODE);
  r = client_->Score(code);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("ground_truth.outputs"), std::string::npos) << r.status();
  ScoreBatchRequest batch;
  *batch.add_requests() = Math("1", "1");
  *batch.add_requests() = unknown;
  auto b = client_->ScoreBatch(batch);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(b.status().message().find("requests[1].kind"), std::string::npos) << b.status();
}

TEST_F(RewardServiceTest, FullPoolAnswersResourceExhaustedAndDeadlinesHold) {
  ScoreRequest slow;
  slow.set_kind(REWARD_KIND_CODE);
  slow.set_response_text("import time\ntime.sleep(1)\nprint(1)");
  slow.set_ground_truth("{\"inputs\": [\"\"], \"outputs\": [\"1\"]}");
  absl::StatusOr<ScoreResponse> first;
  std::thread t([&] { first = client_->Score(slow); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto second = client_->Score(Math("\\boxed{1}", "1"));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted) << second.status();
  t.join();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->reward(), 1.0f) << first->detail();
  // A per-sample deadline shorter than the program's run: its test is cut off.
  slow.set_deadline_seconds(0.3);
  slow.set_response_text("import time\ntime.sleep(5)\nprint(1)");
  auto late = client_->Score(slow);
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->reward(), 0.0f);
  // And the server still answers.
  EXPECT_TRUE(client_->Score(Math("\\boxed{1}", "1")).ok());
}

TEST_F(RewardServiceTest, HostileFieldsAreInvalidArgumentAndTheServerLives) {
  // 150,000 nested objects in extra_info_json killed the server (SIGSEGV) before the guard.
  ScoreRequest deep = Math("\\boxed{1}", "1");
  std::string nested;
  for (int i = 0; i < 150000; ++i) nested += "{\"a\":";
  deep.set_extra_info_json(nested + "1" + std::string(150000, '}'));
  auto r = client_->Score(deep);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find("extra_info: nested 150000 levels deep; at most 512"),
            std::string::npos)
      << r.status();
  // A deadline of 1e300 s is far away, not already past (it overflowed the clock).
  ScoreRequest patient = Math("\\boxed{1}", "1");
  patient.set_deadline_seconds(1e300);
  auto ok = client_->Score(patient);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->reward(), 1.0f);
}

}  // namespace
}  // namespace seamless
