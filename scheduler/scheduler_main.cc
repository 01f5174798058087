// `seamless scheduler`: the hub of a run. Reads prompt data, drives rollout workers, reward
// servers and learner rank 0 over gRPC, writes metrics.jsonl and its resumable state.
#include "scheduler/scheduler_main.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/base/config.h"
#include "core/base/file_util.h"
#include "core/base/flags.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/service/grpc_server.h"
#include "core/tokenizer/char_tokenizer.h"
#include "core/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"
#include "scheduler/grpc_backends.h"
#include "scheduler/orchestrator.h"
#include "scheduler/prompt_dataset.h"
#include "scheduler/run_journal.h"
#include "scheduler/scheduler_service.h"

namespace seamless {
namespace {

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipEmpty())) out.emplace_back(part);
  return out;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadSchedulerTokenizer(const std::string& model) {
  if (model.empty() || model == "default") return std::unique_ptr<Tokenizer>(new CharTokenizer());
  return LoadTokenizer(model);
}

std::string ProgressLine(const StepReport& r, int64_t steps) {
  auto get = [&](const std::string& k) {
    auto it = r.metrics.find(k);
    return it == r.metrics.end() ? -1.0 : it->second;
  };
  if (r.step == 0) {
    return absl::StrFormat("step %3d/%d | held-out accuracy %.3f (start)", r.step, steps,
                           get("val/accuracy"));
  }
  std::string line = absl::StrFormat(
      "step %3d/%d | reward %.3f | pass %.2f | valid %d | %6.0f tok/s | idle %.2f | %.1f s", r.step,
      steps, get("critic/score/mean"), get("scheduler/pass_rate"),
      static_cast<int>(get("scheduler/valid_groups")), get("perf/throughput"),
      std::max(0.0, get("rollout/idle_fraction")), get("timing_s/step"));
  if (r.metrics.count("val/accuracy")) {
    absl::StrAppend(&line, absl::StrFormat(" | held-out accuracy %.3f", get("val/accuracy")));
  }
  return line;
}

// metrics.jsonl as the learner's `at` has it: without the lines of steps after at.step()
// (steps a crash lost, which the resumed run trains again), and with a line for step
// at.step() from the learner's answer where the scheduler died before writing it: each
// committed step's line once.
absl::Status ReconcileMetrics(const std::string& path, const RunState& at) {
  std::string kept;
  bool has_last = at.step() == 0;
  if (FileExists(path)) {
    ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path));
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      const nlohmann::json row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      const int64_t step = row.is_object() ? row.value("step", int64_t{0}) : 0;
      if (step > at.step()) continue;
      has_last |= step == at.step();
      absl::StrAppend(&kept, line, "\n");
    }
  }
  if (!has_last) {
    nlohmann::json data(
        std::map<std::string, double>(at.last_metrics().begin(), at.last_metrics().end()));
    data["scheduler/recovered_from_learner"] = 1;  // the scheduler's own figures are lost
    absl::StrAppend(&kept, nlohmann::json{{"step", at.step()}, {"data", data}}.dump(), "\n");
  }
  return WriteFileAtomically(path, kept);
}

// Before the first launch: the learner's place decides where this run starts. A fresh start
// needs a learner that has trained nothing; --resume continues from the commit state of the
// learner's last step (its checkpoint), the only state the learner and the scheduler share.
absl::Status StartFromLearner(GrpcLearnerBackend& learner, const std::string& run_id, bool resume,
                              Orchestrator* orchestrator, RunJournal* journal,
                              const std::string& run_dir) {
  ASSIGN_OR_RETURN(const RunState at, learner.GetRunState(std::chrono::minutes(10)));
  if (!run_id.empty() && !at.run_id().empty() && at.run_id() != run_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("the learner trains run ", at.run_id(), ", not this run (", run_id, ")"));
  }
  if (!resume) {
    if (at.step() == 0) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("the learner has trained ", at.step(), " steps of run ", at.run_id(),
                     ": start the scheduler with --resume to continue that run"));
  }
  if (at.step() > 0) {
    if (at.commit_state().empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the learner is at step ", at.step(),
          " but its checkpoint holds no scheduler state (written by an older seamless?): "
          "cannot resume exactly"));
    }
    ASSIGN_OR_RETURN(SchedulerState state, SchedulerState::FromJson(at.commit_state()));
    if (state.step != at.step()) {
      return absl::DataLossError(absl::StrCat("the learner's commit state is of step ", state.step,
                                              ", the learner at step ", at.step()));
    }
    state.policy_version = at.policy_version();
    RETURN_IF_ERROR(orchestrator->RestoreState(state));
  }
  SLOG(INFO) << "resuming after " << at.step() << " committed steps (the learner's checkpoint)";
  if (journal) RETURN_IF_ERROR(journal->Resume(at.step()));
  if (!run_dir.empty()) RETURN_IF_ERROR(ReconcileMetrics(run_dir + "/metrics.jsonl", at));
  return absl::OkStatus();
}

}  // namespace

