// `seamless learner` (one GRPO rank) and `seamless sft` (supervised warm start).
#include "learner/learner_main.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "core/base/config.h"
#include "core/base/file_util.h"
#include "core/base/flags.h"
#include "core/base/log.h"
#include "core/base/process_memory.h"
#include "core/base/status_macros.h"
#include "core/metrics/http_server.h"
#include "core/metrics/metrics.h"
#include "core/model/capacity_plan.h"
#include "core/model/default_model.h"
#include "core/model/device.h"
#include "core/model/model_files.h"
#include "core/model/model_loading.h"
#include "core/service/grpc_server.h"
#include "core/tokenizer/char_tokenizer.h"
#include "learner/checkpoint.h"
#include "learner/learner.h"
#include "learner/learner_service.h"
#include "learner/sft.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

// Tokenizer files that make a checkpoint a complete model directory.
std::map<std::string, std::string> TokenizerFiles(const std::string& model) {
  if (IsDefaultModelName(model)) return {{"seamless_tokenizer.json", CharTokenizer().ToJson()}};
  std::map<std::string, std::string> out;
  for (const char* name : {"seamless_tokenizer.json", "tokenizer.json", "tokenizer_config.json",
                           "generation_config.json"}) {
    auto bytes = ReadFileToString(model + "/" + name);
    if (bytes.ok()) out[name] = std::move(*bytes);
  }
  return out;
}

// One JSON line per step ({"step": N, "actor/pg_loss": ...}), the run's metric log.
class MetricsLog {
 public:
  absl::Status Open(const std::string& path) {
    if (path.empty()) return absl::OkStatus();
    out_.open(path, std::ios::app);
    if (!out_) return absl::InternalError(absl::StrCat(path, ": cannot open for appending"));
    return absl::OkStatus();
  }
  void Write(int64_t step, const std::map<std::string, double>& metrics) {
    if (!out_.is_open()) return;
    nlohmann::json j;
    j["step"] = step;
    for (const auto& [k, v] : metrics) j[k] = v;
    out_ << j.dump() << "\n";
    out_.flush();
  }

 private:
  std::ofstream out_;
};

// Step metrics as Prometheus gauges: actor/pg_loss -> seamless_learner_actor_pg_loss, and the
// memory account perf/memory_weights_bytes -> seamless_learner_memory_bytes{component="weights"}
// (this rank's bytes; rank 0 serves /metrics), plus the process's peak resident bytes.
void ExportGauges(MetricsRegistry& registry, const std::map<std::string, double>& metrics) {
  for (const auto& [name, value] : metrics) {
    absl::string_view component = name;
    if (absl::ConsumePrefix(&component, "perf/memory_") &&
        absl::ConsumeSuffix(&component, "_bytes")) {
      registry
          .GetGauge("seamless_learner_memory_bytes",
                    "Bytes this learner rank holds, by component (weights, gradients, optimizer, "
                    "activations, buffers)",
                    {{"component", std::string(component)}})
          ->Set(value);
      continue;
    }
    const std::string g =
        "seamless_learner_" + absl::StrReplaceAll(name, {{"/", "_"}, {"-", "_"}, {".", "_"}});
    registry.GetGauge(g, "Last step's " + name)->Set(value);
  }
  registry.GetGauge("seamless_learner_peak_rss_bytes", "Peak resident bytes of this rank")
      ->Set(double(PeakResidentBytes()));
}

std::string StepLine(const StepOutcome& o) {
  auto get = [&](const char* k) {
    auto it = o.metrics.find(k);
    return it == o.metrics.end() ? 0.0 : it->second;
  };
  if (o.metrics.count("sft/loss")) {
    return absl::StrCat("step ", o.step, " loss ", get("sft/loss"), " lm ", get("sft/lm_loss"),
                        " mtp ", get("sft/mtp_loss"), " mtp_acc ", get("sft/mtp_top1_acc"), " lr ",
                        get("actor/lr"), " grad_norm ", get("actor/grad_norm"));
  }
  return absl::StrCat("step ", o.step, " version ", o.policy_version, " pg_loss ",
                      get("actor/pg_loss"), " clipfrac ", get("actor/pg_clipfrac"), " score ",
                      get("critic/score/mean"), " grad_norm ", get("actor/grad_norm"), " skipped ",
                      o.updates_skipped);
}

