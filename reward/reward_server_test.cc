// Loopback: a real `seamless reward-server` process, talked to through a real stub, plus the
// `seamless reward score|calibrate` command lines on the same engine.
#include <signal.h>

#include <chrono>
#include <thread>
#include <vector>

#include "core/metrics/http_server.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "reward/reward_client.h"
#include "tests/testing/child_process.h"
#include "tests/testing/subprocess.h"

namespace seamless {
namespace {

using Json = nlohmann::json;
using testing::ChildProcess;
using testing::RunCommand;
using testing::SeamlessBinary;

TEST(RewardServerLoopbackTest, ServesScoresHealthAndMetrics) {
  auto child = ChildProcess::Start({SeamlessBinary(), "reward-server", "--listen", "127.0.0.1:0",
                                    "--metrics-listen", "127.0.0.1:0", "--workers", "2"});
  ASSERT_TRUE(child.ok()) << child.status();
  auto metrics_line = child->WaitForLine("metrics on ", std::chrono::seconds(60));
  ASSERT_TRUE(metrics_line.ok()) << metrics_line.status();
  const int metrics_port = std::stoi(metrics_line->substr(metrics_line->rfind(':') + 1));
  auto port = child->WaitForListeningPort();
  ASSERT_TRUE(port.ok()) << port.status();
  RewardClient client("127.0.0.1:" + std::to_string(*port));
  ASSERT_TRUE(client.WaitUntilServing(std::chrono::seconds(20)).ok());

  ScoreRequest math;
  math.set_request_id("r1");
  math.set_kind(REWARD_KIND_MATH);
  math.set_response_text("... so the total is $\\boxed{1{,}024}$.");
  math.set_ground_truth("2^{10}");
  auto m = client.Score(math);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->reward(), 1.0f);

  ScoreRequest code;
  code.set_request_id("r2");
  code.set_kind(REWARD_KIND_CODE);
  code.set_response_text("```python\nprint(sum(map(int, input().split())))\n```");
  code.set_ground_truth(R"({"inputs": ["1 2\n", "5 7\n"], "outputs": ["3\n", "12\n"]})");
  ScoreBatchRequest batch;
  *batch.add_requests() = code;
  *batch.add_requests() = math;
  auto b = client.ScoreBatch(batch);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->responses_size(), 2);
  EXPECT_EQ(b->responses(0).request_id(), "r2");
  EXPECT_EQ(b->responses(0).reward(), 1.0f) << b->responses(0).detail();
  EXPECT_EQ(b->responses(1).reward(), 1.0f);

  // A hostile sample is contained, and the server keeps serving.
  code.set_response_text("import os\nwhile True:\n    try: os.fork()\n    except OSError: pass\n");
  code.set_extra_info_json(R"({"time_limit_seconds": 0.5})");
  auto bomb = client.Score(code);
  ASSERT_TRUE(bomb.ok()) << bomb.status();
  EXPECT_EQ(bomb->reward(), 0.0f);
  code.set_ground_truth("[1, 2]");
  auto bad = client.Score(code);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("ground_truth"), std::string::npos);
  EXPECT_TRUE(client.Score(math).ok());

  auto text = HttpGet("127.0.0.1", metrics_port, "/metrics");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_NE(text->find("seamless_reward_requests_total{kind=\"math\",result=\"ok\"} 3"),
            std::string::npos)
      << *text;
  EXPECT_NE(
      text->find("seamless_reward_requests_total{kind=\"code\",result=\"invalid_argument\"} 1"),
      std::string::npos);
  EXPECT_NE(text->find("seamless_reward_latency_seconds_bucket"), std::string::npos);
  EXPECT_NE(text->find("seamless_reward_sandbox_timeouts_total"), std::string::npos);

  child->Signal(SIGTERM);
  EXPECT_EQ(child->Wait(), 0);
}

