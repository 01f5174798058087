// The scheduler's gRPC reward backend against a real RewardService in this process.
#include "scheduler/grpc_backends.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "core/base/loopback.h"
#include "core/metrics/metrics.h"
#include "core/service/grpc_server.h"
#include "reward/reward_engine.h"
#include "reward/reward_service.h"

namespace seamless {
namespace {

// A loopback port nobody listens on (yet).
int UnusedPort() {
  sockaddr_in addr;
  auto fd = BindLoopbackSocket(/*listen=*/false, &addr);
  if (!fd.ok()) return -1;
  close(*fd);
  return ntohs(addr.sin_port);
}

// The only reward server is down (restarting: not listening yet) when a sample is scored: the
// score waits for it instead of failing at once, which dropped sample after sample in a burst
// (found by `seamless bench chaos`: "generated too many" within a second of a kill).
TEST(GrpcRewardBackendTest, AScoreWaitsForTheOnlyServerToComeBack) {
  const int port = UnusedPort();
  ASSERT_GT(port, 0);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  GrpcRewardBackend backend({address}, /*threads=*/1, /*deadline_seconds=*/20, /*retries=*/0);
  ScoreJob job;
  job.request_id = "g#1/0";
  job.ability = "math";
  job.response_text = "The answer is \\boxed{42}";
  job.ground_truth = "42";
  std::promise<absl::StatusOr<ScoreResult>> scored;
  backend.Score(job, [&](absl::StatusOr<ScoreResult> r) { scored.set_value(std::move(r)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // refused connections meanwhile

  MetricsRegistry registry;
  RewardConfig config;
  config.workers = 1;
  config.code_enabled = false;  // math only: no sandbox
  auto engine = RewardEngine::Create(config, &registry);
  ASSERT_TRUE(engine.ok()) << engine.status();
  RewardServiceImpl service(engine->get(), &registry);
  auto server = GrpcServer::Start(address, {&service});
  ASSERT_TRUE(server.ok()) << server.status();

  auto future = scored.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  absl::StatusOr<ScoreResult> result = future.get();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->passed);
  (*server)->Shutdown();
}

}  // namespace
}  // namespace seamless
