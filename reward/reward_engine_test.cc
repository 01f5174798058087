// The engine end to end: math and code samples in the data's own terms, the cheating
// programs (exit early, print another test's answer), C++ compile and compile errors, and
// the errors that name their field.
#include "reward/reward_engine.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

using Json = nlohmann::json;

class RewardEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RewardConfig config;
    config.sandbox.uid_base = 62100;
    config.sandbox.slots = 4;
    config.runner.time_limit_seconds = 2;
    auto engine = RewardEngine::Create(config, &registry_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = engine->release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }

  static RewardResult Code(const std::string& response, const std::string& truth,
                           const std::string& options = "") {
    RewardTask task{TaskKind::kCode, response, truth, options};
    auto r = engine_->Score(task);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : RewardResult{};
  }

  // A counter's value in the registry's text exposition; the registry is shared by the whole
  // suite, so tests compare values before and after, never absolute counts.
  static double CounterValue(const std::string& name) {
    const std::string text = registry_.RenderPrometheus();
    const std::string prefix = "\n" + name + " ";
    const size_t at = text.find(prefix);
    return at == std::string::npos ? 0.0 : std::stod(text.substr(at + prefix.size()));
  }

  static RewardEngine* engine_;
  static MetricsRegistry registry_;
};
RewardEngine* RewardEngineTest::engine_ = nullptr;
MetricsRegistry RewardEngineTest::registry_;

const char kSquares[] =
    R"({"inputs": ["2\n", "3\n", "10\n", "-4\n"], "outputs": ["4\n", "9\n", "100\n", "16\n"],
        "levels": [0, 0, 1, 2]})";

TEST_F(RewardEngineTest, MathSample) {
  auto r = engine_->Score({TaskKind::kMath, "so \\boxed{\\frac{1}{2}}", "0.5", ""});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->reward, 1.0);
  EXPECT_TRUE(r->passed);
  EXPECT_EQ(Json::parse(r->details_json)["answer"], "\\frac{1}{2}");
  auto marker =
      engine_->Score({TaskKind::kMath, "Final: 7", "7", R"({"answer_markers": ["Final:"]})"});
  ASSERT_TRUE(marker.ok());
  EXPECT_EQ(marker->reward, 1.0);
  auto bad = engine_->Score({TaskKind::kMath, "x", "7", R"({"answer_markers": 3})"});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("extra_info.answer_markers"), std::string::npos);
}

TEST_F(RewardEngineTest, CorrectPythonPassesEverything) {
  RewardResult r = Code("```python\nn = int(input())\nprint(n * n)\n```", kSquares);
  EXPECT_DOUBLE_EQ(r.reward, 1.0) << r.detail;
  EXPECT_TRUE(r.passed);
  Json d = Json::parse(r.details_json);
  EXPECT_EQ(d["passed_tests"], 4);
  EXPECT_EQ(d["tests"][0]["verdict"], "pass");
}

TEST_F(RewardEngineTest, DifficultyModes) {
  // Wrong for negative input only: fails the level-2 test.
  const std::string partial = "n = int(input())\nprint(n * abs(n))\n";
  EXPECT_DOUBLE_EQ(Code(partial, kSquares, R"({"reward_mode": "strict"})").reward, 3.0 / 6);
  EXPECT_DOUBLE_EQ(Code(partial, kSquares, R"({"reward_mode": "soft"})").reward, 3.0 / 6);
  EXPECT_DOUBLE_EQ(Code(partial, kSquares, R"({"reward_mode": "pass_rate"})").reward, 0.75);
  EXPECT_DOUBLE_EQ(Code(partial, kSquares, R"({"reward_mode": "all_or_nothing"})").reward, 0.0);
  // Wrong on one easy test: strict gives nothing, soft gives the rest.
  const std::string easy_wrong = "n = int(input())\nprint(5 if n == 2 else n * n)\n";
  EXPECT_DOUBLE_EQ(Code(easy_wrong, kSquares, R"({"reward_mode": "strict"})").reward, 0.0);
  EXPECT_DOUBLE_EQ(Code(easy_wrong, kSquares, R"({"reward_mode": "soft"})").reward, 5.5 / 6);
  EXPECT_DOUBLE_EQ(
      Code(easy_wrong, kSquares, R"({"reward_mode": "soft", "level_weights": [1, 1, 1]})").reward,
      2.5 / 3);
}

TEST_F(RewardEngineTest, ExitingEarlyEarnsNothing) {
  RewardResult r = Code("import sys\nsys.exit(0)\n", kSquares, R"({"reward_mode": "pass_rate"})");
  EXPECT_DOUBLE_EQ(r.reward, 0.0);
  EXPECT_NE(r.detail.find("wrong_answer"), std::string::npos) << r.detail;
}

TEST_F(RewardEngineTest, PrintingAnotherTestsAnswerEarnsOnlyThatTest) {
  // Hard-codes test 0's answer: passes test 0 and nothing else; the ground truth never
  // enters the sandbox, so it cannot look up the others.
  RewardResult r = Code("print(4)\n", kSquares, R"({"reward_mode": "pass_rate"})");
  EXPECT_DOUBLE_EQ(r.reward, 0.25);
  RewardResult peek = Code(
      "import os\nfound = []\nfor root, dirs, files in os.walk('/'):\n"
      "    if root.startswith('/proc') or root.startswith('/usr') or root.startswith('/sys'): "
      "continue\n"
      "    found += [os.path.join(root, f) for f in files]\nprint(found)\n",
      kSquares, R"({"reward_mode": "pass_rate", "run_all_tests": true})");
  EXPECT_DOUBLE_EQ(peek.reward, 0.0);
}

