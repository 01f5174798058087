#include "reward/reward_engine.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/json_limits.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

using Json = nlohmann::json;

absl::Status BadOption(const std::string& key, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("extra_info.", key, ": ", what));
}

absl::StatusOr<Json> ParseOptions(const std::string& text) {
  if (text.empty()) return Json::object();
  absl::StatusOr<Json> j = ParseJson(text);  // outside input: a Score RPC's extra_info_json
  if (!j.ok()) return Annotate(j.status(), "extra_info");
  if (!(j->is_object() || j->is_null())) {
    return absl::InvalidArgumentError("extra_info: expected a JSON object");
  }
  return j->is_null() ? Json::object() : *std::move(j);
}

// Per-task overrides of the code settings.
struct CodeSettings {
  std::optional<Language> language;
  CompareMode compare = CompareMode::kFloat;
  double tolerance = 1e-6;
  double time_limit = 0;
  RewardMode mode = RewardMode::kSoft;
  std::vector<double> weights;
  bool run_all = false;
};

absl::StatusOr<CodeSettings> ReadCodeSettings(const RewardConfig& config, const Json& o) {
  CodeSettings s;
  s.compare = config.code.comparison;
  s.mode = config.code.mode;
  s.tolerance = config.code.float_tolerance;
  s.weights = config.code.level_weights;
  s.run_all = !config.code.stop_after_failure;
  auto string_option = [&](const char* key, std::string* out) -> absl::Status {
    if (!o.contains(key) || o[key].is_null()) return absl::OkStatus();
    if (!o[key].is_string()) return BadOption(key, "expected a string");
    *out = o[key].get<std::string>();
    return absl::OkStatus();
  };
  std::string text;
  RETURN_IF_ERROR(string_option("language", &text));
  if (!text.empty()) {
    s.language = ParseLanguage(text);
    if (!s.language) return BadOption("language", "unknown language '" + text + "' (python, cpp)");
  }
  text.clear();
  RETURN_IF_ERROR(string_option("comparison", &text));
  if (!text.empty()) {
    auto m = EnumFromString<CompareMode>(text);
    if (!m)
      return BadOption("comparison", "unknown mode '" + text + "' (exact, whitespace, float)");
    s.compare = *m;
  }
  text.clear();
  RETURN_IF_ERROR(string_option("reward_mode", &text));
  if (!text.empty()) {
    auto m = EnumFromString<RewardMode>(text);
    if (!m)
      return BadOption("reward_mode",
                       "unknown mode '" + text + "' (strict, soft, pass_rate, all_or_nothing)");
    s.mode = *m;
  }
  for (const char* key : {"float_tolerance", "time_limit_seconds"}) {
    if (!o.contains(key) || o[key].is_null()) continue;
    if (!o[key].is_number() || o[key].get<double>() < 0)
      return BadOption(key, "expected a number >= 0");
    (std::string(key) == "float_tolerance" ? s.tolerance : s.time_limit) = o[key].get<double>();
  }
  if (s.time_limit > 60) return BadOption("time_limit_seconds", "at most 60");
  if (o.contains("level_weights") && !o["level_weights"].is_null()) {
    const Json& w = o["level_weights"];
    if (!w.is_array()) return BadOption("level_weights", "expected a list of numbers");
    s.weights.clear();
    for (const Json& x : w) {
      if (!x.is_number() || x.get<double>() < 0)
        return BadOption("level_weights", "expected numbers >= 0");
      s.weights.push_back(x.get<double>());
    }
  }
  if (o.contains("run_all_tests") && !o["run_all_tests"].is_null()) {
    if (!o["run_all_tests"].is_boolean())
      return BadOption("run_all_tests", "expected true or false");
    s.run_all = o["run_all_tests"].get<bool>();
  }
  return s;
}

std::string Clip(std::string_view s, size_t n) { return std::string(s.substr(0, n)); }

}  // namespace

