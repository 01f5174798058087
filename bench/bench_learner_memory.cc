// seamless bench learner-memory: a learner rank's peak resident memory while it trains, by
// component, on a real model (--model DIR). Each rank runs as its own process (this binary,
// rank flags added), so that a peak belongs to one rank; ranks rendezvous over loopback Gloo.
// `seamless bench learner --model` runs it twice: unsharded on one rank, and fully sharded
// over two.
#include "bench/bench_learner_memory.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/benches.h"
#include "core/base/child_process.h"
#include "core/base/flags.h"
#include "core/base/loopback.h"
#include "core/base/process_memory.h"
#include "core/base/status_macros.h"
#include "core/model/model_loading.h"
#include "learner/collective.h"
#include "learner/trainer.h"

namespace seamless {
namespace {

// Groups of random prompts and responses (the memory of a step does not depend on the tokens).
RolloutBatch RandomTokens(const ModelConfig& c, const LearnerMemoryOptions& o) {
  std::mt19937_64 rng(7);
  RolloutBatch batch;
  for (int64_t g = 0; g < o.groups; ++g) {
    RolloutGroup group;
    group.group_id = absl::StrCat("g", g);
    std::vector<int32_t> prompt(size_t(o.prompt_len));
    for (auto& t : prompt) t = int32_t(rng() % uint64_t(c.vocab_size));
    for (int64_t i = 0; i < o.group_size; ++i) {
      RolloutSequence s;
      s.prompt_ids = prompt;
      for (int64_t j = 0; j < o.response_len; ++j) {
        s.response_ids.push_back(int32_t(rng() % uint64_t(c.vocab_size)));
        s.behaviour_logprobs.push_back(-float(std::log(double(c.vocab_size))));
      }
      s.reward = double(i % 2);
      group.sequences.push_back(std::move(s));
    }
    batch.groups.push_back(std::move(group));
  }
  return batch;
}

// One rank: load, train, print a JSON line of figures.
absl::Status RunRank(const LearnerMemoryOptions& o) {
  ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelOrDefault(o.model));
  const int64_t params = loaded.model->config().ParameterCount();
  const int64_t after_load = PeakResidentBytes();
  RendezvousOptions rv;
  rv.rank = o.rank;
  rv.world_size = int(o.ranks);
  rv.master_port = o.master_port;
  ASSIGN_OR_RETURN(std::unique_ptr<Collective> collective, ConnectCollective(rv));
  TrainerConfig config;
  ASSIGN_OR_RETURN(config.sharding, ParseConfigEnum<Sharding>("--sharding", o.sharding));
  ASSIGN_OR_RETURN(config.precision, ParseConfigEnum<Precision>("--precision", o.precision));
  config.activation_checkpointing = o.checkpointing;
  config.micro_batch_size = 0;
  config.optim.lr = 1e-6;
  RolloutBatch batch = RandomTokens(loaded.model->config(), o);
  ASSIGN_OR_RETURN(auto trainer, GrpoTrainer::Create(loaded.model, config, collective.get()));
  loaded.model = MimoModel(nullptr);  // the trainer holds the only reference
  const int64_t after_create = PeakResidentBytes();
  double step_s = 0;
  std::vector<int64_t> step_peaks;
  for (int64_t i = 0; i < o.steps; ++i) {
    ASSIGN_OR_RETURN(StepOutcome out, trainer->Step(batch));
    step_s = out.metrics["timing_s/update_actor"];
    step_peaks.push_back(PeakResidentBytes());
  }
  const LearnerMemory m = trainer->memory();
  nlohmann::json j = {{"rank", o.rank},
                      {"params", params},
                      {"peak_rss_bytes", PeakResidentBytes()},
                      {"peak_rss_after_load_bytes", after_load},
                      {"peak_rss_after_create_bytes", after_create},
                      {"peak_rss_after_each_step_bytes", step_peaks},
                      {"rss_end_bytes", ResidentBytesNow()},
                      {"weights_bytes", m.weights},
                      {"gradients_bytes", m.gradients},
                      {"optimizer_bytes", m.optimizer},
                      {"activations_bytes", m.activations},
                      {"buffers_bytes", m.buffers},
                      {"step_s", step_s}};
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
  return absl::OkStatus();
}

std::vector<std::string> ChildArgs(const LearnerMemoryOptions& o, int rank, int port) {
  return {"bench",
          "learner-memory",
          "--model=" + o.model,
          "--sharding=" + o.sharding,
          "--precision=" + o.precision,
          absl::StrCat("--checkpointing=", o.checkpointing ? "true" : "false"),
          absl::StrCat("--ranks=", o.ranks),
          absl::StrCat("--groups=", o.groups),
          absl::StrCat("--group-size=", o.group_size),
          absl::StrCat("--prompt-len=", o.prompt_len),
          absl::StrCat("--response-len=", o.response_len),
          absl::StrCat("--steps=", o.steps),
          absl::StrCat("--rank=", rank),
          absl::StrCat("--master-port=", port)};
}

}  // namespace