TEST_F(RewardEngineTest, RuntimeErrorsAndTimeoutsAreVerdicts) {
  const double timeouts_before = CounterValue("seamless_reward_sandbox_timeouts_total");
  RewardResult crash = Code("raise ValueError('boom')", kSquares,
                            R"({"reward_mode": "pass_rate", "run_all_tests": true})");
  EXPECT_DOUBLE_EQ(crash.reward, 0.0);
  Json d = Json::parse(crash.details_json);
  EXPECT_EQ(d["tests"][0]["verdict"], "runtime_error");
  EXPECT_NE(d["tests"][0]["stderr"].get<std::string>().find("boom"), std::string::npos);
  // Strict: the first timeout ends scoring; the other tests are skipped, not run.
  RewardResult loop =
      Code("while True: pass", kSquares, R"({"reward_mode": "strict", "time_limit_seconds": 0.5})");
  EXPECT_DOUBLE_EQ(loop.reward, 0.0);
  Json l = Json::parse(loop.details_json);
  EXPECT_EQ(l["tests"][0]["verdict"], "timeout");
  EXPECT_EQ(l["tests"][3]["verdict"], "skipped");
  // The counter grows by every timeout verdict: the loop's one, and any test of the crashing
  // program that a loaded machine ran past its limit (seen once in CI-like load). Earlier
  // tests of the suite may have timed out under load too (CI saw the os.walk one do so),
  // hence the difference.
  int timeouts = 0;
  for (const Json* details : {&d, &l}) {
    for (const auto& t : (*details)["tests"]) timeouts += t["verdict"] == "timeout";
  }
  EXPECT_GE(timeouts, 1);
  EXPECT_EQ(CounterValue("seamless_reward_sandbox_timeouts_total") - timeouts_before, timeouts)
      << registry_.RenderPrometheus();
}

TEST_F(RewardEngineTest, CppCompilesRunsAndReportsCompileErrors) {
  RewardResult ok = Code(
      "```cpp\n#include <iostream>\nint main() { long long n; std::cin >> n; std::cout << n * n "
      "<< \"\\n\"; }\n```",
      kSquares);
  EXPECT_DOUBLE_EQ(ok.reward, 1.0) << ok.detail << ok.details_json;
  RewardResult broken = Code("```c++\nint main() { return x; }\n```", kSquares);
  EXPECT_DOUBLE_EQ(broken.reward, 0.0);
  EXPECT_NE(broken.detail.find("compile error"), std::string::npos) << broken.detail;
  EXPECT_NE(
      Json::parse(broken.details_json)["compile_error"].get<std::string>().find("not declared"),
      std::string::npos);
}

TEST_F(RewardEngineTest, BadInputsNameTheField) {
  auto expect = [](const RewardTask& task, absl::StatusCode code, const char* field) {
    auto r = engine_->Score(task);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code);
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status();
  };
  expect({TaskKind::kCode, "print(1)", "{\"inputs\": 3}", ""}, absl::StatusCode::kInvalidArgument,
         "ground_truth.inputs");
  expect({TaskKind::kCode, "print(1)", kSquares, R"({"language": "cobol"})"},
         absl::StatusCode::kInvalidArgument, "extra_info.language");
  expect({TaskKind::kCode, "print(1)", kSquares, R"({"reward_mode": "lenient"})"},
         absl::StatusCode::kInvalidArgument, "extra_info.reward_mode");
  expect({TaskKind::kCode, "print(1)", kSquares, "[1]"}, absl::StatusCode::kInvalidArgument,
         "extra_info");
  auto late = engine_->Score({TaskKind::kMath, "\\boxed{1}", "1", ""},
                             RewardEngine::Clock::now() - std::chrono::seconds(1));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(RewardEngineTest, DeeplyNestedJsonIsRefusedNamingTheLimit) {
  // 150,000 levels overflowed the stack; the guard answers before anything recurses.
  const std::string deep = std::string(150000, '[') + std::string(150000, ']');
  auto options = engine_->Score({TaskKind::kMath, "\\boxed{1}", "1", deep});
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(options.status().message(), "extra_info: nested 150000 levels deep; at most 512");
  auto truth = engine_->Score({TaskKind::kCode, "print(1)", deep, ""});
  EXPECT_EQ(truth.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(truth.status().message(), "ground_truth: nested 150000 levels deep; at most 512");
  // verl's form, the tests as a JSON string, is checked again once unwrapped.
  auto wrapped = engine_->Score({TaskKind::kCode, "print(1)", nlohmann::json(deep).dump(), ""});
  EXPECT_EQ(wrapped.status().message(),
            "ground_truth: a string that is nested 150000 levels deep; at most 512");
}

TEST(RewardEngineMathOnlyTest, CodeDisabledIsAClearError) {
  RewardConfig config;
  config.code_enabled = false;
  auto engine = RewardEngine::Create(config);
  ASSERT_TRUE(engine.ok());
  auto r = (*engine)->Score({TaskKind::kCode, "print(1)", kSquares, ""});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace seamless
