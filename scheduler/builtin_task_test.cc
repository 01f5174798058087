#include "scheduler/builtin_task.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "reward/math_verifier.h"

namespace seamless {
namespace {

ArithmeticTaskOptions ThreeOperands() {
  ArithmeticTaskOptions o;
  o.num_operands = 3;
  o.allow_subtraction = true;
  o.max_operand = 50;
  o.solution_style = SolutionStyle::kSteps;
  return o;
}

TEST(BuiltinTaskTest, SameSeedSameProblemsOtherSeedOthers) {
  auto a = GenerateArithmeticTask(7, 300, TaskSplit::kTrain);
  auto b = GenerateArithmeticTask(7, 300, TaskSplit::kTrain);
  auto c = GenerateArithmeticTask(8, 300, TaskSplit::kTrain);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_EQ(a->size(), 300u);
  int differ = 0;
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].prompt, (*b)[i].prompt);
    EXPECT_EQ((*a)[i].solution, (*b)[i].solution);
    EXPECT_EQ((*a)[i].index, int64_t(i));
    differ += (*a)[i].prompt != (*c)[i].prompt;
  }
  EXPECT_GT(differ, 250);
}

TEST(BuiltinTaskTest, SplitsAreDisjointWhateverTheSeeds) {
  for (const ArithmeticTaskOptions& o : {ArithmeticTaskOptions{}, ThreeOperands()}) {
    std::set<std::string> train, test;
    for (uint64_t seed : {1, 2}) {
      auto tr = GenerateArithmeticTask(seed, 2000, TaskSplit::kTrain, o);
      auto te = GenerateArithmeticTask(seed + 10, 500, TaskSplit::kTest, o);
      ASSERT_TRUE(tr.ok()) << tr.status();
      ASSERT_TRUE(te.ok()) << te.status();
      std::set<std::string> once;
      for (const auto& p : *tr) {
        EXPECT_EQ(p.split, TaskSplit::kTrain);
        EXPECT_TRUE(once.insert(p.expression).second) << "duplicate " << p.expression;
        train.insert(p.expression);
      }
      for (const auto& p : *te) {
        EXPECT_EQ(p.split, TaskSplit::kTest);
        test.insert(p.expression);
      }
    }
    for (const std::string& e : test) EXPECT_EQ(train.count(e), 0u) << e << " in both splits";
    // Roughly test_percent of the space is held out.
    int held = 0;
    for (int a = 0; a < 100; ++a) {
      for (int b = 0; b < 100; ++b) {
        held +=
            SplitOfExpression(std::to_string(a) + "+" + std::to_string(b), 20) == TaskSplit::kTest;
      }
    }
    EXPECT_NEAR(held / 10000.0, 0.20, 0.02);
  }
}

TEST(BuiltinTaskTest, EverySftResponseVerifiesWithTheRealMathVerifier) {
  const MathVerifier verifier;
  for (const ArithmeticTaskOptions& o : {ArithmeticTaskOptions{}, ThreeOperands()}) {
    auto problems = GenerateArithmeticTask(3, 1000, TaskSplit::kTrain, o);
    ASSERT_TRUE(problems.ok());
    for (const auto& p : *problems) {
      const MathVerdict v = verifier.Verify(p.solution, p.answer);
      EXPECT_TRUE(v.extracted && v.equivalent) << p.prompt << " -> " << p.solution;
      // A wrong answer must not pass, or the reward would be meaningless.
      EXPECT_FALSE(
          verifier.Verify(p.solution, std::to_string(std::stoll(p.answer) + 1)).equivalent);
      EXPECT_EQ(p.prompt, p.expression + "=");
      // Short enough for the default model's context and a quick rollout.
      EXPECT_LT(p.prompt.size() + p.solution.size(), 60u) << p.solution;
      ASSERT_GE(p.solution.size(), 8u);
      EXPECT_EQ(p.solution.substr(p.solution.size() - p.answer.size() - 8),
                "\\boxed{" + p.answer + "}");
    }
  }
  auto three = GenerateArithmeticTask(3, 1, TaskSplit::kTrain, ThreeOperands());
  ASSERT_TRUE(three.ok());
  // Worked step: "a+b=s, s-c=r, \boxed{r}".
  EXPECT_NE((*three)[0].solution.find(", "), std::string::npos) << (*three)[0].solution;
}