absl::StatusOr<nlohmann::json> MeasureLearnerMemory(const LearnerMemoryOptions& options) {
  ASSIGN_OR_RETURN(int port, FreeLoopbackPort());
  std::vector<ChildProcess> ranks;
  std::vector<std::string> outputs;
  for (int r = 0; r < options.ranks; ++r) {
    outputs.push_back(absl::StrFormat("/tmp/seamless-learner-memory-%d-%d.jsonl", getpid(), r));
    // This binary again, stdout (the rank's JSON line) to its file, stderr to ours.
    std::vector<std::string> argv{"/proc/self/exe"};
    for (std::string& a : ChildArgs(options, r, port)) argv.push_back(std::move(a));
    ChildProcess::Options output;
    output.output_path = outputs.back();
    output.truncate_output = true;
    ASSIGN_OR_RETURN(ChildProcess rank, ChildProcess::Start(argv, output));
    ranks.push_back(std::move(rank));
  }
  absl::Status status;
  for (ChildProcess& rank : ranks) {
    const int code = rank.Wait();
    if (code != 0) {
      status = absl::InternalError(absl::StrCat(
          "a learner-memory rank failed (", rank.term_signal() ? "killed by signal " : "exit ",
          rank.term_signal() ? rank.term_signal() : code, "); its error is on stderr above"));
    }
  }
  nlohmann::json result = {{"sharding", options.sharding},
                           {"precision", options.precision},
                           {"ranks", options.ranks},
                           {"per_rank", nlohmann::json::array()}};
  double worst = 0;
  for (const std::string& path : outputs) {
    std::ifstream in(path);
    std::string line, last;
    while (std::getline(in, line)) {
      if (!line.empty() && line[0] == '{') last = line;
    }
    std::remove(path.c_str());
    if (last.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(last);
    worst = std::max(worst, j["peak_rss_bytes"].get<double>() / j["params"].get<double>());
    result["params"] = j["params"];
    result["per_rank"].push_back(j);
  }
  RETURN_IF_ERROR(status);
  if (result["per_rank"].size() != size_t(options.ranks)) {
    return absl::InternalError("a learner-memory rank printed no figures");
  }
  result["bytes_per_param"] = worst;  // the worst rank's peak RSS per model parameter
  return result;
}

absl::Status RunBenchLearnerMemory(const std::vector<std::string>& args) {
  LearnerMemoryOptions o;
  int64_t rank = -1, ranks = 1, port = 0;
  FlagSet flags("seamless bench learner-memory [--model DIR] [--sharding S] [--ranks N] [flags]",
                "Peak resident memory of each learner rank (its own process) over a few GRPO\n"
                "steps on synthetic tokens, with the learner's own account by component\n"
                "(weights, gradients, optimizer, activations, buffers). Ends with a JSON line;\n"
                "bytes_per_param is the worst rank's peak RSS divided by the parameter count.");
  flags.AddString("model", &o.model, "Model directory or 'default'");
  flags.AddString("sharding", &o.sharding, "none | optimizer | gradients | full");
  flags.AddString("precision", &o.precision, "fp32 | bf16");
  flags.AddBool("checkpointing", &o.checkpointing, "Per-layer activation checkpointing");
  flags.AddInt("ranks", &ranks, "Learner ranks (processes over loopback Gloo)");
  flags.AddInt("groups", &o.groups, "Prompt groups per batch");
  flags.AddInt("group-size", &o.group_size, "Samples per group");
  flags.AddInt("prompt-len", &o.prompt_len, "Prompt tokens per sample");
  flags.AddInt("response-len", &o.response_len, "Response tokens per sample");
  flags.AddInt("steps", &o.steps, "Training steps (the first allocates gradients and moments)");
  flags.AddInt("rank", &rank, "(internal) run as this rank and print its figures");
  flags.AddInt("master-port", &port, "(internal) loopback rendezvous port");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  if (ranks < 1 || ranks > 16) {
    return absl::InvalidArgumentError(absl::StrCat("--ranks ", ranks, " is not in [1, 16]"));
  }
  o.ranks = int(ranks);
  if (rank >= 0) {
    o.rank = int(rank);
    o.master_port = int(port);
    return RunRank(o);
  }
  ASSIGN_OR_RETURN(nlohmann::json r, MeasureLearnerMemory(o));
  for (const auto& j : r["per_rank"]) {
    const double p = j["params"].get<double>();
    std::printf(
        "rank %d: peak RSS %.2f GiB = %.2f bytes/param (after loading %.2f); weights %.2f, "
        "gradients %.2f, optimizer %.2f, activations %.3f, buffers %.3f bytes/param\n",
        j["rank"].get<int>(), j["peak_rss_bytes"].get<double>() / (1 << 30),
        j["peak_rss_bytes"].get<double>() / p, j["peak_rss_after_load_bytes"].get<double>() / p,
        j["weights_bytes"].get<double>() / p, j["gradients_bytes"].get<double>() / p,
        j["optimizer_bytes"].get<double>() / p, j["activations_bytes"].get<double>() / p,
        j["buffers_bytes"].get<double>() / p);
  }
  std::printf("%s\n", r.dump().c_str());
  return absl::OkStatus();
}

}  // namespace seamless
