#include "learner/weight_publisher.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "core/base/mutex_handoff.h"
#include "core/base/status_macros.h"
#include "core/model/model_files.h"
#include "core/model/test_models.h"
#include "core/service/grpc_server.h"
#include "core/service/grpc_status.h"
#include "core/tensors/weight_source.h"
#include "core/tensors/weight_stream.h"
#include "proto/rollout.grpc.pb.h"

namespace seamless {

// A LoadWeights stream read whole and assembled (with the end's checks).
absl::StatusOr<RawTensorMap> ReadStream(grpc::ServerReader<WeightsMessage>* reader,
                                        int64_t* version) {
  WeightAssembler assembler;
  WeightsMessage m;
  while (reader->Read(&m)) RETURN_IF_ERROR(assembler.Add(m));
  ASSIGN_OR_RETURN(RawTensorMap weights, assembler.Finish());
  *version = assembler.version();
  return weights;
}

// A rollout worker's LoadWeights: assemble, verify, import into its own model.
class FakeRolloutWorker final : public RolloutService::Service {
 public:
  FakeRolloutWorker() : model(TinyTestModel(TinyTestConfig(), /*seed=*/99)) {}
  grpc::Status LoadWeights(grpc::ServerContext*, grpc::ServerReader<WeightsMessage>* reader,
                           LoadWeightsResponse* response) override {
    int64_t received = -1;
    auto weights = ReadStream(reader, &received);
    if (!weights.ok()) return ToGrpcStatus(weights.status());
    absl::MutexLock lock(&mu);
    absl::Status s = ImportWeights(model, *weights, "stream");
    if (!s.ok()) return ToGrpcStatus(s);
    version = received;
    names.clear();
    for (const auto& [name, t] : *weights) names.push_back(name);
    response->set_version(version);
    return grpc::Status::OK;
  }
  absl::Mutex mu;
  MimoModel model ABSL_GUARDED_BY(mu);
  int64_t version ABSL_GUARDED_BY(mu) = -1;
  std::vector<std::string> names ABSL_GUARDED_BY(mu);
};

// A worker that, while `hang` is set, accepts a LoadWeights call and never reads from it (until
// the call is cancelled); otherwise it assembles the stream and records its version.
class HangingWorker final : public RolloutService::Service {
 public:
  grpc::Status LoadWeights(grpc::ServerContext* context, grpc::ServerReader<WeightsMessage>* reader,
                           LoadWeightsResponse* response) override {
    ++calls;
    while (hang && !context->IsCancelled()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    int64_t received = -1;
    auto weights = ReadStream(reader, &received);
    if (!weights.ok()) return ToGrpcStatus(weights.status());
    version = received;
    response->set_version(received);
    return grpc::Status::OK;
  }
  std::atomic<bool> hang{true};
  std::atomic<int> calls{0};
  std::atomic<int64_t> version{-1};
};

namespace {

std::string Address(const std::unique_ptr<GrpcServer>& server) {
  return "127.0.0.1:" + std::to_string(server->port());
}

// 48 MiB in 1 MiB chunks: far more than gRPC buffers for a worker that does not read.
RawTensorMap BigWeights() {
  RawTensorMap m;
  for (int i = 0; i < 3; ++i) {
    RawTensor& t = m["w" + std::to_string(i)];
    t.dtype = DType::kBF16;
    t.shape = {8 << 20};
    t.data.assign(16 << 20, char('a' + i));
  }
  return m;
}

// Locks `mu` and hands the hold to the caller.
HeldMutex Hold(absl::Mutex& mu) {
  MutexHandoffLock lock(&mu);
  return lock.Handoff();
}

// Whether `mu` is free now (it is left unlocked either way).
bool Free(absl::Mutex& mu) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (!mu.TryLock()) return false;
  mu.Unlock();
  return true;
}

// A source that holds `mu` for as long as it lives (as the learner's does).
class LockedSource final : public WeightSource {
 public:
  LockedSource(absl::Mutex& mu, const RawTensorMap& m) : lock_(Hold(mu)), inner_(m) {}
  const std::vector<TensorSpec>& specs() const override { return inner_.specs(); }
  absl::Status Read(size_t i, const Sink& sink) override { return inner_.Read(i, sink); }

