// seamless bench learner: GRPO training throughput on the default model (tokens/s and FLOP/s
// against the matmul ceiling measured in the same run), the 2-rank Gloo all-reduce of a
// gradient as a share of the step, checkpoint save/load times, and weight publishing over
// loopback gRPC against a plain copy of the same bytes. Readable lines, then one JSON line.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/base/status_macros.h"
#include "core/model/default_model.h"
#include "core/model/model_files.h"
#include "core/service/grpc_server.h"
#include "core/service/grpc_status.h"
#include "core/tensors/weight_stream.h"
#include "learner/checkpoint.h"
#include "learner/collective.h"
#include "learner/trainer.h"
#include "learner/weight_publisher.h"
#include "nlohmann/json.hpp"
#include "proto/rollout.grpc.pb.h"
#include "tools/bench_util.h"
#include "tools/benches.h"
#include "tools/subcommand.h"

namespace seamless {
namespace {

// A rollout worker's receiving side without a model: assemble and verify the stream.
class SinkWorker final : public RolloutService::Service {
 public:
  grpc::Status LoadWeights(grpc::ServerContext*, grpc::ServerReader<WeightsMessage>* reader,
                           LoadWeightsResponse* response) override {
    WeightAssembler assembler;
    WeightsMessage m;
    while (reader->Read(&m)) {
      absl::Status s = assembler.Add(m);
      if (!s.ok()) return ToGrpcStatus(s);
    }
    auto done = assembler.Finish();
    if (!done.ok()) return ToGrpcStatus(done.status());
    response->set_version(assembler.version());
    return grpc::Status::OK;
  }
};

RolloutBatch SyntheticBatch(const ModelConfig& c, int64_t groups, int64_t group_size,
                            int64_t prompt_len, int64_t response_len) {
  std::mt19937_64 rng(1);
  RolloutBatch batch;
  for (int64_t g = 0; g < groups; ++g) {
    RolloutGroup group;
    group.group_id = std::to_string(g);
    std::vector<int32_t> prompt(static_cast<size_t>(prompt_len));
    for (auto& t : prompt) t = int32_t(rng() % c.vocab_size);
    for (int64_t i = 0; i < group_size; ++i) {
      RolloutSequence s;
      s.prompt_ids = prompt;
      s.response_ids.resize(size_t(response_len));
      for (auto& t : s.response_ids) t = int32_t(rng() % c.vocab_size);
      // Near the uniform model's log-prob, so ratios are about 1 (on-policy-like).
      s.behaviour_logprobs.assign(size_t(response_len), -std::log(float(c.vocab_size)));
      s.reward = double(rng() % 2);
      group.sequences.push_back(std::move(s));
    }
    batch.groups.push_back(std::move(group));
  }
  return batch;
}

}  // namespace

absl::Status RunBenchLearner(const std::vector<std::string>& args) {
  int64_t groups = 8, group_size = 4, prompt_len = 64, response_len = 192, micro = 8, rounds = 3;
  std::string scratch = "/tmp/seamless-bench-learner";
  FlagSet flags("seamless bench learner [flags]",
                "GRPO training on the default model (CPU, fp32): training tokens/s and FLOP/s as\n"
                "a share of the fp32 matmul ceiling (train FLOPs = 3 x forward), the 2-rank Gloo\n"
                "all-reduce of the gradient as a share of a step, checkpoint save/load seconds, and\n"
                "publishing weights over loopback gRPC against a plain copy of the bytes.");
  flags.AddInt("groups", &groups, "Prompt groups per batch");
  flags.AddInt("group-size", &group_size, "Samples per group");
  flags.AddInt("prompt-len", &prompt_len, "Prompt tokens per sample");
  flags.AddInt("response-len", &response_len, "Response tokens per sample");
  flags.AddInt("micro-batch-size", &micro, "Sequences per forward/backward");
  flags.AddInt("rounds", &rounds, "Timed rounds (best is reported)");
  flags.AddString("scratch", &scratch, "Directory for the checkpoint measurement");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));

  MimoModel model = CreateDefaultModel(0);
  const ModelConfig config = model->config();
  RolloutBatch batch = SyntheticBatch(config, groups, group_size, prompt_len, response_len);
  const int64_t sequences = groups * group_size, seq_len = prompt_len + response_len;
  const double tokens = double(sequences * seq_len);

  // 1. Training step vs the matmul ceiling, measured in alternation.
  TrainerConfig tc;
  tc.micro_batch_size = micro;
  auto single = SingleRankCollective();
  ASSIGN_OR_RETURN(auto trainer, GrpoTrainer::Create(model, tc, single.get()));
  MatmulPeak peak(at::kCPU);
  double step_s = 1e30, matmul_s = 1e30;
  RETURN_IF_ERROR(trainer->Step(batch).status());  // warm-up
  for (int64_t r = 0; r < rounds; ++r) {
    matmul_s = std::min(matmul_s, peak.MeasureSeconds(1));
    const auto start = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(trainer->Step(batch).status());
    step_s = std::min(step_s, SecondsSince(start));
  }
  const double train_flops = 3.0 * ForwardFlops(config, sequences, seq_len);
  const double train_gflops = train_flops / step_s / 1e9;
  const double peak_gflops = peak.flops() / matmul_s / 1e9;
  std::printf("training step (%lld x %lld tokens):  %8.3f s, %8.0f tokens/s\n",
              static_cast<long long>(sequences), static_cast<long long>(seq_len), step_s,
              tokens / step_s);
  std::printf("train FLOP/s vs matmul ceiling:    %8.2f (%.1f of %.1f GFLOP/s)\n",
              train_gflops / peak_gflops, train_gflops, peak_gflops);

  // 2. The gradient all-reduce between 2 in-process ranks over Gloo (loopback TCP).
  std::vector<at::Tensor> grads;
  for (auto& p : model->parameters()) grads.push_back(at::randn(p.sizes()));
  InProcessRendezvous rendezvous;
  double allreduce_s = 1e30;
  absl::Status rank_status[2];
  {
    std::vector<std::thread> threads;
    std::vector<double> best(2, 1e30);
    for (int r = 0; r < 2; ++r) {
      threads.emplace_back([&, r] {
        auto c = rendezvous.Join(r, 2);
        if (!c.ok()) {
          rank_status[r] = c.status();
          return;
        }
        std::vector<at::Tensor> mine;
        for (auto& g : grads) mine.push_back(g.clone());
        for (int64_t i = 0; i < rounds + 1; ++i) {
          const auto start = std::chrono::steady_clock::now();
          rank_status[r] = AllReduceCoalesced(**c, mine);
          if (!rank_status[r].ok()) return;
          if (i > 0) best[r] = std::min(best[r], SecondsSince(start));
        }
      });
    }
    for (auto& t : threads) t.join();
    RETURN_IF_ERROR(rank_status[0]);
    RETURN_IF_ERROR(rank_status[1]);
    allreduce_s = std::max(best[0], best[1]);
  }
  const double allreduce_share = allreduce_s / (allreduce_s + step_s / 2);
  std::printf("2-rank Gloo all-reduce of %lld params: %8.4f s, %.1f%% of a 2-rank step\n",
              static_cast<long long>(config.ParameterCount()), allreduce_s,
              100 * allreduce_share);

  // 3. Checkpoint save and load.
  ASSIGN_OR_RETURN(RawTensorMap weights, ExportWeights(trainer->model(), DType::kF32));
  CheckpointState state;
  state.step = 1;
  auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(SaveCheckpoint(scratch, config, weights, trainer->optimizer().ExportState(),
                                 state, 1)
                      .status());
  const double save_s = SecondsSince(start);
  start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto loaded, LoadLatestCheckpoint(scratch));
  RETURN_IF_ERROR(ImportWeights(trainer->model(), loaded->weights, loaded->path));
  const double load_s = SecondsSince(start);
  std::printf("checkpoint save / load:            %8.4f s / %.4f s\n", save_s, load_s);

  // 4. Publishing over loopback gRPC vs copying the same bytes.
  SinkWorker sink;
  ASSIGN_OR_RETURN(auto server, GrpcServer::Start("127.0.0.1:0", {&sink}));
  WeightPublisher::Options po;
  po.workers = {"127.0.0.1:" + std::to_string(server->port())};
  WeightPublisher publisher(po);
  double publish_s = 1e30, copy_s = 1e30;
  uint64_t bytes = 0;
  for (int64_t r = 0; r < rounds; ++r) {
    start = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(publisher.Publish(trainer->model(), r + 1));
    publish_s = std::min(publish_s, SecondsSince(start));
    bytes = publisher.last_stats().bytes;
    start = std::chrono::steady_clock::now();
    RawTensorMap copy = weights;  // every tensor's bytes, copied once
    copy_s = std::min(copy_s, SecondsSince(start));
  }
  std::printf("publish %.1f MB (export + gRPC):   %8.4f s; plain copy %.4f s (%.1fx)\n",
              double(bytes) / 1e6, publish_s, copy_s, publish_s / copy_s);

  nlohmann::json out = {{"bench", "learner"},
                        {"sequences", sequences},
                        {"seq_len", seq_len},
                        {"train_step_s", step_s},
                        {"train_tokens_per_s", tokens / step_s},
                        {"train_gflops", train_gflops},
                        {"matmul_gflops", peak_gflops},
                        {"train_flops_vs_matmul_peak", train_gflops / peak_gflops},
                        {"gloo_allreduce_s", allreduce_s},
                        {"gloo_allreduce_share_2rank", allreduce_share},
                        {"checkpoint_save_s", save_s},
                        {"checkpoint_load_s", load_s},
                        {"publish_s", publish_s},
                        {"publish_bytes", bytes},
                        {"plain_copy_s", copy_s},
                        {"publish_vs_copy", publish_s / copy_s}};
  std::printf("%s\n", out.dump().c_str());
  return absl::OkStatus();
}

}  // namespace seamless