// A model directory whose learner state cannot fit this machine is refused from its
// config.json alone, before a byte of weights is read (CPU ranks; a GPU's memory is the
// device's, which the plan checks: seamless plan).
absl::Status CheckModelFitsBeforeLoading(const LearnerConfig& config, int world_size,
                                         const std::string& device) {
  if (IsDefaultModelName(config.model) || device != "cpu") return absl::OkStatus();
  ASSIGN_OR_RETURN(ModelConfig model, ReadHfConfig(config.model + "/config.json"));
  LearnerPlanOptions o;
  o.ranks = world_size;
  o.sharding = config.trainer.sharding;
  o.precision = config.trainer.precision;
  o.freeze_mtp = config.trainer.freeze_mtp;
  // The batches' sizes are the scheduler's: count activations only for a configured token
  // budget, else refuse on what is certain (state, buffers, the process).
  o.tokens_per_micro_batch = std::max<int64_t>(1, config.trainer.max_tokens_per_micro_batch);
  o.logit_tokens_per_micro_batch = o.tokens_per_micro_batch;
  const uint64_t available = MachineAvailableBytes();
  if (available == 0) return absl::OkStatus();
  return CheckLearnerFits(model, o, available, config.model);
}

}  // namespace

absl::Status RunLearner(const std::vector<std::string>& args) {
  std::string config_file, listen = "0.0.0.0:50060", metrics_listen, metrics_jsonl, backend;
  std::string model, checkpoint_dir, rollout_workers, device_name;
  bool print_config = false;
  FlagSet flags(
      "seamless learner [--config FILE] [--listen HOST:PORT] [flags]",
      "Runs one GRPO learner rank. Ranks form a data-parallel group from RANK, WORLD_SIZE,\n"
      "MASTER_ADDR and MASTER_PORT (absent: one rank) over c10d (Gloo on CPU, NCCL on GPU\n"
      "builds). Rank 0 serves LearnerService (TrainStep, GetWeights, Checkpoint) and prints\n"
      "'listening on HOST:PORT'; after each update it pushes the new weights to the rollout\n"
      "workers. Config keys (YAML/JSON, flags override):");
  flags.AddString("config", &config_file, "YAML or JSON learner config");
  flags.AddString("listen", &listen, "Rank 0's gRPC address (port 0 picks one)");
  flags.AddString("model", &model, "Initial model directory or 'default' (overrides config)");
  flags.AddString("checkpoint-dir", &checkpoint_dir, "Checkpoint root (overrides config)");
  flags.AddString("rollout-workers", &rollout_workers,
                  "Comma-separated rollout workers to push weights to (overrides config)");
  flags.AddString("backend", &backend,
                  "Collective backend: gloo, or nccl on GPU builds (overrides config)");
  flags.AddString("device", &device_name,
                  "cpu, cuda, cuda:N or auto, one GPU per rank (overrides config)");
  flags.AddString("metrics-listen", &metrics_listen, "Serve /metrics on HOST:PORT (empty: off)");
  flags.AddString("metrics-jsonl", &metrics_jsonl, "Append each step's metrics to this file");
  flags.AddBool("print-config", &print_config, "Print the resolved config and exit");
  flags.SetEpilog(DescribeConfig(LearnerConfig()));
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));

  LearnerConfig config;
  if (!config_file.empty()) RETURN_IF_ERROR(LoadConfigFile(config_file, &config));
  if (flags.WasSet("model")) config.model = model;
  if (flags.WasSet("checkpoint-dir")) config.checkpoint_dir = checkpoint_dir;
  if (flags.WasSet("rollout-workers")) config.rollout_workers = rollout_workers;
  if (flags.WasSet("backend")) config.backend = backend;
  if (flags.WasSet("device")) config.device = device_name;
  RETURN_IF_ERROR(ValidateConfig(config));  // again: the flags may have changed it
  if (print_config) {
    std::fputs(ConfigToYaml(config).c_str(), stdout);
    return absl::OkStatus();
  }

  ASSIGN_OR_RETURN(RendezvousOptions rendezvous, RendezvousFromEnv());
  rendezvous.backend = config.backend;
  rendezvous.timeout_s = config.collective_timeout_s;
  RETURN_IF_ERROR(CheckModelFitsBeforeLoading(config, rendezvous.world_size, config.device));
  ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelOrDefault(config.model));
  ASSIGN_OR_RETURN(at::Device device, ParseDevice(config.device));
  loaded.model->to(device);
  SLOG(INFO) << "rank " << rendezvous.rank << " of " << rendezvous.world_size << ": joining "
             << rendezvous.master_addr << ":" << rendezvous.master_port;
  ASSIGN_OR_RETURN(std::unique_ptr<Collective> collective, ConnectCollective(rendezvous));
  ASSIGN_OR_RETURN(
      std::unique_ptr<Learner> learner,
      Learner::Create(loaded.model, config, collective.get(), TokenizerFiles(config.model)));
  if (collective->rank() != 0) {
    SLOG(INFO) << "rank " << collective->rank() << " following rank 0";
    return learner->Follow();
  }

  MetricsRegistry registry;
  std::unique_ptr<HttpServer> metrics_server;
  if (!metrics_listen.empty()) {
    ASSIGN_OR_RETURN(metrics_server, HttpServer::StartMetrics(metrics_listen, &registry));
  }
  MetricsLog log;
  RETURN_IF_ERROR(log.Open(metrics_jsonl));
  LearnerServiceImpl service(learner.get(), [&](const StepOutcome& o) {
    log.Write(o.step, o.metrics);
    ExportGauges(registry, o.metrics);
    registry.GetCounter("seamless_learner_steps_total", "Training steps done")->Increment();
    registry
        .GetCounter("seamless_learner_skipped_updates_total",
                    "Updates skipped for a non-finite loss or gradient")
        ->Increment(double(o.updates_skipped));
    SLOG(INFO) << StepLine(o);
  });
  ASSIGN_OR_RETURN(std::unique_ptr<GrpcServer> server, GrpcServer::Start(listen, {&service}));
  std::printf("listening on %s\n",
              absl::StrCat(listen.substr(0, listen.rfind(':')), ":", server->port()).c_str());
  std::fflush(stdout);
  const int signal = WaitForTerminationSignal();
  SLOG(INFO) << "signal " << signal << ": stopping";
  server->SetServing("", false);
  server->Shutdown();
  return learner->StopFollowers();
}