TEST(BuiltinTaskTest, ColumnStepsAddDigitsWithCarries) {
  EXPECT_EQ(ColumnAdditionSteps({34, 57}), "4+7=11, 3+5+1=9, ");
  EXPECT_EQ(ColumnAdditionSteps({99, 1}), "9+1=10, 9+1=10, ");
  EXPECT_EQ(ColumnAdditionSteps({0, 5}), "0+5=5, ");
  EXPECT_EQ(ColumnAdditionSteps({7, 45}), "7+5=12, 4+1=5, ");
  EXPECT_EQ(ColumnAdditionSteps({12, 30, 5}), "2+0+5=7, 1+3=4, ");
  auto problems = GenerateArithmeticTask(5, 50, TaskSplit::kTrain);  // default: columns
  ASSERT_TRUE(problems.ok());
  for (const auto& p : *problems) {
    EXPECT_EQ(p.solution.rfind("\\boxed{", 0) == 0, false) << p.solution;
  }
  ArithmeticTaskOptions bad;
  bad.allow_subtraction = true;  // columns cannot show a subtraction
  EXPECT_FALSE(GenerateArithmeticTask(1, 1, TaskSplit::kTrain, bad).ok());
}

TEST(BuiltinTaskTest, JsonlFollowsVerlAndSftSchemas) {
  auto problems = GenerateArithmeticTask(1, 5, TaskSplit::kTest);
  ASSERT_TRUE(problems.ok());
  std::vector<std::string> lines =
      absl::StrSplit(RlPromptJsonl(*problems), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto j = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(j["data_source"], "seamless/arithmetic");
    EXPECT_EQ(j["prompt"], (*problems)[i].prompt);
    EXPECT_EQ(j["ability"], "math");
    EXPECT_EQ(j["reward_model"]["style"], "rule");
    EXPECT_EQ(j["reward_model"]["ground_truth"], (*problems)[i].answer);
    EXPECT_EQ(j["extra_info"]["split"], "test");
    EXPECT_EQ(j["extra_info"]["index"], int64_t(i));
  }
  const std::string chat_text = RlPromptJsonl(*problems, /*chat=*/true);
  auto chat = nlohmann::json::parse(chat_text.substr(0, chat_text.find('\n')));
  EXPECT_EQ(chat["prompt"][0]["role"], "user");
  EXPECT_EQ(chat["prompt"][0]["content"], (*problems)[0].prompt);
  std::vector<std::string> sft = absl::StrSplit(SftJsonl(*problems), '\n', absl::SkipEmpty());
  ASSERT_EQ(sft.size(), 5u);
  auto s = nlohmann::json::parse(sft[0]);
  EXPECT_EQ(s["prompt"], (*problems)[0].prompt);
  EXPECT_EQ(s["response"], (*problems)[0].solution);
}

TEST(BuiltinTaskTest, WorkedPercentMixesStylesOverTheSameProblems) {
  ArithmeticTaskOptions all_worked;
  ArithmeticTaskOptions mixed;
  mixed.worked_percent = 30;
  auto a = GenerateArithmeticTask(3, 2000, TaskSplit::kTrain, all_worked);
  auto b = GenerateArithmeticTask(3, 2000, TaskSplit::kTrain, mixed);
  ASSERT_TRUE(a.ok() && b.ok());
  int worked = 0;
  for (size_t i = 0; i < a->size(); ++i) {
    const ArithmeticProblem& p = (*b)[i];
    ASSERT_EQ((*a)[i].prompt, p.prompt);  // the style does not change which problems are drawn
    if (p.solution == (*a)[i].solution) {
      ++worked;
    } else {
      EXPECT_EQ(p.solution, "\\boxed{" + p.answer + "}");
    }
  }
  // 30% of 2000 draws: 600, binomial sd ~20.
  EXPECT_GT(worked, 500);
  EXPECT_LT(worked, 700);
  ArithmeticTaskOptions bad;
  bad.worked_percent = 101;
  EXPECT_FALSE(GenerateArithmeticTask(1, 1, TaskSplit::kTrain, bad).ok());
}

TEST(BuiltinTaskTest, RefusesImpossibleRequestsAndBadOptions) {
  ArithmeticTaskOptions tiny;
  tiny.max_operand = 2;  // 9 problems in all
  auto r = GenerateArithmeticTask(1, 50, TaskSplit::kTrain, tiny);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("fewer than 50"), std::string::npos) << r.status();
  ArithmeticTaskOptions bad;
  bad.num_operands = 1;
  EXPECT_FALSE(GenerateArithmeticTask(1, 1, TaskSplit::kTrain, bad).ok());
}

}  // namespace
}  // namespace seamless
