// RolloutService.LoadWeights over loopback: a bf16 stream is converted in place into the fp32
// parameters; a cut-off or mismatched stream leaves the old version serving, unchanged.
#include "rollout/rollout_service.h"

#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/model/model_files.h"
#include "core/model/test_models.h"
#include "core/service/grpc_server.h"
#include "core/tensors/weight_stream.h"
#include "rollout/continuous_batcher.h"
#include "rollout/rollout_client.h"
#include "rollout/rollout_engine.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;

std::map<std::string, at::Tensor> Snapshot(MimoModel& model) {
  std::map<std::string, at::Tensor> out;
  for (const auto& item : model->named_parameters()) out[item.key()] = item.value().clone();
  return out;
}

bool Same(MimoModel& model, const std::map<std::string, at::Tensor>& want) {
  for (const auto& item : model->named_parameters()) {
    if (!item.value().equal(want.at(item.key()))) return false;
  }
  return true;
}

class RolloutServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions options;
    options.max_running = 2;
    options.max_len = 32;
    auto batcher = ContinuousBatcher::Create(model_, options, /*eos_id=*/-1);
    ASSERT_TRUE(batcher.ok()) << batcher.status();
    engine_ = RolloutEngine::Start(std::move(*batcher), nullptr);
    service_ = std::make_unique<RolloutGrpcService>(engine_.get(), nullptr);
    auto server = GrpcServer::Start("127.0.0.1:0", {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    client_ = std::make_unique<RolloutClient>("127.0.0.1:" + std::to_string(server_->port()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    engine_.reset();
  }

  MimoModel model_ = TinyTestModel(TinyTestConfig(), /*seed=*/1);  // shared with the engine
  std::unique_ptr<RolloutEngine> engine_;
  std::unique_ptr<RolloutGrpcService> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<RolloutClient> client_;
};

TEST_F(RolloutServiceTest, Bf16WeightsAreConvertedIntoTheParameters) {
  MimoModel other = TinyTestModel(TinyTestConfig(), /*seed=*/2);
  auto bf16 = ExportWeights(other, DType::kBF16);
  ASSERT_TRUE(bf16.ok());
  MimoModel rounded = TinyTestModel(TinyTestConfig(), /*seed=*/3);
  ASSERT_TRUE(ImportWeights(rounded, *bf16, "bf16").ok());
  std::vector<at::Tensor> storage;  // the parameters keep their storage (converted in place)
  for (auto& p : model_->parameters()) storage.push_back(p);

  auto version = client_->LoadWeights(*bf16, 4);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 4);
  EXPECT_TRUE(Same(model_, Snapshot(rounded)));
  size_t i = 0;
  for (auto& p : model_->parameters()) {
    EXPECT_EQ(p.data_ptr(), storage[i++].data_ptr());
    EXPECT_EQ(p.scalar_type(), at::kFloat);
  }
  EXPECT_EQ(engine_->Status().weight_version, 4);
}

TEST_F(RolloutServiceTest, CutOffOrMismatchedStreamsKeepTheOldVersion) {
  auto good = ExportWeights(model_, DType::kBF16);
  ASSERT_TRUE(good.ok());
  ASSERT_TRUE(client_->LoadWeights(*good, 1).ok());
  const auto before = Snapshot(model_);

  MimoModel other = TinyTestModel(TinyTestConfig(), /*seed=*/2);
  auto next = ExportWeights(other, DType::kBF16);
  ASSERT_TRUE(next.ok());
  {  // cut off before the end message
    grpc::ClientContext context;
    LoadWeightsResponse response;
    auto writer = client_->stub()->LoadWeights(&context, &response);
    (void)StreamWeights(*next, 2, [&](const WeightsMessage& m) {
      if (m.has_end()) return absl::CancelledError("cut");
      return writer->Write(m) ? absl::OkStatus() : absl::UnavailableError("closed");
    });
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    EXPECT_FALSE(status.ok());
    EXPECT_THAT(status.error_message(), HasSubstr("incomplete weight stream"));
  }
  RawTensorMap wrong = *next;
  wrong["model.norm.weight"].shape = {2, int64_t(wrong["model.norm.weight"].data.size() / 4)};
  auto rejected = client_->LoadWeights(wrong, 3);
  ASSERT_FALSE(rejected.ok());
  EXPECT_THAT(rejected.status().message(), HasSubstr("model.norm.weight"));

  EXPECT_TRUE(Same(model_, before));
  EXPECT_EQ(engine_->Status().weight_version, 1);
  auto samples = client_->Generate([] {
    GroupRequest g;
    g.group_id = "after";
    g.prompt = {1, 2, 3};
    g.num_samples = 1;
    g.sampling.max_new_tokens = 4;
    return g;
  }());
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_EQ((*samples)[0].versions, std::vector<int64_t>((*samples)[0].tokens.size(), 1));
}

}  // namespace
}  // namespace seamless
