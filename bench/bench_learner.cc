// seamless bench learner: GRPO training throughput on the default model (tokens/s and FLOP/s
// against the matmul ceiling measured in the same run), the 2-rank Gloo all-reduce of a
// gradient as a share of the step, checkpoint save/load times, and weight publishing over
// loopback gRPC to a real rollout worker (stream + apply, bf16) against a plain loopback TCP copy
// of the same bytes. Readable lines, then one JSON line.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "bench/bench_learner_memory.h"
#include "bench/bench_util.h"
#include "bench/benches.h"
#include "core/base/flags.h"
#include "core/base/loopback.h"
#include "core/base/status_macros.h"
#include "core/model/default_model.h"
#include "core/model/model_files.h"
#include "core/model/model_loading.h"
#include "core/model/torch_raw_tensor.h"
#include "core/service/grpc_server.h"
#include "core/service/grpc_status.h"
#include "core/tensors/weight_stream.h"
#include "learner/checkpoint.h"
#include "learner/collective.h"
#include "learner/trainer.h"
#include "learner/weight_publisher.h"
#include "nlohmann/json.hpp"
#include "proto/rollout.grpc.pb.h"
#include "rollout/continuous_batcher.h"
#include "rollout/rollout_engine.h"
#include "rollout/rollout_service.h"
#include "rollout/staged_parameters.h"