// SIGTERM while a slow code sample runs and more wait behind it: the server answers the waiting
// ones UNAVAILABLE, kills the running one and exits within seconds (it used to wait for every
// queued sample's program, 3 x 50 s here, while the launcher's grace is 10 s).
TEST(RewardServerLoopbackTest, StopsPromptlyOnSigtermWithSlowSamplesQueued) {
  auto child = ChildProcess::Start(
      {SeamlessBinary(), "reward-server", "--listen", "127.0.0.1:0", "--workers", "1"});
  ASSERT_TRUE(child.ok()) << child.status();
  auto port = child->WaitForListeningPort();
  ASSERT_TRUE(port.ok()) << port.status();
  RewardClient client("127.0.0.1:" + std::to_string(*port));
  ASSERT_TRUE(client.WaitUntilServing(std::chrono::seconds(20)).ok());

  ScoreRequest slow;
  slow.set_kind(REWARD_KIND_CODE);
  slow.set_response_text("import time\ntime.sleep(50)\nprint(1)");
  slow.set_ground_truth(R"({"inputs": [""], "outputs": ["1"]})");
  slow.set_extra_info_json(R"({"time_limit_seconds": 60})");
  std::vector<absl::StatusOr<ScoreResponse>> results(3);
  std::vector<std::thread> callers;
  callers.reserve(results.size());
  for (auto& result : results) {
    callers.emplace_back([&client, &slow, &result] { result = client.Score(slow); });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // one runs, two wait
  const auto start = std::chrono::steady_clock::now();
  child->Signal(SIGTERM);
  while (child->Running() && std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const bool stopped = !child->Running();
  if (!stopped) child->Signal(SIGKILL);
  for (std::thread& caller : callers) caller.join();
  ASSERT_TRUE(stopped) << "reward-server still running 60 s after SIGTERM";
  EXPECT_EQ(child->exit_code(), 0);
  for (const auto& result : results) EXPECT_FALSE(result.ok());
}

TEST(RewardCommandTest, ScoreReadsJsonLines) {
  const std::string input =
      R"j({"ability": "math", "response": "Answer: 3/4", "ground_truth": "0.75"})j"
      "\n"
      R"j({"ability": "code", "response": "print(int(input()) * 2)", "ground_truth": {"inputs": ["2\n", "5\n"], "outputs": ["4\n", "11\n"], "levels": [0, 1]}, "extra_info": {"reward_mode": "soft", "level_weights": [1, 3]}})j"
      "\n"
      R"j({"ability": "poetry", "response": "x", "ground_truth": "y"})j"
      "\n";
  auto r = RunCommand(SeamlessBinary() + " reward score", input);
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the third line is an error, reported on its line
  std::vector<Json> lines;
  size_t start = 0;
  while (start < r.out.size()) {
    const size_t end = r.out.find('\n', start);
    lines.push_back(Json::parse(r.out.substr(start, end - start)));
    start = end + 1;
  }
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0]["reward"], 1.0);
  EXPECT_EQ(lines[0]["details"]["answer"], "3/4");
  EXPECT_DOUBLE_EQ(lines[1]["reward"].get<double>(), 0.25);
  EXPECT_EQ(lines[1]["details"]["tests"][1]["verdict"], "wrong_answer");
  EXPECT_NE(lines[2]["error"].get<std::string>().find("ability"), std::string::npos);
  EXPECT_NE(r.err.find("1 of 3 samples"), std::string::npos) << r.err;
}

TEST(RewardCommandTest, ScoreRefusesADeeplyNestedLineAndGoesOn) {
  // 150,000 levels in ground_truth made `reward score` exit 139 (stack overflow).
  const std::string input =
      "{\"ability\": \"math\", \"response\": \"1\", \"ground_truth\": " + std::string(150000, '[') +
      std::string(150000, ']') +
      "}\n{\"ability\": \"math\", \"response\": \"\\\\boxed{1}\", \"ground_truth\": \"1\"}\n";
  auto r = RunCommand(SeamlessBinary() + " reward score --no-code", input);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const size_t nl = r.out.find('\n');
  ASSERT_NE(nl, std::string::npos) << r.out;
  const Json first = Json::parse(r.out.substr(0, nl));
  EXPECT_EQ(first["line"], 1);
  EXPECT_EQ(first["error"], "nested 150001 levels deep; at most 512");
  EXPECT_EQ(Json::parse(r.out.substr(nl + 1))["reward"], 1.0);
}

TEST(RewardCommandTest, CalibrateAssignsLevels) {
  const std::string input =
      R"j({"id": 1, "ground_truth": {"inputs": ["a", "b", "c"], "outputs": ["1", "2", "3"]}, "pass_matrix": [[1, 1, 0], [1, 0, 0], [1, 1, 0], [1, 0, 0]]})j"
      "\n"
      R"j({"id": 2, "ground_truth": {"inputs": ["1\n", "-1\n"], "outputs": ["1\n", "1\n"]}, "solutions": ["print(int(input()))", "print(abs(int(input())))"]})j"
      "\n";
  auto r = RunCommand(SeamlessBinary() + " reward calibrate --thresholds 0.9,0.4", input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t nl = r.out.find('\n');
  Json first = Json::parse(r.out.substr(0, nl));
  Json second = Json::parse(r.out.substr(nl + 1));
  EXPECT_EQ(first["id"], 1);
  EXPECT_EQ(first["ground_truth"]["levels"], Json::parse("[0, 1, 2]"));
  EXPECT_EQ(second["pass_rates"], Json::parse("[1.0, 0.5]"));
  EXPECT_EQ(second["ground_truth"]["levels"], Json::parse("[0, 1]"));
}

}  // namespace
}  // namespace seamless