absl::Status RunScheduler(const std::vector<std::string>& args) {
  SchedulerConfig config;
  std::string config_file, train_data, val_data, model = "default", rollout, rewards, learner,
                                                 listen, run_dir, run_id;
  bool resume = false, skip_malformed = false, print_config = false;
  int64_t steps = -1, reward_threads = 8;
  FlagSet flags(
      "seamless scheduler --train-data F --rollout-workers A,B --reward-servers C "
      "--learner D [flags]",
      "The scheduler hub: draws prompt groups from verl-format JSONL, keeps rollout\n"
      "workers busy (continuous rollout), scores each sample as it finishes, drops\n"
      "groups with pass rate 0 or 1, assembles batches with FIFO early termination,\n"
      "sends them to learner rank 0, and keeps an exact ledger of every prompt.");
  flags.AddString("config", &config_file, "YAML/JSON with the scheduler keys below");
  flags.AddString("train-data", &train_data, "Prompt JSONL (verl schema) to train on");
  flags.AddString("val-data", &val_data, "Held-out prompt JSONL for val/accuracy (optional)");
  flags.AddString("model", &model, "Model directory whose tokenizer encodes prompts, or 'default'");
  flags.AddString("rollout-workers", &rollout, "Comma-separated rollout worker addresses");
  flags.AddString("reward-servers", &rewards, "Comma-separated reward server addresses");
  flags.AddString("learner", &learner, "Learner rank 0's address");
  flags.AddString("listen", &listen, "Serve SchedulerService here (empty: off)");
  flags.AddString("run-dir", &run_dir,
                  "Where metrics.jsonl, journal.jsonl and scheduler_state.json go");
  flags.AddBool("resume", &resume,
                "Continue from the learner's last committed step (its checkpoint's state)");
  flags.AddString("run-id", &run_id, "The run's id: a learner of another run is refused");
  flags.AddBool("skip-malformed", &skip_malformed, "Skip and count malformed data lines");
  flags.AddInt("steps", &steps, "Training steps (overrides the config)");
  flags.AddInt("reward-threads", &reward_threads, "Reward calls in flight at most");
  flags.AddBool("print-config", &print_config, "Print the resolved config and exit");
  flags.SetEpilog("config keys:\n" + DescribeConfig(config));
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  if (!config_file.empty()) RETURN_IF_ERROR(LoadConfigFile(config_file, &config));
  if (steps >= 0) config.steps = steps;
  if (print_config) {
    std::fputs(ConfigToYaml(config).c_str(), stdout);
    return absl::OkStatus();
  }
  if (train_data.empty()) return absl::InvalidArgumentError("--train-data FILE is required");
  const auto workers = SplitList(rollout), servers = SplitList(rewards);
  if (workers.empty()) return absl::InvalidArgumentError("--rollout-workers is required");
  if (servers.empty()) return absl::InvalidArgumentError("--reward-servers is required");
  if (learner.empty()) return absl::InvalidArgumentError("--learner ADDRESS is required");
  RETURN_IF_ERROR(ValidateConfig(config));  // again: --steps may have changed it

  DatasetLoadOptions load;
  load.skip_malformed = skip_malformed;
  ASSIGN_OR_RETURN(PromptDataset train, LoadPromptDataset(train_data, load));
  PromptDataset val;
  if (!val_data.empty()) {
    ASSIGN_OR_RETURN(val, LoadPromptDataset(val_data, load));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, LoadSchedulerTokenizer(model));
  const Tokenizer* tok = tokenizer.get();
  PromptEncoder encode = [tok](const PromptRecord& r) -> absl::StatusOr<std::vector<int32_t>> {
    ChatOptions chat;
    ASSIGN_OR_RETURN(std::string text,
                     RenderPrompt(*tok, r.prompt, chat, absl::StrCat("prompt on line ", r.line)));
    return tok->Encode(text);
  };
  SLOG(INFO) << train.records.size() << " training prompts, " << val.records.size() << " held-out; "
             << workers.size() << " rollout workers, " << servers.size() << " reward servers";

  // Wait for every role to answer before the first launch (they may still be starting).
  for (const auto& w : workers) {
    RolloutClient probe(w);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (true) {
      auto serving = probe.Serving();
      if (serving.ok() && *serving) break;
      if (std::chrono::steady_clock::now() > deadline) {
        return absl::UnavailableError(absl::StrCat("rollout worker ", w, " is not serving"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  for (const auto& s : servers) {
    RETURN_IF_ERROR(RewardClient(s).WaitUntilServing(std::chrono::minutes(2)));
  }

  GrpcRolloutBackend rollout_backend(workers, tok);
  GrpcRewardBackend reward_backend(servers, static_cast<int>(reward_threads),
                                   config.reward_deadline_seconds,
                                   static_cast<int>(config.reward_retries));
  GrpcLearnerBackend learner_backend(learner, run_id);
  Orchestrator orchestrator(config, &train, val.records.empty() ? nullptr : &val, encode,
                            &rollout_backend, &reward_backend, &learner_backend);
  const std::string state_path = run_dir.empty() ? "" : run_dir + "/scheduler_state.json";
  std::unique_ptr<RunJournal> journal;
  if (!run_dir.empty()) {
    RETURN_IF_ERROR(MakeDirectories(run_dir));
    ASSIGN_OR_RETURN(journal, RunJournal::Open(run_dir + "/journal.jsonl"));
    orchestrator.set_journal(journal.get());
  }
  RETURN_IF_ERROR(
      StartFromLearner(learner_backend, run_id, resume, &orchestrator, journal.get(), run_dir));
  std::unique_ptr<std::ofstream> metrics;
  if (!run_dir.empty()) {
    metrics = std::make_unique<std::ofstream>(run_dir + "/metrics.jsonl", std::ios::app);
  }
  orchestrator.set_on_step([&](const StepReport& r) {
    std::printf("%s\n", ProgressLine(r, config.steps).c_str());
    std::fflush(stdout);
    if (metrics) {
      nlohmann::json data(r.metrics);
      *metrics << nlohmann::json{{"step", r.step}, {"data", data}}.dump() << "\n";
      metrics->flush();
    }
    if (!state_path.empty() && r.step > 0) {
      absl::Status saved = WriteFileAtomically(state_path, orchestrator.SaveState().ToJson());
      if (!saved.ok()) {
        SLOG(WARNING) << "cannot save scheduler state: " << saved.message();
      }
    }
  });
  SchedulerGrpcService service(&orchestrator);
  std::unique_ptr<GrpcServer> server;
  if (!listen.empty()) {
    ASSIGN_OR_RETURN(server, GrpcServer::Start(listen, {&service}));
    server->SetServing("seamless.SchedulerService", true);
    std::printf("scheduler listening on %s:%d\n", listen.substr(0, listen.rfind(':')).c_str(),
                server->port());
    std::fflush(stdout);
  }
  absl::Status run = orchestrator.Run();
  const LedgerSummary s = orchestrator.ledger().Summary();
  nlohmann::json summary = {{"event", run.ok() ? "finished" : "failed"},
                            {"steps", orchestrator.Snapshot().step},
                            {"ledger",
                             {{"taken", s.taken},
                              {"trained", s.trained},
                              {"dropped", s.dropped},
                              {"pending", s.queued + s.generating + s.scoring + s.complete},
                              {"dropped_by_reason", s.dropped_by_reason},
                              {"requeued_by_reason", s.requeued_by_reason}}}};
  std::printf("%s\n", summary.dump().c_str());
  std::fflush(stdout);
  return run;
}

}  // namespace seamless