namespace seamless {
namespace {

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

// --- Weight publishing at size: publish + apply vs a plain loopback copy -------------------

// Best seconds of `rounds` copies of `src.size()` bytes over a TCP socket on 127.0.0.1 between
// two threads: the sender sends `src`, the receiver receives all of it into `dst`.
absl::StatusOr<double> LoopbackCopySeconds(const std::string& src, std::string& dst,
                                           int64_t rounds) {
  const uint64_t bytes = src.size();
  dst.resize(bytes);
  double best = 1e30;
  for (int64_t r = 0; r < rounds; ++r) {
    sockaddr_in addr;
    ASSIGN_OR_RETURN(const int listener, BindLoopbackSocket(/*listen=*/true, &addr));
    const int client = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(client);
      ::close(listener);
      return absl::InternalError("connecting over loopback failed");
    }
    const int server = ::accept(listener, nullptr, nullptr);
    ::close(listener);
    bool ok = server >= 0;
    const auto start = std::chrono::steady_clock::now();
    std::thread sender([&] {
      for (uint64_t at = 0; ok && at < bytes;) {
        const ssize_t n =
            ::send(client, src.data() + at, std::min<uint64_t>(bytes - at, 1 << 22), 0);
        if (n <= 0) return;
        at += uint64_t(n);
      }
    });
    uint64_t got = 0;
    while (ok && got < bytes) {
      const ssize_t n = ::recv(server, &dst[got], bytes - got, 0);
      if (n <= 0) break;
      got += uint64_t(n);
    }
    const double s = SecondsSince(start);
    ::shutdown(client, SHUT_RDWR);
    sender.join();
    ::close(client);
    if (server >= 0) ::close(server);
    if (got != bytes) return absl::InternalError("the loopback copy came up short");
    best = std::min(best, s);
  }
  return best;
}

struct PublishMeasurement {
  double publish_s = 1e30;  // best Publish: stream + the worker's apply
  double copy_s = 0;        // best plain loopback copy of publish_bytes
  uint64_t bytes = 0;
  // Stages, each timed alone (best of the rounds), to show where a publish's time goes:
  double source_s = 1e30;    // the sender's work: read + convert the parameters, checksum, and
                             // copy each chunk into its wire buffer (no network)
  double assemble_s = 1e30;  // the receiver's work: parse those buffers, decode them into
                             // its spare fp32 parameters and checksum them (no network)
  double apply_s = 1e30;     // the worker's apply: the spare set swapped in
};

// The stages of MeasurePublish without gRPC (see PublishMeasurement), best of `rounds`. As in
// the worker, each round reuses the last round's buffers (no fresh pages).
absl::Status MeasurePublishStages(MimoModel& model, MimoModel& worker_model, DType dtype,
                                  int64_t rounds, PublishMeasurement* m) {
  std::vector<std::string> messages;
  // As the worker does: two parameter sets alternate (the swapped-out one is the next spare).
  StagedParameters staged = StagedParameters::Allocate(StageableParameters(worker_model));
  for (int64_t r = 0; r < rounds; ++r) {
    size_t count = 0;
    auto start = std::chrono::steady_clock::now();
    {
      ParameterWeightSource source(model, dtype);
      // Messages written into the last round's strings (resize keeps their capacity).
      struct Sink final : SerializedWeightsSink {
        std::vector<std::string>* messages;
        size_t* count;
        char* Allocate(size_t size) override {
          if (*count == messages->size()) messages->emplace_back();
          std::string& out = (*messages)[*count];
          out.resize(size);
          return out.data();
        }
        absl::Status Send() override {
          ++*count;
          return absl::OkStatus();
        }
      } sink;
      sink.messages = &messages;
      sink.count = &count;
      RETURN_IF_ERROR(StreamSerializedWeights(source, 1, sink));
    }
    m->source_s = std::min(m->source_s, SecondsSince(start));
    start = std::chrono::steady_clock::now();
    WeightAssembler assembler;
    assembler.DecodeInto(staged.Targets());
    for (size_t i = 0; i < count; ++i) {
      const absl::string_view piece(messages[i]);
      RETURN_IF_ERROR(assembler.AddSerialized(absl::MakeConstSpan(&piece, 1)));
    }
    RETURN_IF_ERROR(assembler.Finish().status());
    m->assemble_s = std::min(m->assemble_s, SecondsSince(start));
    PreparedWeights swaps;
    std::vector<std::string> names;
    for (auto& item : worker_model->named_parameters()) {
      auto found = staged.tensors.find(item.key());
      if (found == staged.tensors.end()) return absl::NotFoundError("no weights for " + item.key());
      swaps.swaps.emplace_back(item.value(), found->second);
      names.push_back(item.key());
    }
    start = std::chrono::steady_clock::now();
    ApplyPreparedWeights(swaps);
    m->apply_s = std::min(m->apply_s, SecondsSince(start));
    for (size_t i = 0; i < names.size(); ++i) staged.tensors[names[i]] = swaps.swaps[i].second;
  }
  return absl::OkStatus();
}

// A real rollout worker (engine + RolloutService on loopback, its own copy of the model)
// receiving publishes of `model`'s parameters in `dtype` and applying them, against a plain
// loopback copy of the same number of bytes.
absl::StatusOr<PublishMeasurement> MeasurePublish(MimoModel& model, DType dtype, int64_t rounds) {
  MimoModel worker_model(model->config());
  EngineOptions eo;
  eo.max_running = 1;
  eo.max_len = 64;
  ASSIGN_OR_RETURN(auto batcher, ContinuousBatcher::Create(worker_model, eo, /*eos_id=*/0));
  std::unique_ptr<RolloutEngine> engine = RolloutEngine::Start(std::move(batcher), nullptr);
  RolloutGrpcService service(engine.get(), nullptr);
  ASSIGN_OR_RETURN(auto server, GrpcServer::Start("127.0.0.1:0", {&service}));

  WeightPublisher::Options po;
  po.workers = {"127.0.0.1:" + std::to_string(server->port())};
  po.dtype = dtype;
  int64_t version = 0;
  WeightPublisher publisher(po);
  publisher.SetSourceOpener([&]() -> absl::StatusOr<VersionedSource> {
    return VersionedSource{std::make_unique<ParameterWeightSource>(model, dtype), version};
  });
  PublishMeasurement m;
  m.bytes = TotalBytes(ParameterWeightSource(model, dtype).specs());
  std::string src(m.bytes, '\1'), dst(m.bytes, '\0');
  m.copy_s = 1e30;
  // In alternation (the machine is shared), at least 3 of each.
  for (int64_t r = 0; r < std::max<int64_t>(rounds, 3); ++r) {
    version = r + 1;
    const auto start = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(publisher.Publish(model, version));
    m.publish_s = std::min(m.publish_s, SecondsSince(start));
    ASSIGN_OR_RETURN(double copy_s, LoopbackCopySeconds(src, dst, 1));
    m.copy_s = std::min(m.copy_s, copy_s);
  }
  RETURN_IF_ERROR(
      MeasurePublishStages(model, worker_model, dtype, std::max<int64_t>(rounds, 3), &m));
  if (engine->Status().weight_version != version) {
    return absl::InternalError("the worker does not serve the published version");
  }
  server->Shutdown();
  engine.reset();
  return m;
}

void PrintPublish(const PublishMeasurement& m, const std::string& dtype) {
  std::printf("publish %.1f MB %s + apply:        %8.4f s; loopback copy %.4f s (%.2fx)\n",
              double(m.bytes) / 1e6, dtype.c_str(), m.publish_s, m.copy_s, m.publish_s / m.copy_s);
  std::printf(
      "  stages alone: sender %.4f s, receiver parse %.4f s, apply %.4f s (%.2fx, "
      "%.2fx, %.2fx the copy)\n",
      m.source_s, m.assemble_s, m.apply_s, m.source_s / m.copy_s, m.assemble_s / m.copy_s,
      m.apply_s / m.copy_s);
}

void AddPublishJson(const PublishMeasurement& m, nlohmann::json* out) {
  (*out)["publish_s"] = m.publish_s;
  (*out)["copy_s"] = m.copy_s;
  (*out)["publish_bytes"] = m.bytes;
  (*out)["publish_vs_copy"] = m.publish_s / m.copy_s;
  (*out)["publish_sender_s"] = m.source_s;
  (*out)["publish_receiver_s"] = m.assemble_s;
  (*out)["publish_apply_s"] = m.apply_s;
}

}  // namespace

