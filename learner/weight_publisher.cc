#include "learner/weight_publisher.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/model/model_files.h"
#include "core/service/grpc_server.h"
#include "core/service/grpc_status.h"
#include "core/tensors/weight_stream.h"
#include "proto/rollout.grpc.pb.h"

namespace seamless {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

WeightPublisher::WeightPublisher(Options options) : options_(std::move(options)) {}

absl::Status WeightPublisher::Publish(MimoModel& model, int64_t version) {
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(RawTensorMap weights, ExportWeights(model, options_.dtype));
  const double export_s = SecondsSince(start);
  absl::Status status =
      PublishExported(std::make_shared<const RawTensorMap>(std::move(weights)), version);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.export_s = export_s;
  return status;
}

absl::Status WeightPublisher::PublishExported(std::shared_ptr<const RawTensorMap> weights,
                                              int64_t version) {
  PublishStats stats;
  stats.version = version;
  for (const auto& [name, t] : *weights) stats.bytes += t.data.size();
  SetLatest(weights, version);

  const auto start = std::chrono::steady_clock::now();
  std::vector<absl::Status> results(options_.workers.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < options_.workers.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i] = PushWeights(options_.workers[i], *weights, version, options_.timeout_s);
    });
  }
  for (auto& t : threads) t.join();
  stats.push_s = SecondsSince(start);
  std::vector<std::string> failures;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) {
      ++stats.workers_ok;
    } else {
      ++stats.workers_failed;
      failures.push_back(absl::StrCat(options_.workers[i], ": ", results[i].message()));
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_ = stats;
  }
  if (!failures.empty()) {
    return absl::UnavailableError(absl::StrCat("publishing version ", version, " failed on ",
                                               failures.size(),
                                               " worker(s): ", absl::StrJoin(failures, "; ")));
  }
  return absl::OkStatus();
}

void WeightPublisher::SetLatest(std::shared_ptr<const RawTensorMap> weights, int64_t version) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    latest_ = std::move(weights);
    latest_version_ = version;
  }
  cv_.notify_all();
}

absl::StatusOr<std::pair<std::shared_ptr<const RawTensorMap>, int64_t>>
WeightPublisher::WaitForVersion(int64_t min_version, double timeout_s) {
  std::unique_lock<std::mutex> lock(mu_);
  const bool ready = cv_.wait_for(lock, std::chrono::duration<double>(timeout_s), [&] {
    return latest_ != nullptr && latest_version_ >= min_version;
  });
  if (!ready) {
    return absl::DeadlineExceededError(absl::StrCat("no weights of version >= ", min_version,
                                                    " within ", timeout_s,
                                                    " s (latest: ", latest_version_, ")"));
  }
  return std::make_pair(latest_, latest_version_);
}

PublishStats WeightPublisher::last_stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

absl::Status PushWeights(const std::string& address, const RawTensorMap& weights, int64_t version,
                         double timeout_s) {
  auto stub = RolloutService::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(int64_t(timeout_s * 1000)));
  LoadWeightsResponse response;
  std::unique_ptr<grpc::ClientWriter<WeightsMessage>> writer(
      stub->LoadWeights(&context, &response));
  absl::Status sent = StreamWeights(weights, version, [&](const WeightsMessage& m) {
    return writer->Write(m) ? absl::OkStatus()
                            : absl::UnavailableError("the worker closed the stream");
  });
  writer->WritesDone();
  absl::Status finished = FromGrpcStatus(writer->Finish());
  if (!finished.ok()) return finished;  // the server's reason beats "closed the stream"
  RETURN_IF_ERROR(sent);
  if (response.version() != version) {
    return absl::InternalError(
        absl::StrCat("the worker serves version ", response.version(), " after loading ", version));
  }
  return absl::OkStatus();
}

absl::Status BroadcastWeights(Collective& collective, MimoModel& model, int root) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> tensors;
  for (auto& p : model->parameters()) tensors.push_back(p.detach());
  return collective.Broadcast(tensors, root);
}

}  // namespace seamless
