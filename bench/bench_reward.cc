// seamless bench reward: math checks per second on one core, and sandboxed program launches
// per second against bare launches of the same program (`python3 -c pass`) in the same run.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/benches.h"
#include "core/base/flags.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"
#include "reward/math_verifier.h"
#include "reward/process_runner.h"
#include "reward/sandbox.h"

namespace seamless {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Responses shaped like a model's: some reasoning, then a boxed answer of each kind.
std::vector<std::pair<std::string, std::string>> MathWorkload() {
  const std::string reasoning =
      "Let us compute step by step. First we note that the sum of the first n odd numbers is "
      "n^2, so the expression simplifies. Substituting the values given in the problem, we "
      "find that the numerator becomes 3 \\cdot 7 = 21 and the denominator 28, and after "
      "reducing the fraction by their greatest common divisor 7 we obtain the result below. "
      "Checking with a second method (complementary counting) gives the same value. ";
  const std::vector<std::pair<std::string, std::string>> answers = {
      {"\\frac{3}{4}", "0.75"},
      {"1,000", "1000"},
      {"\\dfrac{\\sqrt{3}}{2}", "\\frac{\\sqrt3}{2}"},
      {"(1, -2]", "(1,-2]"},
      {"50\\%", "0.5"},
      {"12 \\text{ cm}", "12"},
      {"x = -3", "-3"},
      {"2\\pi", "\\frac{4\\pi}{2}"},
      {"\\left( 3, 4 \\right)", "(3,4)"},
      {"42", "43"},
      {"2x+1", "1+2x"},
      {"\\$12.50", "12.5"},
      {"3\\frac{1}{2}", "\\frac{7}{2}"},
      {"\\{1, 2, 3\\}", "3,2,1"},
      {"\\text{Monday}", "monday"},
      {"10^{-3}", "0.001"}};
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(answers.size());
  for (const auto& [answer, truth] : answers) {
    out.push_back(
        {absl::StrCat(reasoning, "Therefore the answer is $\\boxed{", answer, "}$."), truth});
  }
  return out;
}

}  // namespace

absl::Status RunBenchReward(const std::vector<std::string>& args) {
  double math_seconds = 2;
  int64_t launches = 40, rounds = 3;
  FlagSet flags("seamless bench reward [flags]",
                "Math verifier checks/s on one core; sandboxed (bubblewrap) launches of\n"
                "`python3 -c pass` per second against bare launches of it, alternating rounds.\n"
                "Targets: >= 100,000 math checks/s; sandboxed >= 50% of the bare rate.");
  flags.AddDouble("math-seconds", &math_seconds, "Seconds of math checking");
  flags.AddInt("launches", &launches, "Launches per round, each kind");
  flags.AddInt("rounds", &rounds, "Rounds (bare then sandboxed in each)");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));

  // Math: one thread, the full Verify (extraction + normalisation + comparison).
  MathVerifier verifier;
  const auto workload = MathWorkload();
  int64_t checks = 0, equivalent = 0;
  const auto math_start = Clock::now();
  while (Since(math_start) < math_seconds) {
    for (const auto& [response, truth] : workload) {
      equivalent += verifier.Verify(response, truth).equivalent;
      ++checks;
    }
  }
  const double math_rate = checks / Since(math_start);
  std::printf("math: %lld checks in %.2f s: %.0f checks/s (%lld equivalent)\n",
              static_cast<long long>(checks), Since(math_start), math_rate,
              static_cast<long long>(equivalent));

  ASSIGN_OR_RETURN(std::unique_ptr<Sandbox> sandbox, Sandbox::Create(SandboxOptions()));
  ProcessLimits limits;
  limits.wall_seconds = 10;
  limits.cpu_seconds = 10;
  limits.address_space_bytes = 1024LL << 20;
  limits.processes = 32;
  limits.file_size_bytes = 16 << 20;
  limits.open_files = 64;
  ProcessSpec bare;
  bare.argv = {"/usr/bin/python3", "-c", "pass"};
  bare.limits = limits;
  SandboxRun boxed;
  boxed.argv = {"/usr/bin/python3", "-c", "pass"};
  boxed.limits = limits;
  double bare_seconds = 0, boxed_seconds = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    auto start = Clock::now();
    for (int64_t i = 0; i < launches; ++i) {
      ASSIGN_OR_RETURN(ProcessResult r, RunProcess(bare));
      if (r.exit_code != 0)
        return absl::InternalError("bare python3 -c pass failed: " + r.stderr_data);
    }
    const double b = Since(start);
    start = Clock::now();
    for (int64_t i = 0; i < launches; ++i) {
      ASSIGN_OR_RETURN(ProcessResult r, sandbox->Run(boxed));
      if (r.exit_code != 0)
        return absl::InternalError("sandboxed python3 -c pass failed: " + r.stderr_data);
    }
    const double s = Since(start);
    std::printf("round %lld: bare %.1f launches/s, sandboxed %.1f launches/s (%.2f)\n",
                static_cast<long long>(round), launches / b, launches / s, b / s);
    bare_seconds += b;
    boxed_seconds += s;
  }
  const double bare_rate = rounds * launches / bare_seconds;
  const double boxed_rate = rounds * launches / boxed_seconds;
  nlohmann::json out = {{"math_checks_per_s", math_rate},
                        {"sandbox_runs_per_s", boxed_rate},
                        {"bare_spawn_per_s", bare_rate},
                        {"sandbox_vs_bare", boxed_rate / bare_rate},
                        {"math_target_met", math_rate >= 100000},
                        {"sandbox_target_met", boxed_rate >= 0.5 * bare_rate}};
  std::printf("%s\n", out.dump().c_str());
  return absl::OkStatus();
}

}  // namespace seamless
