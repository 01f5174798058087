// Unit tests of the pure pieces of code rewards: test parsing, program extraction, output
// comparison, difficulty rewards and calibration. No sandbox.
#include "gtest/gtest.h"
#include "reward/calibrate.h"
#include "reward/code_task.h"
#include "reward/difficulty_reward.h"
#include "reward/output_compare.h"

namespace seamless {
namespace {

TEST(CodeTestsTest, ParsesTheCommonForms) {
  auto a =
      ParseCodeTests(R"({"inputs": ["1\n", "2\n"], "outputs": ["1\n", "4\n"], "levels": [0, 1]})");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->inputs.size(), 2u);
  EXPECT_EQ(a->levels, (std::vector<int>{0, 1}));
  auto as_string = ParseCodeTests(R"("{\"inputs\": [\"x\"], \"outputs\": [\"y\"]}")");
  ASSERT_TRUE(as_string.ok()) << as_string.status();
  EXPECT_EQ(as_string->levels, std::vector<int>{0});
  auto apps =
      ParseCodeTests(R"({"input_output": "{\"inputs\": [[\"1\", \"2\"]], \"outputs\": [\"3\"]}"})");
  ASSERT_TRUE(apps.ok()) << apps.status();
  EXPECT_EQ(apps->inputs[0], "1\n2\n");
}

TEST(CodeTestsTest, ErrorsNameTheField) {
  auto expect_error = [](const char* json, const char* field) {
    auto r = ParseCodeTests(json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status();
  };
  expect_error("not json", "ground_truth");
  expect_error(R"({"outputs": ["1"]})", "ground_truth.inputs");
  expect_error(R"({"inputs": ["1"], "outputs": [2]})", "ground_truth.outputs[0]");
  expect_error(R"({"inputs": ["1", "2"], "outputs": ["1"]})", "ground_truth.outputs");
  expect_error(R"({"inputs": ["1"], "outputs": ["1"], "levels": [0, 1]})", "ground_truth.levels");
  expect_error(R"({"inputs": ["1"], "outputs": ["1"], "levels": [-1]})", "ground_truth.levels[0]");
  expect_error(R"({"inputs": ["1"], "outputs": ["1"], "fn_name": "f"})", "ground_truth.fn_name");
  expect_error(R"({"inputs": [], "outputs": []})", "ground_truth.inputs");
}

TEST(ExtractProgramTest, FencedBlocksAndBarePython) {
  Program p =
      ExtractProgram("Here:\n```python\nprint(1)\n```\nand in C++:\n```cpp\nint main(){}\n```\n");
  EXPECT_EQ(p.language, Language::kCpp);
  EXPECT_EQ(p.source, "int main(){}\n");
  p = ExtractProgram("```py\nprint(2)\n```\n```text\nnot code\n```");
  EXPECT_EQ(p.language, Language::kPython);
  EXPECT_EQ(p.source, "print(2)\n");
  p = ExtractProgram("```\nprint(3)\n```");
  EXPECT_EQ(p.language, Language::kPython);
  EXPECT_EQ(p.source, "print(3)\n");
  p = ExtractProgram("print(4)");
  EXPECT_EQ(p.source, "print(4)");
  p = ExtractProgram("```python\nprint(5)\n", Language::kCpp);  // unterminated; forced
  EXPECT_EQ(p.language, Language::kCpp);
  EXPECT_EQ(p.source, "print(5)\n");
}

TEST(OutputCompareTest, Modes) {
  EXPECT_TRUE(OutputsMatch("1 2\n3\n\n", "1 2\n3", CompareMode::kExact, 0));
  EXPECT_FALSE(OutputsMatch("1  2\n3", "1 2\n3", CompareMode::kExact, 0));
  EXPECT_TRUE(OutputsMatch("1  2\r\n3 ", "1 2\n3", CompareMode::kWhitespace, 0));
  EXPECT_FALSE(OutputsMatch("1 2 3", "1 2", CompareMode::kWhitespace, 0));
  EXPECT_FALSE(OutputsMatch("", "1", CompareMode::kWhitespace, 0));
  EXPECT_TRUE(OutputsMatch("0.3333333", "0.333333333", CompareMode::kFloat, 1e-6));
  EXPECT_FALSE(OutputsMatch("0.34", "0.333333333", CompareMode::kFloat, 1e-6));
  EXPECT_FALSE(OutputsMatch("1000001", "1000000", CompareMode::kFloat, 1e-6));  // integers
  EXPECT_TRUE(OutputsMatch("1e6", "1000000.0", CompareMode::kFloat, 1e-6));
  EXPECT_FALSE(OutputsMatch("nan", "nan", CompareMode::kFloat, 1e-6) &&
               OutputsMatch("nan", "1.0", CompareMode::kFloat, 1e-6));
  EXPECT_TRUE(OutputsMatch("YES", "YES", CompareMode::kFloat, 1e-6));
}

TEST(DifficultyRewardTest, StrictSoftPassRateAllOrNothing) {
  const std::vector<int> levels = {0, 0, 1, 1, 2};
  const std::vector<double> weights = {1, 2, 3};  // normalised over 6
  const std::vector<bool> all = {true, true, true, true, true};
  const std::vector<bool> easy_only = {true, true, false, true, true};
  const std::vector<bool> none = {false, false, false, false, false};
  EXPECT_DOUBLE_EQ(DifficultyReward(all, levels, weights, RewardMode::kStrict), 1.0);
  // Level 1 fails, so level 2 counts for nothing even though its test passed.
  EXPECT_DOUBLE_EQ(DifficultyReward(easy_only, levels, weights, RewardMode::kStrict), 1.0 / 6);
  // Soft: 1 + 2 * 1/2 + 3 = 5 of 6.
  EXPECT_DOUBLE_EQ(DifficultyReward(easy_only, levels, weights, RewardMode::kSoft), 5.0 / 6);
  EXPECT_DOUBLE_EQ(DifficultyReward(easy_only, levels, weights, RewardMode::kPassRate), 0.8);
  EXPECT_DOUBLE_EQ(DifficultyReward(easy_only, levels, weights, RewardMode::kAllOrNothing), 0.0);
  EXPECT_DOUBLE_EQ(DifficultyReward(all, levels, weights, RewardMode::kAllOrNothing), 1.0);
  for (RewardMode m : {RewardMode::kStrict, RewardMode::kSoft, RewardMode::kPassRate}) {
    EXPECT_DOUBLE_EQ(DifficultyReward(none, levels, weights, m), 0.0);
  }
  // Only the levels a problem has count: levels {1, 2} with weights 2 and 3.
  EXPECT_DOUBLE_EQ(DifficultyReward({true, false}, {1, 2}, weights, RewardMode::kStrict), 0.4);
  // Levels beyond the weights take the last weight.
  EXPECT_DOUBLE_EQ(DifficultyReward({true, false}, {0, 7}, {1, 3}, RewardMode::kSoft), 0.25);
  EXPECT_TRUE(FailureEndsScoring(RewardMode::kStrict));
  EXPECT_FALSE(FailureEndsScoring(RewardMode::kSoft));
  EXPECT_EQ(EnumFromString<RewardMode>("soft"), RewardMode::kSoft);
  EXPECT_FALSE(EnumFromString<RewardMode>("lenient"));
}

TEST(CalibrateTest, LevelsFromPassRates) {
  const std::vector<std::vector<bool>> results = {{true, true, false, false},
                                                  {true, false, false, false},
                                                  {true, true, true, false},
                                                  {true, true, false, false}};
  const std::vector<double> rates = TestPassRates(results);
  EXPECT_EQ(rates, (std::vector<double>{1.0, 0.75, 0.25, 0.0}));
  EXPECT_EQ(AssignLevels(rates, {0.8, 0.2}), (std::vector<int>{0, 1, 1, 2}));
  EXPECT_EQ(AssignLevels(rates, {0.5}), (std::vector<int>{0, 0, 1, 1}));
}

}  // namespace
}  // namespace seamless