// bytes_per_param (one rank, sharding none, activation checkpointing) and
// bytes_per_param_full_2ranks (per rank, full sharding over two), each a peak RSS per
// parameter of rank processes of their own (bench/bench_learner_memory.h).
absl::StatusOr<nlohmann::json> MeasureMemoryAtSize(const std::string& model) {
  LearnerMemoryOptions o;
  o.model = model;
  ASSIGN_OR_RETURN(nlohmann::json unsharded, MeasureLearnerMemory(o));
  o.sharding = "full";
  o.ranks = 2;
  ASSIGN_OR_RETURN(nlohmann::json full, MeasureLearnerMemory(o));
  for (const auto* r : {&unsharded, &full}) {
    for (const auto& j : (*r)["per_rank"]) {
      const double p = j["params"].get<double>();
      std::printf(
          "memory, sharding %s over %d rank(s), rank %d: peak %.2f bytes/param "
          "(weights %.2f, gradients %.2f, optimizer %.2f, activations %.3f, "
          "buffers %.3f)\n",
          (*r)["sharding"].get<std::string>().c_str(), (*r)["ranks"].get<int>(),
          j["rank"].get<int>(), j["peak_rss_bytes"].get<double>() / p,
          j["weights_bytes"].get<double>() / p, j["gradients_bytes"].get<double>() / p,
          j["optimizer_bytes"].get<double>() / p, j["activations_bytes"].get<double>() / p,
          j["buffers_bytes"].get<double>() / p);
    }
  }
  return nlohmann::json{{"bytes_per_param", unsharded["bytes_per_param"]},
                        {"bytes_per_param_full_2ranks", full["bytes_per_param"]},
                        {"memory_unsharded", unsharded},
                        {"memory_full_2ranks", full}};
}

