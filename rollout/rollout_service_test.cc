// RolloutService.LoadWeights over loopback: a bf16 stream is decoded into a spare set of fp32
// parameters and swapped in; a cut-off or mismatched stream leaves the old version serving,
// unchanged.
#include "rollout/rollout_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "core/model/model_files.h"
#include "core/model/test_models.h"
#include "core/service/grpc_server.h"
#include "core/tensors/weight_stream.h"
#include "rollout/continuous_batcher.h"
#include "rollout/rollout_client.h"
#include "rollout/rollout_engine.h"
#include "rollout/rollout_proto.h"

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
  MimoModel a = TinyTestModel(TinyTestConfig(), /*seed=*/2);
  MimoModel b = TinyTestModel(TinyTestConfig(), /*seed=*/5);
  auto bf16_a = ExportWeights(a, DType::kBF16);
  auto bf16_b = ExportWeights(b, DType::kBF16);
  ASSERT_TRUE(bf16_a.ok() && bf16_b.ok());
  std::vector<const void*> first;  // the storage the model started with
  for (auto& p : model_->parameters()) first.push_back(p.data_ptr());

  // Decoded into a spare set and swapped in: versions alternate between two sets of
  // storage (no fresh memory per version), each holding exactly what was sent.
  std::vector<const void*> second;
  for (int64_t v = 4; v <= 6; ++v) {
    const RawTensorMap& sent = v == 5 ? *bf16_b : *bf16_a;
    MimoModel rounded = TinyTestModel(TinyTestConfig(), /*seed=*/3);
    ASSERT_TRUE(ImportWeights(rounded, sent, "bf16").ok());
    auto version = client_->LoadWeights(sent, v);
    ASSERT_TRUE(version.ok()) << version.status();
    EXPECT_EQ(*version, v);
    EXPECT_TRUE(Same(model_, Snapshot(rounded))) << "version " << v;
    size_t i = 0;
    for (auto& p : model_->parameters()) {
      EXPECT_EQ(p.scalar_type(), at::kFloat);
      if (v == 4) second.push_back(p.data_ptr());
      EXPECT_EQ(p.data_ptr(), v == 5 ? first[i] : second[i]) << "version " << v;
      if (v == 4) EXPECT_NE(p.data_ptr(), first[i]);
      ++i;
    }
    EXPECT_EQ(engine_->Status().weight_version, v);
    // The engine packed q|k|v end to end (no fused copies); every staged set keeps it so.
    auto params = model_->named_parameters();
    const at::Tensor& q = params["model.layers.0.self_attn.q_proj.weight"];
    const at::Tensor& k = params["model.layers.0.self_attn.k_proj.weight"];
    EXPECT_EQ(static_cast<const char*>(q.data_ptr()) + q.nbytes(), k.data_ptr()) << v;
  }
}

// The decoder thread rejects a stream while the client is still writing (messages queued, a
// read outstanding): the stream is answered with the error, and the next stream loads.
TEST_F(RolloutServiceTest, AStreamRejectedWhileMessagesAreQueuedLeavesTheNextOneLoading) {
  auto good = ExportWeights(model_, DType::kBF16);
  ASSERT_TRUE(good.ok());
  ASSERT_TRUE(client_->LoadWeights(*good, 1).ok());
  const auto before = Snapshot(model_);
  RawTensorMap wrong = *good;
  const std::string first = wrong.begin()->first;  // streamed first (map order)
  wrong[first].shape.push_back(3);
  {
    grpc::ClientContext context;
    LoadWeightsResponse response;
    auto writer = client_->stub()->LoadWeights(&context, &response);
    // 64-byte chunks: hundreds of messages behind the one rejected.
    (void)StreamWeights(
        wrong, 2,
        [&](const WeightsMessage& m) {
          return writer->Write(m) ? absl::OkStatus() : absl::UnavailableError("closed");
        },
        /*max_chunk_bytes=*/64);
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    EXPECT_FALSE(status.ok());
    EXPECT_THAT(status.error_message(), HasSubstr(first));
  }
  EXPECT_TRUE(Same(model_, before));
  EXPECT_EQ(engine_->Status().weight_version, 1);
  auto loaded = client_->LoadWeights(*good, 3);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(engine_->Status().weight_version, 3);
}

// A client that cancels its Generate stream while groups are still generating: the stream is
// finished at once, so the server's shutdown (SIGTERM) does not wait on it forever.
TEST_F(RolloutServiceTest, ACancelledGenerateStreamDoesNotHoldTheShutdown) {
  grpc::ClientContext context;
  auto stream = client_->stub()->Generate(&context);
  for (int g = 0; g < 40; ++g) {
    GroupRequest request;
    request.group_id = "g" + std::to_string(g);
    request.prompt = {1, 2, 3};
    request.num_samples = 4;
    request.sampling.max_new_tokens = 24;
    GenerateStreamMessage m;
    *m.mutable_generate() = ToProto(request);
    ASSERT_TRUE(stream->Write(m));
  }
  Sample first;
  ASSERT_TRUE(stream->Read(&first));  // generation is under way; 159 samples still to come
  context.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  std::promise<void> stopped;
  std::thread shutdown([&] {
    server_->Shutdown();
    stopped.set_value();
  });
  const bool done =
      stopped.get_future().wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  if (!done) shutdown.detach();  // the bug: the process would hang here
  ASSERT_TRUE(done) << "the server's shutdown waited on the cancelled stream";
  shutdown.join();
  server_.reset();
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

// A weight version below the one served is refused and the old weights keep serving; the same
// version again is loaded (a retried push), and newer ones as usual.
TEST_F(RolloutServiceTest, AnOlderWeightVersionIsRefused) {
  auto first = ExportWeights(model_, DType::kBF16);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(client_->LoadWeights(*first, 5).ok());
  const auto before = Snapshot(model_);
  MimoModel other = TinyTestModel(TinyTestConfig(), /*seed=*/2);
  auto stale = ExportWeights(other, DType::kBF16);
  ASSERT_TRUE(stale.ok());
  auto refused = client_->LoadWeights(*stale, 3);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("version 3 after 5"));
  EXPECT_TRUE(Same(model_, before));
  EXPECT_EQ(engine_->Status().weight_version, 5);
  EXPECT_TRUE(client_->LoadWeights(*first, 5).ok()) << "the same version again is idempotent";
  ASSERT_TRUE(client_->LoadWeights(*stale, 6).ok());
  EXPECT_EQ(engine_->Status().weight_version, 6);
  EXPECT_FALSE(Same(model_, before));
}

}  // namespace
}  // namespace seamless
