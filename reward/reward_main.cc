// `seamless reward-server` (RewardService over gRPC with health and Prometheus metrics) and
// `seamless reward score|calibrate` (the same engine on JSON lines, no cluster needed).
#include "reward/reward_main.h"

#include <cstdio>
#include <iostream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/base/config.h"
#include "core/base/flags.h"
#include "core/base/json_limits.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/metrics/http_server.h"
#include "core/service/grpc_server.h"
#include "nlohmann/json.hpp"
#include "reward/calibrate.h"
#include "reward/reward_engine.h"
#include "reward/reward_service.h"

namespace seamless {
namespace {

using Json = nlohmann::json;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Flags shared by every reward command: the config file and the few keys worth a flag.
struct CommonFlags {
  std::string config_file;
  int64_t workers = 0;
  bool code = true;

  void Add(FlagSet* flags) {
    flags->AddString("config", &config_file, "YAML or JSON file with the keys below");
    flags->AddInt("workers", &workers, "Samples scored at once (config: workers)");
    flags->AddBool("code", &code, "Score code samples in the sandbox (--no-code: math only)");
  }
  absl::StatusOr<RewardConfig> Resolve(const FlagSet& flags) const {
    RewardConfig config;
    if (!config_file.empty()) RETURN_IF_ERROR(LoadConfigFile(config_file, &config));
    if (flags.WasSet("workers")) config.workers = workers;
    if (flags.WasSet("code")) config.code_enabled = code;
    RETURN_IF_ERROR(ValidateConfig(config));  // again: the flags may have changed it
    return config;
  }
};

std::string JsonText(const Json& value) {
  return value.is_string() ? value.get<std::string>() : Dump(value);
}

// One input line of `reward score` as a task.
absl::StatusOr<RewardTask> TaskFromJson(const Json& line) {
  if (!line.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  RewardTask task;
  const std::string ability = line.value("ability", line.value("kind", std::string()));
  std::optional<TaskKind> kind = ParseTaskKind(ability);
  if (!kind) {
    return absl::InvalidArgumentError(
        absl::StrCat("ability: expected \"math\" or \"code\", got \"", ability, "\""));
  }
  task.kind = *kind;
  if (!line.contains("response") || !line["response"].is_string()) {
    return absl::InvalidArgumentError("response: expected a string");
  }
  task.response = line["response"].get<std::string>();
  if (!line.contains("ground_truth") || line["ground_truth"].is_null()) {
    return absl::InvalidArgumentError("ground_truth: missing");
  }
  task.ground_truth = JsonText(line["ground_truth"]);
  for (const char* key : {"extra_info", "options"}) {
    if (line.contains(key) && !line[key].is_null()) task.options_json = Dump(line[key]);
  }
  return task;
}

absl::Status RunScore(const std::vector<std::string>& args) {
  CommonFlags common;
  FlagSet flags(
      "seamless reward score [flags] < samples.jsonl",
      "Scores JSON lines from stdin, one sample each:\n"
      "  {\"ability\": \"math\"|\"code\", \"response\": \"...\", \"ground_truth\": ...,\n"
      "   \"extra_info\": {...}}   (extra_info optional)\n"
      "Math ground truth is the answer; code ground truth is {\"inputs\": [...],\n"
      "\"outputs\": [...], \"levels\": [...]} (or that object as a JSON string). Prints one\n"
      "JSON line per sample: reward, passed, detail and details (extracted answer,\n"
      "per-test verdicts, timings). Same engine as reward-server.");
  common.Add(&flags);
  flags.SetEpilog("config keys:\n" + DescribeConfig(RewardConfig()));
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  ASSIGN_OR_RETURN(RewardConfig config, common.Resolve(flags));
  ASSIGN_OR_RETURN(std::unique_ptr<RewardEngine> engine, RewardEngine::Create(config));
  std::string text;
  int failures = 0, samples = 0;
  for (int line_no = 1; std::getline(std::cin, text); ++line_no) {
    if (text.empty()) continue;
    ++samples;
    Json out = {{"line", line_no}};
    absl::StatusOr<RewardResult> result = [&]() -> absl::StatusOr<RewardResult> {
      ASSIGN_OR_RETURN(Json line, ParseJson(text));  // deep nesting would overflow the stack
      ASSIGN_OR_RETURN(RewardTask task, TaskFromJson(line));
      return engine->Score(task);
    }();
    if (result.ok()) {
      out["reward"] = result->reward;
      out["passed"] = result->passed;
      out["detail"] = result->detail;
      out["details"] = Json::parse(result->details_json);
      out["seconds"] = result->seconds;
    } else {
      ++failures;
      out["error"] = std::string(result.status().message());
    }
    std::printf("%s\n", Dump(out).c_str());
    std::fflush(stdout);
  }
  if (failures > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(failures, " of ", samples, " samples could not be scored (see their lines)"));
  }
  return absl::OkStatus();
}

absl::Status RunCalibrate(const std::vector<std::string>& args) {
  CommonFlags common;
  std::string thresholds_text = "0.7,0.3";
  FlagSet flags("seamless reward calibrate [flags] < problems.jsonl",
                "Assigns difficulty levels to code tests from the pass rates of many solutions\n"
                "(MiMo-7B). Each stdin line is a problem: {\"ground_truth\": {\"inputs\": [...],\n"
                "\"outputs\": [...]}, \"solutions\": [\"response\", ...]} (or \"pass_matrix\":\n"
                "[[true, false, ...], ...] when the runs are done already). Prints the line back\n"
                "with ground_truth.levels set and pass_rates added. A test's level is the number\n"
                "of thresholds its pass rate falls below.");
  common.Add(&flags);
  flags.AddString("thresholds", &thresholds_text,
                  "Descending pass-rate thresholds: level 0 at or above the first, ...");
  flags.SetEpilog("config keys:\n" + DescribeConfig(RewardConfig()));
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  std::vector<double> thresholds;
  for (const std::string& part : std::vector<std::string>(absl::StrSplit(thresholds_text, ','))) {
    double value;
    if (!absl::SimpleAtod(part, &value) || value < 0 || value > 1 ||
        (!thresholds.empty() && value >= thresholds.back())) {
      return absl::InvalidArgumentError("--thresholds: expected descending numbers in [0, 1]");
    }
    thresholds.push_back(value);
  }
  ASSIGN_OR_RETURN(RewardConfig config, common.Resolve(flags));
  std::unique_ptr<RewardEngine> engine;  // started only if some line has solutions to run
  std::string text;
  for (int line_no = 1; std::getline(std::cin, text); ++line_no) {
    if (text.empty()) continue;
    const std::string where = absl::StrCat("stdin line ", line_no);
    absl::StatusOr<Json> parsed = ParseJson(text);
    if (!parsed.ok()) return Annotate(parsed.status(), where);
    Json line = std::move(*parsed);
    if (!line.is_object() || !line.contains("ground_truth")) {
      return absl::InvalidArgumentError(where + ": expected an object with ground_truth");
    }
    auto tests = ParseCodeTests(JsonText(line["ground_truth"]));
    if (!tests.ok()) return Annotate(tests.status(), where);
    std::vector<std::vector<bool>> results;
    if (line.contains("pass_matrix")) {
      for (const Json& row : line["pass_matrix"]) {
        if (!row.is_array() || row.size() != tests->inputs.size()) {
          return absl::InvalidArgumentError(where + ": pass_matrix rows need one entry per test");
        }
        std::vector<bool> passed;
        for (const Json& cell : row)
          passed.push_back(cell.is_boolean() ? cell.get<bool>() : cell == 1);
        results.push_back(std::move(passed));
      }
    } else {
      if (!line.contains("solutions") || !line["solutions"].is_array()) {
        return absl::InvalidArgumentError(where + ": expected solutions (a list) or pass_matrix");
      }
      if (!engine) {
        ASSIGN_OR_RETURN(engine, RewardEngine::Create(config));
      }
      for (const Json& solution : line["solutions"]) {
        if (!solution.is_string())
          return absl::InvalidArgumentError(where + ": solutions: expected strings");
        auto passed = engine->PassedTests(ExtractProgram(solution.get<std::string>()), *tests);
        if (!passed.ok()) return Annotate(passed.status(), where);
        results.push_back(std::move(*passed));
      }
    }
    if (results.empty()) return absl::InvalidArgumentError(where + ": no solutions");
    const std::vector<double> rates = TestPassRates(results);
    Json truth = {{"inputs", tests->inputs},
                  {"outputs", tests->outputs},
                  {"levels", AssignLevels(rates, thresholds)}};
    line["ground_truth"] = std::move(truth);
    line["pass_rates"] = rates;
    line.erase("pass_matrix");
    std::printf("%s\n", Dump(line).c_str());
    std::fflush(stdout);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunRewardServer(const std::vector<std::string>& args) {
  CommonFlags common;
  std::string listen, metrics_listen;
  int64_t queue_capacity = RewardConfig().queue_capacity;
  bool print_config = false;
  FlagSet flags(
      "seamless reward-server --listen HOST:PORT [--metrics-listen HOST:PORT] [flags]",
      "Serves RewardService: the math verifier and the sandboxed code runner (bubblewrap),\n"
      "on a bounded worker pool (RESOURCE_EXHAUSTED when full), with grpc.health.v1 and\n"
      "Prometheus /metrics. Prints 'listening on HOST:PORT' once ready.");
  flags.AddString("listen", &listen, "gRPC address to serve on (port 0 picks a free port)");
  flags.AddString("metrics-listen", &metrics_listen, "HTTP address for /metrics and /healthz");
  flags.AddInt("queue-capacity", &queue_capacity,
               "Samples waiting at most (config: queue_capacity)");
  flags.AddBool("print-config", &print_config, "Print the resolved config and exit");
  common.Add(&flags);
  flags.SetEpilog("config keys:\n" + DescribeConfig(RewardConfig()));
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  ASSIGN_OR_RETURN(RewardConfig config, common.Resolve(flags));
  if (flags.WasSet("queue-capacity")) config.queue_capacity = queue_capacity;
  if (print_config) {
    std::fputs(ConfigToYaml(config).c_str(), stdout);
    return absl::OkStatus();
  }
  if (listen.empty()) return absl::InvalidArgumentError("--listen HOST:PORT is required");

  MetricsRegistry registry;
  ASSIGN_OR_RETURN(std::unique_ptr<RewardEngine> engine, RewardEngine::Create(config, &registry));
  RewardServiceImpl service(engine.get(), &registry);
  ASSIGN_OR_RETURN(std::unique_ptr<GrpcServer> server, GrpcServer::Start(listen, {&service}));
  server->SetServing("seamless.RewardService", true);
  std::unique_ptr<HttpServer> http;
  if (!metrics_listen.empty()) {
    ASSIGN_OR_RETURN(http, HttpServer::StartMetrics(metrics_listen, &registry));
    std::printf("metrics on %s:%d\n", metrics_listen.substr(0, metrics_listen.rfind(':')).c_str(),
                http->port());
  }
  SLOG(INFO) << "reward server: code "
             << (config.code_enabled ? "on (sandbox self-test passed)" : "off");
  std::printf("listening on %s:%d\n", listen.substr(0, listen.rfind(':')).c_str(), server->port());
  std::fflush(stdout);
  const int signal = WaitForTerminationSignal();
  SLOG(INFO) << "signal " << signal << ": shutting down";
  server->SetServing("seamless.RewardService", false);
  service.BeginShutdown();
  server->Shutdown();
  if (http) http->Stop();
  return absl::OkStatus();
}

absl::Status RunReward(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: seamless reward score|calibrate [flags]   (seamless reward COMMAND --help)\n\n"
      "  score      score JSON-lines samples from stdin, as the reward server would\n"
      "  calibrate  assign code-test difficulty levels from solutions' pass rates\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(usage.c_str(), stdout);
    return args.empty() ? absl::InvalidArgumentError("which command? see the list above")
                        : HelpShown();
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "score") return RunScore(rest);
  if (args[0] == "calibrate") return RunCalibrate(rest);
  return absl::InvalidArgumentError("unknown command '" + args[0] + "' (score, calibrate)");
}

}  // namespace seamless