namespace {

struct TrainStepMeasurement {
  double step_s = 1e30;    // best training step
  double matmul_s = 1e30;  // best run of the matmul ceiling's kernel, in alternation with it
  double peak_flops = 0;   // that kernel's FLOPs
};

// 1. A training step against the matmul ceiling, measured in alternation (after a warm-up).
absl::StatusOr<TrainStepMeasurement> MeasureTrainStep(GrpoTrainer& trainer,
                                                      const RolloutBatch& batch, int64_t rounds) {
  MatmulPeak peak(at::kCPU);
  TrainStepMeasurement m;
  m.peak_flops = peak.flops();
  RETURN_IF_ERROR(trainer.Step(batch).status());
  for (int64_t r = 0; r < rounds; ++r) {
    m.matmul_s = std::min(m.matmul_s, peak.MeasureSeconds(1));
    const auto start = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(trainer.Step(batch).status());
    m.step_s = std::min(m.step_s, SecondsSince(start));
  }
  return m;
}

// 2. The gradient all-reduce between 2 in-process ranks over Gloo (loopback TCP): the slower
// rank's best round after one warm-up.
absl::StatusOr<double> MeasureGlooAllReduce(MimoModel& model, int64_t rounds) {
  std::vector<at::Tensor> grads;
  for (auto& p : model->parameters()) grads.push_back(at::randn(p.sizes()));
  InProcessRendezvous rendezvous;
  absl::Status rank_status[2];
  std::vector<double> best(2, 1e30);
  std::vector<std::thread> threads;
  threads.reserve(2);
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      auto c = rendezvous.Join(r, 2);
      if (!c.ok()) {
        rank_status[r] = c.status();
        return;
      }
      std::vector<at::Tensor> mine;
      mine.reserve(grads.size());
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
  return std::max(best[0], best[1]);
}

struct CheckpointMeasurement {
  double save_s = 0, load_s = 0;
};

// 3. A checkpoint of the trainer's weights and optimizer saved to `scratch` and loaded back.
absl::StatusOr<CheckpointMeasurement> MeasureCheckpoint(GrpoTrainer& trainer,
                                                        const std::string& scratch) {
  ASSIGN_OR_RETURN(RawTensorMap weights, ExportWeights(trainer.model(), DType::kF32));
  CheckpointState state;
  state.step = 1;
  CheckpointMeasurement m;
  auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(SaveCheckpoint(scratch, trainer.model()->config(), weights,
                                 trainer.optimizer().ExportState(), state, 1)
                      .status());
  m.save_s = SecondsSince(start);
  start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto loaded, LoadLatestCheckpoint(scratch));
  RETURN_IF_ERROR(ImportWeights(trainer.model(), *loaded->weights, loaded->path));
  m.load_s = SecondsSince(start);
  return m;
}

}  // namespace

namespace {

struct LearnerBenchFlags {
  int64_t groups = 8, group_size = 4, prompt_len = 64, response_len = 192, micro = 8, rounds = 3;
  std::string scratch = "/tmp/seamless-bench-learner", model_name = "default",
              publish_dtype = "BF16";
  bool publish_only = false, memory = false;
};

absl::StatusOr<LearnerBenchFlags> ParseLearnerBenchFlags(const std::vector<std::string>& args) {
  LearnerBenchFlags f;
  FlagSet flags(
      "seamless bench learner [flags]",
      "GRPO training on the default model (CPU, fp32): training tokens/s and FLOP/s as\n"
      "a share of the fp32 matmul ceiling (train FLOPs = 3 x forward), the 2-rank Gloo\n"
      "all-reduce of the gradient as a share of a step, checkpoint save/load seconds, and\n"
      "publishing weights over loopback gRPC against a plain copy of the bytes.");
  flags.AddInt("groups", &f.groups, "Prompt groups per batch");
  flags.AddInt("group-size", &f.group_size, "Samples per group");
  flags.AddInt("prompt-len", &f.prompt_len, "Prompt tokens per sample");
  flags.AddInt("response-len", &f.response_len, "Response tokens per sample");
  flags.AddInt("micro-batch-size", &f.micro, "Sequences per forward/backward");
  flags.AddInt("rounds", &f.rounds, "Timed rounds (best is reported)");
  flags.AddString("scratch", &f.scratch, "Directory for the checkpoint measurement");
  flags.AddString("model", &f.model_name, "Hugging Face model directory or 'default'");
  flags.AddString("publish-dtype", &f.publish_dtype, "Wire dtype of the publish measurement");
  flags.AddBool("publish-only", &f.publish_only,
                "Measure only publishing (a real model's training step is slow on a CPU)");
  flags.AddBool("memory", &f.memory,
                "Measure each rank's peak memory (a process per rank): unsharded on one rank and "
                "fully sharded on two; on by default with --model");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  if (!flags.WasSet("memory")) f.memory = !IsDefaultModelName(f.model_name);
  return f;
}

}  // namespace