absl::Status RunSft(const std::vector<std::string>& args) {
  std::string config_file, model = "default", data, out, checkpoint_dir, metrics_jsonl;
  int64_t checkpoint_every = 0, keep = 2, log_every = 10, abort_after = 0;
  SftConfig config;
  double lr = config.optim.lr, mtp_weight = config.mtp_loss_weight;
  int64_t steps = config.steps, batch_size = config.batch_size, micro = config.micro_batch_size;
  int64_t seed = 0;
  FlagSet flags(
      "seamless sft --data FILE.jsonl --out DIR [--model DIR] [flags]",
      "Supervised warm start: cross-entropy on the response tokens of {\"prompt\", \"response\"}\n"
      "JSONL lines, plus the MTP layers' loss with --mtp-loss-weight. Writes the trained model\n"
      "to --out as a Hugging Face directory. With --checkpoint-dir it checkpoints every\n"
      "--checkpoint-every steps and resumes from the latest complete checkpoint. Data-parallel\n"
      "like `seamless learner` (RANK, WORLD_SIZE, ...; ranks read the same checkpoint dir).\n"
      "Config keys (flags override):");
  flags.AddString("config", &config_file, "YAML or JSON SFT config");
  flags.AddString("model", &model, "Initial model directory or 'default'");
  flags.AddString("data", &data, "JSONL of {\"prompt\": ..., \"response\": ...}");
  flags.AddString("out", &out, "Where the trained model directory goes");
  flags.AddString("checkpoint-dir", &checkpoint_dir, "Checkpoint root (empty: none)");
  flags.AddInt("checkpoint-every", &checkpoint_every, "Steps between checkpoints (0: none)");
  flags.AddInt("keep-checkpoints", &keep, "Complete checkpoints kept");
  flags.AddInt("steps", &steps, "Optimizer updates");
  flags.AddInt("batch-size", &batch_size, "Sequences per update");
  flags.AddInt("micro-batch-size", &micro, "Sequences per forward/backward per rank (0: all)");
  flags.AddDouble("lr", &lr, "Peak learning rate");
  flags.AddDouble("mtp-loss-weight", &mtp_weight, "Weight of the MTP loss");
  flags.AddInt("seed", &seed, "Data-order seed");
  flags.AddInt("log-every", &log_every, "Steps between progress lines");
  flags.AddString("metrics-jsonl", &metrics_jsonl, "Append each step's metrics to this file");
  flags.AddInt("abort-after-step", &abort_after,
               "Testing: exit abruptly (no cleanup) after this step, as a killed process would");
  flags.SetEpilog(DescribeConfig(SftConfig()));
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  if (data.empty() || out.empty())
    return absl::InvalidArgumentError("--data and --out are required");
  if (!config_file.empty()) RETURN_IF_ERROR(LoadConfigFile(config_file, &config));
  if (flags.WasSet("lr")) config.optim.lr = lr;
  if (flags.WasSet("mtp-loss-weight")) config.mtp_loss_weight = mtp_weight;
  if (flags.WasSet("steps")) config.steps = steps;
  if (flags.WasSet("batch-size")) config.batch_size = batch_size;
  if (flags.WasSet("micro-batch-size")) config.micro_batch_size = micro;
  if (flags.WasSet("seed")) config.seed = uint64_t(seed);
  RETURN_IF_ERROR(ValidateConfig(config));  // again: the flags may have changed it

  ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelOrDefault(model));
  ASSIGN_OR_RETURN(
      std::vector<RolloutSequence> examples,
      LoadSftExamples(data, *loaded.tokenizer, loaded.model->config().max_position_embeddings));
  ASSIGN_OR_RETURN(RendezvousOptions rendezvous, RendezvousFromEnv());
  int64_t longest = 1;
  for (const RolloutSequence& e : examples) {
    longest = std::max<int64_t>(longest, e.prompt_ids.size() + e.response_ids.size());
  }
  RETURN_IF_ERROR(CheckSftFits(loaded.model->config(), config, longest, rendezvous.world_size,
                               MachineAvailableBytes()));
  ASSIGN_OR_RETURN(std::unique_ptr<Collective> collective, ConnectCollective(rendezvous));
  ASSIGN_OR_RETURN(auto trainer,
                   SftTrainer::Create(loaded.model, config, collective.get(), examples));
  const auto files = TokenizerFiles(model);
  if (!checkpoint_dir.empty()) {
    ASSIGN_OR_RETURN(auto ckpt, LoadLatestCheckpoint(checkpoint_dir));
    if (ckpt.has_value()) {
      RETURN_IF_ERROR(ImportWeights(trainer->model(), *ckpt->weights, ckpt->path));
      RETURN_IF_ERROR(
          trainer->optimizer().ImportState(*ckpt->optimizer, ckpt->state.optimizer_step));
      int64_t consumed = 0;
      if (!absl::SimpleAtoi(ckpt->state.rng_state, &consumed)) {
        return absl::DataLossError(ckpt->path + ": unreadable data position");
      }
      trainer->Restore(ckpt->state.step, consumed);
      SLOG(INFO) << "resumed from " << ckpt->path << " at step " << ckpt->state.step;
    }
  }
  MetricsLog log;
  if (collective->rank() == 0) RETURN_IF_ERROR(log.Open(metrics_jsonl));
  SLOG(INFO) << examples.size() << " examples; training " << config.steps << " steps of "
             << config.batch_size;
  while (trainer->step() < config.steps) {
    ASSIGN_OR_RETURN(StepOutcome o, trainer->Step());
    if (collective->rank() == 0) {
      log.Write(o.step, o.metrics);
      if (log_every > 0 && (o.step % log_every == 0 || o.step == config.steps)) {
        SLOG(INFO) << StepLine(o);
      }
      if (!checkpoint_dir.empty() && checkpoint_every > 0 && o.step % checkpoint_every == 0) {
        ASSIGN_OR_RETURN(RawTensorMap weights, ExportWeights(trainer->model(), DType::kF32));
        CheckpointState state;
        state.step = o.step;
        state.optimizer_step = trainer->optimizer().step();
        state.rng_state = std::to_string(trainer->consumed());
        state.config_yaml = ConfigToYaml(config);
        ASSIGN_OR_RETURN(std::string path,
                         SaveCheckpoint(checkpoint_dir, trainer->model()->config(), weights,
                                        trainer->optimizer().ExportState(), state, keep, files));
        SLOG(INFO) << "checkpoint " << path;
      }
    }
    if (abort_after > 0 && o.step == abort_after) _exit(3);
  }
  if (collective->rank() == 0) {
    RETURN_IF_ERROR(SaveModelDir(trainer->model(), out));
    for (const auto& [name, bytes] : files) {
      RETURN_IF_ERROR(WriteFileAtomically(absl::StrCat(out, "/", name), bytes));
    }
    std::printf("wrote %s (step %lld)\n", out.c_str(), static_cast<long long>(trainer->step()));
  }
  return absl::OkStatus();
}

}  // namespace seamless
