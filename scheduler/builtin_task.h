// The built-in task with a verifiable answer: integer arithmetic small enough for the embedded
// default model (1M parameters, character tokenizer, 512-token context) to learn, written as
// RL prompts in verl's JSONL schema and as SFT prompt/response pairs whose responses end with
// `\boxed{N}`, so that the real math verifier (reward/math_verifier.h) scores the samples.
//
// Problems are generated from a seed, deterministically. Which split a problem belongs to is
// a fixed function of its text (a stable hash), not of the seed or the draw order, so the
// train and held-out splits never share a problem, whatever seeds and counts are asked for.
#ifndef SEAMLESS_SCHEDULER_BUILTIN_TASK_H_
#define SEAMLESS_SCHEDULER_BUILTIN_TASK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/base/config_enum.h"

namespace seamless {

enum class TaskSplit { kTrain, kTest };
const char* TaskSplitName(TaskSplit split);  // "train" | "test" (verl's extra_info.split)

enum class SolutionStyle { kColumns, kSteps, kAnswer };  // see solution_style below
inline ConfigEnumTable<SolutionStyle> ConfigEnumNames(SolutionStyle) {
  static constexpr ConfigEnumName<SolutionStyle> kNames[] = {{SolutionStyle::kColumns, "columns"},
                                                             {SolutionStyle::kSteps, "steps"},
                                                             {SolutionStyle::kAnswer, "answer"}};
  return kNames;
}

struct ArithmeticTaskOptions {
  // Operands are drawn uniformly from [min_operand, max_operand].
  int64_t min_operand = 0;
  int64_t max_operand = 99;
  // 2: "a+b"; 3: "a+b-c" style (the second operator is + or - when allow_subtraction).
  int64_t num_operands = 2;
  bool allow_subtraction = false;
  // How SFT responses reach the boxed answer (task.solution_style):
  //   "columns": column addition, least significant digit first, with carries:
  //              34+57 -> "4+7=11, 3+5+1=9, \boxed{91}". Every step is a one-digit fact the
  //              train split holds many times, so a tiny model generalises to held-out
  //              problems (it cannot learn multi-digit sums in one token). Additions only.
  //   "steps":   the partial results, "12+34=46, 46-7=39, \boxed{39}" (3+ operands).
  //   "answer":  just "\boxed{46}".
  SolutionStyle solution_style = SolutionStyle::kColumns;
  // Percent of SFT responses that show the worked steps of `solution_style`; the others give
  // the bare "\boxed{46}". Below 100 the warm start knows two ways to answer, one that a small
  // model gets right far more often: RL's job is then to find which one pays, the behaviour
  // reasoning RL is known for (MiMo's responses grow longer as reward rises).
  int64_t worked_percent = 100;
  // Percent of the problem space that belongs to the held-out (test) split.
  int64_t test_percent = 20;

  template <typename V>
  void VisitFields(V& v) {
    v("min_operand", min_operand, "Smallest operand");
    v("max_operand", max_operand, "Largest operand");
    v("num_operands", num_operands, "Operands per problem (2: a+b, 3: a+b-c)");
    v("allow_subtraction", allow_subtraction, "Operators after the first may be '-'");
    v("solution_style", solution_style,
      "SFT responses: columns (digit-wise addition with carries) | steps | answer");
    v("worked_percent", worked_percent,
      "Percent of SFT responses showing the worked steps (the rest: only the boxed answer)");
    v("test_percent", test_percent, "Percent of the problem space held out for evaluation");
  }

  absl::Status Validate() const;
};

struct ArithmeticProblem {
  std::string expression;  // "12+34"
  std::string prompt;      // the model's input: "12+34="
  std::string answer;      // ground truth: "46"
  std::string solution;    // SFT response: worked steps (solution_style), then "\boxed{46}"
  TaskSplit split = TaskSplit::kTrain;
  int64_t index = 0;  // position in its generated list
};

// The split a problem's expression belongs to (a stable FNV-1a hash of the text).
TaskSplit SplitOfExpression(const std::string& expression, int64_t test_percent);

// `count` distinct problems of `split`, drawn with `seed`. Fails when the split holds fewer
// than `count` distinct problems (the operand range is too small).
absl::StatusOr<std::vector<ArithmeticProblem>> GenerateArithmeticTask(
    uint64_t seed, int64_t count, TaskSplit split, const ArithmeticTaskOptions& options = {});

// The "columns" worked steps: {34, 57} -> "4+7=11, 3+5+1=9, " (exposed for tests).
std::string ColumnAdditionSteps(const std::vector<int64_t>& operands);

// One verl prompt record per line: {"data_source": "seamless/arithmetic", "prompt": ...,
// "ability": "math", "reward_model": {"style": "rule", "ground_truth": "46"},
// "extra_info": {"split": "train", "index": 0}}. `chat`: the prompt is [{"role": "user",
// "content": ...}] (for tokenizers with a chat format; the character tokenizer has none, so
// the default model needs plain text).
std::string RlPromptJsonl(const std::vector<ArithmeticProblem>& problems, bool chat = false);
// {"prompt": ..., "response": ...} per line, as learner/sft.h's LoadSftExamples reads.
std::string SftJsonl(const std::vector<ArithmeticProblem>& problems);

absl::Status WriteRlPromptsFile(const std::string& path,
                                const std::vector<ArithmeticProblem>& problems, bool chat = false);
absl::Status WriteSftFile(const std::string& path, const std::vector<ArithmeticProblem>& problems);

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_BUILTIN_TASK_H_