absl::Status RunBenchLearner(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(const LearnerBenchFlags f, ParseLearnerBenchFlags(args));
  const int64_t groups = f.groups, group_size = f.group_size, prompt_len = f.prompt_len,
                response_len = f.response_len, micro = f.micro, rounds = f.rounds;
  const std::string &scratch = f.scratch, &model_name = f.model_name,
                    &publish_dtype = f.publish_dtype;
  const bool publish_only = f.publish_only, memory = f.memory;
  const bool at_size = !IsDefaultModelName(model_name);

  // Before this process loads the model, so that the rank processes have the memory.
  nlohmann::json memory_json = nlohmann::json::object();
  if (memory) {
    ASSIGN_OR_RETURN(memory_json, MeasureMemoryAtSize(model_name));
  }
  ASSIGN_OR_RETURN(LoadedModel loaded_model, LoadModelOrDefault(model_name));
  MimoModel model = loaded_model.model;
  auto wire = ParseDType(publish_dtype);
  if (!wire) return absl::InvalidArgumentError("--publish-dtype: " + publish_dtype);
  // A real model's plain fp32 training step on this CPU would take minutes and most of the
  // memory: at size the bench measures memory (above) and publishing.
  if (publish_only || at_size) {
    ASSIGN_OR_RETURN(PublishMeasurement pm, MeasurePublish(model, *wire, rounds));
    PrintPublish(pm, publish_dtype);
    nlohmann::json out = {{"bench", "learner"}, {"parameters", model->config().ParameterCount()}};
    out.update(memory_json);
    AddPublishJson(pm, &out);
    std::printf("%s\n", out.dump().c_str());
    return absl::OkStatus();
  }
  const ModelConfig config = model->config();
  RolloutBatch batch = SyntheticBatch(config, groups, group_size, prompt_len, response_len);
  const int64_t sequences = groups * group_size, seq_len = prompt_len + response_len;
  const double tokens = double(sequences * seq_len);

  TrainerConfig tc;
  tc.micro_batch_size = micro;
  auto single = SingleRankCollective();
  ASSIGN_OR_RETURN(auto trainer, GrpoTrainer::Create(model, tc, single.get()));
  ASSIGN_OR_RETURN(TrainStepMeasurement train, MeasureTrainStep(*trainer, batch, rounds));
  const double train_gflops = 3.0 * ForwardFlops(config, sequences, seq_len) / train.step_s / 1e9;
  const double peak_gflops = train.peak_flops / train.matmul_s / 1e9;
  std::printf("training step (%lld x %lld tokens):  %8.3f s, %8.0f tokens/s\n",
              static_cast<long long>(sequences), static_cast<long long>(seq_len), train.step_s,
              tokens / train.step_s);
  std::printf("train FLOP/s vs matmul ceiling:    %8.2f (%.1f of %.1f GFLOP/s)\n",
              train_gflops / peak_gflops, train_gflops, peak_gflops);

  ASSIGN_OR_RETURN(const double allreduce_s, MeasureGlooAllReduce(model, rounds));
  const double allreduce_share = allreduce_s / (allreduce_s + train.step_s / 2);
  std::printf("2-rank Gloo all-reduce of %lld params: %8.4f s, %.1f%% of a 2-rank step\n",
              static_cast<long long>(config.ParameterCount()), allreduce_s, 100 * allreduce_share);

  ASSIGN_OR_RETURN(const CheckpointMeasurement ckpt, MeasureCheckpoint(*trainer, scratch));
  std::printf("checkpoint save / load:            %8.4f s / %.4f s\n", ckpt.save_s, ckpt.load_s);

  // 4. Publishing to a real rollout worker over loopback gRPC (and its apply) vs a plain
  //    loopback copy of the same bytes.
  ASSIGN_OR_RETURN(PublishMeasurement pm, MeasurePublish(trainer->model(), *wire, rounds));
  PrintPublish(pm, publish_dtype);

  nlohmann::json out = {{"bench", "learner"},
                        {"sequences", sequences},
                        {"seq_len", seq_len},
                        {"train_step_s", train.step_s},
                        {"train_tokens_per_s", tokens / train.step_s},
                        {"train_gflops", train_gflops},
                        {"matmul_gflops", peak_gflops},
                        {"train_flops_vs_matmul_peak", train_gflops / peak_gflops},
                        {"gloo_allreduce_s", allreduce_s},
                        {"gloo_allreduce_share_2rank", allreduce_share},
                        {"checkpoint_save_s", ckpt.save_s},
                        {"checkpoint_load_s", ckpt.load_s}};
  AddPublishJson(pm, &out);
  std::printf("%s\n", out.dump().c_str());
  return absl::OkStatus();
}

}  // namespace seamless