std::optional<TaskKind> ParseTaskKind(std::string_view name) {
  if (name == "math") return TaskKind::kMath;
  if (name == "code") return TaskKind::kCode;
  return std::nullopt;
}

const char* TaskKindName(TaskKind kind) { return kind == TaskKind::kCode ? "code" : "math"; }

absl::StatusOr<std::unique_ptr<RewardEngine>> RewardEngine::Create(const RewardConfig& config,
                                                                   MetricsRegistry* metrics) {
  std::unique_ptr<RewardEngine> engine(new RewardEngine(config));
  engine->math_ = MathVerifier(config.math);
  if (metrics) engine->metrics_ = std::make_unique<RewardMetrics>(metrics);
  if (config.code_enabled) {
    ASSIGN_OR_RETURN(engine->sandbox_, Sandbox::Create(config.sandbox));
    RETURN_IF_ERROR(engine->sandbox_->SelfTest({config.runner.python, "-c", "print('sandbox-ok')"},
                                               "sandbox-ok"));
    engine->runner_ = std::make_unique<CodeRunner>(engine->sandbox_.get(), config.runner);
  }
  return engine;
}

absl::StatusOr<RewardResult> RewardEngine::Score(const RewardTask& task,
                                                 Clock::time_point deadline) const {
  const auto start = Clock::now();
  if (start >= deadline) {
    return absl::DeadlineExceededError("the sample's deadline passed before scoring started");
  }
  absl::StatusOr<RewardResult> result =
      task.kind == TaskKind::kMath ? ScoreMath(task) : ScoreCode(task, deadline);
  if (result.ok()) result->seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

absl::StatusOr<RewardResult> RewardEngine::ScoreMath(const RewardTask& task) const {
  ASSIGN_OR_RETURN(Json options, ParseOptions(task.options_json));
  const MathVerifier* verifier = &math_;
  std::optional<MathVerifier> custom;
  if (options.contains("answer_markers") && !options["answer_markers"].is_null()) {
    Json m = options["answer_markers"];
    MathVerifierOptions o = config_.math;
    o.answer_markers.clear();
    if (m.is_string()) m = Json::array({m});
    if (!m.is_array()) return BadOption("answer_markers", "expected a list of strings");
    for (const Json& x : m) {
      if (!x.is_string()) return BadOption("answer_markers", "expected a list of strings");
      o.answer_markers.push_back(x.get<std::string>());
    }
    custom.emplace(o);
    verifier = &*custom;
  }
  const MathVerdict verdict = verifier->Verify(task.response, task.ground_truth);
  RewardResult r;
  r.passed = verdict.equivalent;
  r.reward = verdict.equivalent ? 1.0 : 0.0;
  r.detail = !verdict.extracted ? "no final answer found"
             : verdict.equivalent
                 ? absl::StrCat("answer \"", verdict.answer, "\" matches the ground truth")
                 : absl::StrCat("answer \"", verdict.answer, "\" does not match \"",
                                Clip(task.ground_truth, 100), "\"");
  Json details = {{"kind", "math"},
                  {"extracted", verdict.extracted},
                  {"answer", verdict.answer},
                  {"equivalent", verdict.equivalent}};
  r.details_json = details.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

absl::StatusOr<RewardResult> RewardEngine::ScoreCode(const RewardTask& task,
                                                     Clock::time_point deadline) const {
  if (!runner_) {
    return absl::FailedPreconditionError("code rewards are disabled on this server (code_enabled)");
  }
  ASSIGN_OR_RETURN(CodeTests tests, ParseCodeTests(task.ground_truth));
  ASSIGN_OR_RETURN(Json options, ParseOptions(task.options_json));
  ASSIGN_OR_RETURN(CodeSettings settings, ReadCodeSettings(config_, options));
  const Program program = ExtractProgram(task.response, settings.language);

  CodeRunControl control;
  control.compare = settings.compare;
  control.tolerance = settings.tolerance;
  control.time_limit_seconds = settings.time_limit;
  control.deadline = deadline;
  control.stop_after_failure = FailureEndsScoring(settings.mode) && !settings.run_all;
  // Easiest level first: under strict scoring a failure there settles the reward.
  control.order.resize(tests.inputs.size());
  std::iota(control.order.begin(), control.order.end(), 0);
  std::stable_sort(control.order.begin(), control.order.end(),
                   [&](size_t a, size_t b) { return tests.levels[a] < tests.levels[b]; });
  ASSIGN_OR_RETURN(CodeRunResult run, runner_->Run(program, tests, control));

  std::vector<bool> passed(tests.inputs.size());
  int passed_count = 0, skipped = 0;
  Json verdicts = Json::array();
  std::string first_failure;
  for (size_t i = 0; i < run.tests.size(); ++i) {
    const TestVerdict& t = run.tests[i];
    passed[i] = t.outcome == TestOutcome::kPass;
    passed_count += passed[i];
    skipped += t.outcome == TestOutcome::kSkipped;
    Json v = {{"test", i},
              {"level", tests.levels[i]},
              {"verdict", EnumToString(t.outcome)},
              {"wall_s", t.wall_seconds},
              {"cpu_s", t.cpu_seconds}};
    if (t.outcome == TestOutcome::kRuntimeError) {
      v["exit_code"] = t.exit_code;
      v["stderr"] = t.stderr_tail;
    }
    verdicts.push_back(std::move(v));
    if (metrics_ && t.outcome != TestOutcome::kSkipped)
      metrics_->CountTests(EnumToString(t.outcome));
  }
  for (size_t index : control.order) {
    const TestOutcome o = run.tests[index].outcome;
    if (o != TestOutcome::kPass && o != TestOutcome::kSkipped) {
      first_failure = absl::StrCat("; first failure: test ", index, " ", EnumToString(o));
      break;
    }
  }
  if (metrics_) metrics_->CountSandboxTimeouts(run.sandbox_timeouts);
  RewardResult r;
  r.reward = DifficultyReward(passed, tests.levels, settings.weights, settings.mode);
  r.passed = passed_count == static_cast<int>(tests.inputs.size());
  const bool deadline_hit = skipped > 0 && Clock::now() >= deadline;
  if (!run.compiled) {
    r.detail = absl::StrCat(LanguageName(program.language),
                            ": compile error: ", Clip(run.compile_error, 200));
  } else {
    r.detail = absl::StrFormat("%s: %d/%d tests passed (%s, reward %.3f)%s%s",
                               LanguageName(program.language), passed_count, tests.inputs.size(),
                               EnumToString(settings.mode), r.reward, first_failure,
                               deadline_hit ? "; deadline reached before every test ran" : "");
  }
  Json details = {{"kind", "code"},
                  {"language", LanguageName(program.language)},
                  {"compiled", run.compiled},
                  {"compile_seconds", run.compile_seconds},
                  {"reward_mode", EnumToString(settings.mode)},
                  {"passed_tests", passed_count},
                  {"total_tests", tests.inputs.size()},
                  {"deadline_reached", deadline_hit},
                  {"tests", std::move(verdicts)}};
  if (!run.compiled) details["compile_error"] = run.compile_error;
  r.details_json = details.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

absl::StatusOr<std::vector<bool>> RewardEngine::PassedTests(const Program& program,
                                                            const CodeTests& tests) const {
  if (!runner_) return absl::FailedPreconditionError("code rewards are disabled (code_enabled)");
  ASSIGN_OR_RETURN(CodeSettings settings, ReadCodeSettings(config_, Json::object()));
  CodeRunControl control;
  control.compare = settings.compare;
  control.tolerance = settings.tolerance;
  ASSIGN_OR_RETURN(CodeRunResult run, runner_->Run(program, tests, control));
  std::vector<bool> passed;
  for (const TestVerdict& t : run.tests) passed.push_back(t.outcome == TestOutcome::kPass);
  return passed;
}

}  // namespace seamless