 private:
  HeldMutex lock_;
  RawTensorMapSource inner_;
};

bool SameWeights(MimoModel& a, MimoModel& b) {
  auto pb = b->named_parameters();
  for (auto& item : a->named_parameters()) {
    if (!item.value().equal(pb[item.key()])) return false;
  }
  return true;
}

TEST(WeightPublisherTest, AParameterWrittenIntoAMessageIsTheBytesItReads) {
  // The publisher's source writes parameters into a message buffer the same way.
  MimoModel model = TinyTestModel();
  ParameterWeightSource source(model, DType::kBF16);
  ASSERT_TRUE(source.WritesInto(0));
  const TensorSpec& spec = source.specs()[0];
  std::vector<char> written(spec.NumBytes());
  ASSERT_TRUE(source.WriteInto(0, 0, written.data(), written.size()).ok());
  std::string read;
  ASSERT_TRUE(source
                  .Read(0,
                        [&](absl::string_view piece) {
                          read.append(piece.data(), piece.size());
                          return absl::OkStatus();
                        })
                  .ok());
  EXPECT_EQ(std::string(written.data(), written.size()), read);
  EXPECT_FALSE(source.WriteInto(0, 1, written.data(), 2).ok());  // not on an element
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
    absl::MutexLock lock(&w->mu);
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
  EXPECT_EQ(latest->version, 3);
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
  {
    absl::MutexLock lock(&w1.mu);
    EXPECT_EQ(w1.version, 1);
  }
  EXPECT_EQ(publisher.last_stats().workers_failed, 1);
  EXPECT_TRUE(publisher.WaitForVersion(1, 0.01).ok());
}

TEST(WeightPublisherTest, AHungWorkerIsDroppedWithinTheStallBoundAndCaughtUpLater) {
  HangingWorker healthy, hung;
  healthy.hang = false;
  auto s1 = GrpcServer::Start("127.0.0.1:0", {&healthy});
  auto s2 = GrpcServer::Start("127.0.0.1:0", {&hung});
  ASSERT_TRUE(s1.ok() && s2.ok());
  const RawTensorMap weights = BigWeights();
  WeightPublisher::Options options;
  options.workers = {Address(*s1), Address(*s2)};
  options.timeout_s = 120;  // the push deadline is not what bounds a hung worker
  options.stall_timeout_s = 1;
  options.window_chunks = 4;
  options.catchup_retry_s = 0.2;
  options.catchup_max_retry_s = 0.5;
  MetricsRegistry metrics;
  options.metrics = &metrics;
  absl::Mutex params_mu;  // outlives the publisher, whose catch-up may open sources
  std::atomic<int64_t> current{1};
  WeightPublisher publisher(options);
  publisher.SetSourceOpener([&]() -> absl::StatusOr<VersionedSource> {
    auto source = std::make_unique<LockedSource>(params_mu, weights);
    return VersionedSource{std::move(source), current};
  });

  RawTensorMapSource source(weights);
  const auto start = std::chrono::steady_clock::now();
  absl::Status published;
  {
    absl::MutexLock lock(&params_mu);  // as TrainStep holds the learner's lock
    published = publisher.Publish(source, 1);
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(took, 30) << "Publish must not wait for the push deadline";
  EXPECT_FALSE(published.ok());
  EXPECT_NE(published.message().find(Address(*s2)), std::string::npos) << published;
  PublishStats stats = publisher.last_stats();
  EXPECT_EQ(healthy.version, 1);
  EXPECT_EQ(stats.workers_ok, 1);
  EXPECT_EQ(stats.workers_dropped, 1);
  EXPECT_EQ(stats.workers_failed, 1);
  EXPECT_GT(stats.wait_s, 0.5) << "the source waited for the hung worker until it was dropped";
  EXPECT_EQ(publisher.behind(), std::vector<std::string>{Address(*s2)});
  EXPECT_NE(metrics.RenderPrometheus().find("seamless_learner_weight_push_dropped_total 1\n"),
            std::string::npos);

  // The hung worker recovers: the catch-up pushes it the current version.
  hung.hang = false;
  for (int i = 0; i < 400 && hung.version != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(hung.version, 1);
  for (int i = 0; i < 100 && !publisher.behind().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(publisher.behind().empty());
  EXPECT_NE(metrics.RenderPrometheus().find("seamless_learner_weight_catchup_total 1\n"),
            std::string::npos);

  // Back in the fan-out: the next version reaches it with the regular push.
  const int calls = hung.calls;
  current = 2;
  {
    absl::MutexLock lock(&params_mu);
    RawTensorMapSource again(weights);
    (void)publisher.Publish(again, 2);
  }
  EXPECT_EQ(hung.version, 2);
  EXPECT_EQ(healthy.version, 2);
  EXPECT_EQ(hung.calls, calls + 1);
  EXPECT_EQ(publisher.last_stats().workers_ok, 2);
  EXPECT_EQ(publisher.last_stats().workers_behind, 0);
}

TEST(WeightPublisherTest, GetWeightsStreamsTheCurrentVersionFromTheSource) {
  MimoModel model = TinyTestModel();
  absl::Mutex params_mu;
  std::atomic<int64_t> current{0};
  int opened = 0;
  WeightPublisher publisher(WeightPublisher::Options{});
  publisher.SetSourceOpener([&]() -> absl::StatusOr<VersionedSource> {
    ++opened;
    auto lock = std::make_shared<HeldMutex>(Hold(params_mu));
    // The parameters, held still for as long as the source lives.
    class Held final : public WeightSource {
     public:
      Held(MimoModel& m, std::shared_ptr<HeldMutex> lock)
          : lock_(std::move(lock)), inner_(m, DType::kBF16) {}
      const std::vector<TensorSpec>& specs() const override { return inner_.specs(); }
      absl::Status Read(size_t i, const Sink& sink) override { return inner_.Read(i, sink); }

     private:
      std::shared_ptr<HeldMutex> lock_;
      ParameterWeightSource inner_;
    };
    return VersionedSource{std::make_unique<Held>(model, lock), current};
  });
  EXPECT_EQ(publisher.WaitForVersion(0, 0.05).status().code(), absl::StatusCode::kDeadlineExceeded)
      << "nothing is current yet";
  publisher.SetVersion(0);
  current = 3;
  publisher.SetVersion(3);
  EXPECT_EQ(publisher.WaitForVersion(4, 0.05).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(opened, 0);

  auto found = publisher.WaitForVersion(2, 1);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->version, 3);
  EXPECT_FALSE(Free(params_mu)) << "the source holds the parameters";
  WeightAssembler assembler;
  ASSERT_TRUE(StreamWeights(*found->source, found->version, [&](WeightsMessage&& m) {
                return assembler.Add(m);
              }).ok());
  found->source.reset();
  ASSERT_TRUE(Free(params_mu));
  auto streamed = assembler.Finish();
  ASSERT_TRUE(streamed.ok()) << streamed.status();
  EXPECT_EQ(assembler.version(), 3);
  auto exported = ExportWeights(model, DType::kBF16);
  ASSERT_TRUE(exported.ok());
  EXPECT_EQ(*streamed, *exported) << "one tensor at a time, same bytes as a full export";

  // A waiter wakes when a newer version becomes current.
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    current = 4;
    publisher.SetVersion(4);
  });
  auto newer = publisher.WaitForVersion(4, 5);
  later.join();
  ASSERT_TRUE(newer.ok());
  EXPECT_EQ(newer->version, 4);
}

// A waiter whose caller went away (a cancelled GetWeights) returns within a slice of the wait,
// not after its 600 s timeout.
TEST(WeightPublisherTest, ACancelledWaitReturnsPromptly) {
  WeightPublisher publisher(WeightPublisher::Options{});
  publisher.SetVersion(1);
  std::atomic<bool> gone{false};
  std::thread leave([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    gone = true;
  });
  // CANCELLED, not the DEADLINE_EXCEEDED that 600 s of waiting would end in.
  auto found = publisher.WaitForVersion(5, 600, [&] { return gone.load(); });
  leave.join();
  EXPECT_EQ(found.status().code(), absl::StatusCode::kCancelled) << found.status();
}

TEST(WeightPublisherTest, PublishingTheModelStreamsItsParametersWithAnOpener) {
  FakeRolloutWorker w1, w2;
  auto s1 = GrpcServer::Start("127.0.0.1:0", {&w1});
  auto s2 = GrpcServer::Start("127.0.0.1:0", {&w2});
  ASSERT_TRUE(s1.ok() && s2.ok());
  MimoModel model = TinyTestModel();
  WeightPublisher::Options options;
  options.workers = {Address(*s1), Address(*s2)};
  options.dtype = DType::kBF16;
  WeightPublisher publisher(options);
  publisher.SetSourceOpener([&]() -> absl::StatusOr<VersionedSource> {
    return VersionedSource{std::make_unique<ParameterWeightSource>(model, DType::kBF16), 5};
  });
  ASSERT_TRUE(publisher.Publish(model, 5).ok());
  auto bf16 = ExportWeights(model, DType::kBF16);
  ASSERT_TRUE(bf16.ok());
  MimoModel rounded = TinyTestModel(TinyTestConfig(), 7);
  ASSERT_TRUE(ImportWeights(rounded, *bf16, "bf16").ok());
  for (FakeRolloutWorker* w : {&w1, &w2}) {
    absl::MutexLock lock(&w->mu);
    EXPECT_EQ(w->version, 5);
    EXPECT_TRUE(SameWeights(w->model, rounded));
  }
  EXPECT_EQ(publisher.last_stats().bytes, uint64_t(model->config().ParameterCount()) * 2);
  EXPECT_EQ(publisher.last_stats().export_s, 0) << "no copy was exported";
}

TEST(WeightPublisherTest, BroadcastWeightsOverGloo) {
  InProcessRendezvous rendezvous;
  std::vector<MimoModel> models{TinyTestModel(TinyTestConfig(), 1),
                                TinyTestModel(TinyTestConfig(), 2)};
  std::vector<std::thread> threads;
  threads.reserve(2);
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
