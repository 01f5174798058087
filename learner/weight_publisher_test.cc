#include "learner/weight_publisher.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "core/model/model_files.h"
#include "core/model/test_models.h"
#include "core/service/grpc_server.h"
#include "core/service/grpc_status.h"
#include "core/tensors/weight_stream.h"
#include "proto/rollout.grpc.pb.h"

namespace seamless {

// A rollout worker's LoadWeights: assemble, verify, import into its own model.
class FakeRolloutWorker final : public RolloutService::Service {
 public:
  FakeRolloutWorker() : model(TinyTestModel(TinyTestConfig(), /*seed=*/99)) {}
  grpc::Status LoadWeights(grpc::ServerContext*, grpc::ServerReader<WeightsMessage>* reader,
                           LoadWeightsResponse* response) override {
    WeightAssembler assembler;
    WeightsMessage m;
    while (reader->Read(&m)) {
      absl::Status s = assembler.Add(m);
      if (!s.ok()) return ToGrpcStatus(s);
    }
    auto weights = assembler.Finish();
    if (!weights.ok()) return ToGrpcStatus(weights.status());
    std::lock_guard<std::mutex> lock(mu);
    absl::Status s = ImportWeights(model, *weights, "stream");
    if (!s.ok()) return ToGrpcStatus(s);
    version = assembler.version();
    names.clear();
    for (const auto& [name, t] : *weights) names.push_back(name);
    response->set_version(version);
    return grpc::Status::OK;
  }
  std::mutex mu;
  MimoModel model;
  int64_t version = -1;
  std::vector<std::string> names;
};

namespace {

bool SameWeights(MimoModel& a, MimoModel& b) {
  auto pb = b->named_parameters();
  for (auto& item : a->named_parameters()) {
    if (!item.value().equal(pb[item.key()])) return false;
  }
  return true;
}

TEST(WeightPublisherTest, PushesEveryTensorIncludingMtpToEveryWorker) {
  FakeRolloutWorker w1, w2;
  auto s1 = GrpcServer::Start("127.0.0.1:0", {&w1});
  auto s2 = GrpcServer::Start("127.0.0.1:0", {&w2});
  ASSERT_TRUE(s1.ok() && s2.ok());
  MimoModel model = TinyTestModel();
  WeightPublisher::Options options;
  options.workers = {"127.0.0.1:" + std::to_string((*s1)->port()),
                     "127.0.0.1:" + std::to_string((*s2)->port())};
  WeightPublisher publisher(options);
  ASSERT_TRUE(publisher.Publish(model, 3).ok());
  for (FakeRolloutWorker* w : {&w1, &w2}) {
    EXPECT_EQ(w->version, 3);
    EXPECT_TRUE(SameWeights(w->model, model));
    bool has_mtp = false;
    for (const auto& n : w->names) has_mtp |= n.rfind("model.mtp_layers.0.", 0) == 0;
    EXPECT_TRUE(has_mtp);
  }
  const PublishStats stats = publisher.last_stats();
  EXPECT_EQ(stats.version, 3);
  EXPECT_EQ(stats.workers_ok, 2);
  EXPECT_EQ(stats.bytes, uint64_t(model->config().ParameterCount()) * 4);
  auto latest = publisher.WaitForVersion(3, 0.1);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->second, 3);
  EXPECT_FALSE(publisher.WaitForVersion(4, 0.05).ok());
}

TEST(WeightPublisherTest, AnUnreachableWorkerIsNamedAndTheVersionKept) {
  FakeRolloutWorker w1;
  auto s1 = GrpcServer::Start("127.0.0.1:0", {&w1});
  ASSERT_TRUE(s1.ok());
  MimoModel model = TinyTestModel();
  WeightPublisher::Options options;
  options.workers = {"127.0.0.1:" + std::to_string((*s1)->port()), "127.0.0.1:1"};
  options.timeout_s = 2;
  WeightPublisher publisher(options);
  absl::Status s = publisher.Publish(model, 1);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("127.0.0.1:1"), std::string::npos) << s;
  EXPECT_EQ(w1.version, 1);
  EXPECT_EQ(publisher.last_stats().workers_failed, 1);
  EXPECT_TRUE(publisher.WaitForVersion(1, 0.01).ok());
}

TEST(WeightPublisherTest, BroadcastWeightsOverGloo) {
  InProcessRendezvous rendezvous;
  std::vector<MimoModel> models{TinyTestModel(TinyTestConfig(), 1),
                                TinyTestModel(TinyTestConfig(), 2)};
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      auto c = rendezvous.Join(r, 2);
      ASSERT_TRUE(c.ok());
      EXPECT_TRUE(BroadcastWeights(**c, models[r], 0).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(SameWeights(models[0], models[1]));
}

}  // namespace
}  // namespace seamless
