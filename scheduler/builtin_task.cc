#include "scheduler/builtin_task.h"

#include <random>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "nlohmann/json.hpp"

namespace seamless {

const char* TaskSplitName(TaskSplit split) { return split == TaskSplit::kTest ? "test" : "train"; }

absl::Status ArithmeticTaskOptions::Validate() const {
  if (min_operand < 0 || max_operand < min_operand) {
    return absl::InvalidArgumentError(absl::StrCat("operands: need 0 <= min_operand (", min_operand,
                                                   ") <= max_operand (", max_operand, ")"));
  }
  if (max_operand > 1000000) {
    return absl::InvalidArgumentError("max_operand: at most 1000000");
  }
  if (num_operands < 2 || num_operands > 6) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_operands: ", num_operands, " is not in [2, 6]"));
  }
  if (solution_style == SolutionStyle::kColumns && allow_subtraction) {
    return absl::InvalidArgumentError(
        "solution_style: columns shows additions only; use steps or answer with subtraction");
  }
  if (worked_percent < 0 || worked_percent > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("worked_percent: ", worked_percent, " is not in [0, 100]"));
  }
  if (test_percent < 1 || test_percent > 99) {
    return absl::InvalidArgumentError(
        absl::StrCat("test_percent: ", test_percent, " is not in [1, 99]"));
  }
  return absl::OkStatus();
}

TaskSplit SplitOfExpression(const std::string& expression, int64_t test_percent) {
  // FNV-1a, 64 bits: stable across platforms and standard libraries (std::hash is not).
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : expression) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // Mix the high bits down: FNV's low bits are weak for short, similar strings.
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return int64_t(h % 100) < test_percent ? TaskSplit::kTest : TaskSplit::kTrain;
}

namespace {}  // namespace

// A column lists the digits present in it, then the carry in.
std::string ColumnAdditionSteps(const std::vector<int64_t>& operands) {
  std::string out;
  int64_t carry = 0;
  for (int64_t place = 1;; place *= 10) {
    std::vector<int64_t> digits;
    for (int64_t x : operands) {
      if (x >= place || (place == 1)) digits.push_back(x / place % 10);
    }
    if (digits.empty()) break;
    int64_t sum = carry;
    std::string terms;
    for (int64_t d : digits) {
      absl::StrAppend(&terms, terms.empty() ? "" : "+", d);
      sum += d;
    }
    if (carry > 0) absl::StrAppend(&terms, "+", carry);
    absl::StrAppend(&out, terms, "=", sum, ", ");
    carry = sum / 10;
  }
  return out;
}

namespace {

ArithmeticProblem Draw(std::mt19937_64& rng, const ArithmeticTaskOptions& o) {
  const uint64_t range = uint64_t(o.max_operand - o.min_operand + 1);
  auto operand = [&] { return o.min_operand + int64_t(rng() % range); };
  ArithmeticProblem p;
  std::vector<int64_t> operands{operand()};
  int64_t value = operands[0];
  p.expression = absl::StrCat(value);
  std::string steps;
  for (int64_t i = 1; i < o.num_operands; ++i) {
    const bool minus = o.allow_subtraction && (rng() & 1);
    const int64_t x = operand();
    operands.push_back(x);
    const int64_t before = value;
    value = minus ? value - x : value + x;
    absl::StrAppend(&p.expression, minus ? "-" : "+", x);
    absl::StrAppend(&steps, before, minus ? "-" : "+", x, "=", value, ", ");
  }
  p.prompt = p.expression + "=";
  p.answer = absl::StrCat(value);
  // Drawn for every problem (even at 100%) so that the problems a seed gives do not depend on
  // worked_percent.
  const bool worked = int64_t(rng() % 100) < o.worked_percent;  // else: the bare answer
  if (worked && o.solution_style == SolutionStyle::kColumns) {
    p.solution = ColumnAdditionSteps(operands);
  } else if (worked && o.solution_style == SolutionStyle::kSteps && o.num_operands > 2) {
    p.solution = steps;  // (with one operation the step would repeat the answer)
  }
  absl::StrAppend(&p.solution, "\\boxed{", p.answer, "}");
  return p;
}

}  // namespace

absl::StatusOr<std::vector<ArithmeticProblem>> GenerateArithmeticTask(
    uint64_t seed, int64_t count, TaskSplit split, const ArithmeticTaskOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  if (count < 0) return absl::InvalidArgumentError("count must be >= 0");
  std::mt19937_64 rng(seed * 1000003ull + (split == TaskSplit::kTest ? 7919 : 0));
  std::vector<ArithmeticProblem> out;
  out.reserve(size_t(count));
  std::unordered_set<std::string> seen;
  // Rejection sampling; the cap turns an impossible request into an error, not a hang.
  const int64_t max_draws = 200 * count + 100000;
  for (int64_t draws = 0; int64_t(out.size()) < count; ++draws) {
    if (draws >= max_draws) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the ", TaskSplitName(split), " split holds fewer than ", count,
          " distinct problems with operands in [", options.min_operand, ", ", options.max_operand,
          "] (found ", out.size(), "); widen the range or ask for fewer"));
    }
    ArithmeticProblem p = Draw(rng, options);
    if (SplitOfExpression(p.expression, options.test_percent) != split) continue;
    if (!seen.insert(p.expression).second) continue;
    p.split = split;
    p.index = int64_t(out.size());
    out.push_back(std::move(p));
  }
  return out;
}

std::string RlPromptJsonl(const std::vector<ArithmeticProblem>& problems, bool chat) {
  std::string out;
  for (const ArithmeticProblem& p : problems) {
    nlohmann::json j;
    j["data_source"] = "seamless/arithmetic";
    if (chat) {
      j["prompt"] = nlohmann::json::array({{{"role", "user"}, {"content", p.prompt}}});
    } else {
      j["prompt"] = p.prompt;
    }
    j["ability"] = "math";
    j["reward_model"] = {{"style", "rule"}, {"ground_truth", p.answer}};
    j["extra_info"] = {{"split", TaskSplitName(p.split)}, {"index", p.index}};
    absl::StrAppend(&out, j.dump(), "\n");
  }
  return out;
}

std::string SftJsonl(const std::vector<ArithmeticProblem>& problems) {
  std::string out;
  for (const ArithmeticProblem& p : problems) {
    nlohmann::json j;
    j["prompt"] = p.prompt;
    j["response"] = p.solution;
    absl::StrAppend(&out, j.dump(), "\n");
  }
  return out;
}

absl::Status WriteRlPromptsFile(const std::string& path,
                                const std::vector<ArithmeticProblem>& problems, bool chat) {
  return WriteFileAtomically(path, RlPromptJsonl(problems, chat));
}

absl::Status WriteSftFile(const std::string& path, const std::vector<ArithmeticProblem>& problems) {
  return WriteFileAtomically(path, SftJsonl(problems));
}

}  // namespace seamless
