// Compiles (C++) and runs a model-written program against stdin/stdout tests in the sandbox,
// one fresh sandbox per test, so no test can see or leave anything for another. Compile
// errors, crashes, timeouts and wrong output are verdicts; only a broken sandbox is an error.
#ifndef SEAMLESS_REWARD_CODE_RUNNER_H_
#define SEAMLESS_REWARD_CODE_RUNNER_H_

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/config_enum.h"
#include "reward/code_task.h"
#include "reward/output_compare.h"
#include "reward/sandbox.h"

namespace seamless {

struct CodeRunnerOptions {
  std::string python = "/usr/bin/python3";
  std::string cxx = "/usr/bin/g++";
  std::vector<std::string> cxx_flags = {"-std=c++17", "-O2", "-pipe"};
  double time_limit_seconds = 4;        // wall clock per test (CPU limit: the same, rounded up)
  int64_t memory_bytes = 1024LL << 20;  // address space per process
  int64_t processes = 32;               // processes + threads of one run
  int64_t file_size_bytes = 16 << 20;   // largest file a program may write
  int64_t open_files = 64;
  int64_t max_output_bytes = 4 << 20;  // stdout cap (at least 2x the expected output)
  double compile_time_limit_seconds = 30;
  int64_t compile_memory_bytes = 4096LL << 20;

  template <typename V>
  void VisitFields(V& v) {
    v("python", python, "Python 3 interpreter (inside the sandbox)");
    v("cxx", cxx, "C++ compiler (inside the sandbox)");
    v("cxx_flags", cxx_flags, "C++ compiler flags");
    v("time_limit_seconds", time_limit_seconds, "Wall-clock limit per test; CPU limit the same");
    v("memory_bytes", memory_bytes, "Address-space limit per process");
    v("processes", processes, "Processes and threads one run may have");
    v("file_size_bytes", file_size_bytes, "Largest file a program may write");
    v("open_files", open_files, "Open files per process");
    v("max_output_bytes", max_output_bytes, "Stdout cap per test (raised to 2x the expected)");
    v("compile_time_limit_seconds", compile_time_limit_seconds, "C++ compile wall-clock limit");
    v("compile_memory_bytes", compile_memory_bytes, "C++ compile address-space limit");
  }
};

enum class TestOutcome { kPass, kWrongAnswer, kTimeout, kRuntimeError, kOutputLimit, kSkipped };
// Their spellings in a code reward's details and the per-verdict test counter (EnumToString).
inline ConfigEnumTable<TestOutcome> ConfigEnumNames(TestOutcome) {
  static constexpr ConfigEnumName<TestOutcome> kNames[] = {
      {TestOutcome::kPass, "pass"},
      {TestOutcome::kWrongAnswer, "wrong_answer"},
      {TestOutcome::kTimeout, "timeout"},
      {TestOutcome::kRuntimeError, "runtime_error"},
      {TestOutcome::kOutputLimit, "output_limit"},
      {TestOutcome::kSkipped, "skipped"},
  };
  return kNames;
}

struct TestVerdict {
  TestOutcome outcome = TestOutcome::kSkipped;
  double wall_seconds = 0;
  double cpu_seconds = 0;
  int exit_code = 0;
  int signal = 0;
  std::string stderr_tail;  // last bytes of stderr, for runtime errors
};

struct CodeRunResult {
  Language language = Language::kPython;
  bool compiled = true;
  std::string compile_error;  // the compiler's message (clipped)
  double compile_seconds = 0;
  std::vector<TestVerdict> tests;  // in the tests' order
  int sandbox_timeouts = 0;
};

struct CodeRunControl {
  CompareMode compare = CompareMode::kFloat;
  double tolerance = 1e-6;
  double time_limit_seconds = 0;  // 0: the options' limit
  // Tests run in this order (e.g. easiest level first); empty: in order.
  std::vector<size_t> order;
  // After a failed test, skip the rest (strict and all-or-nothing rewards cannot change).
  bool stop_after_failure = false;
  // Tests not started by then are kSkipped.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

class CodeRunner {
 public:
  // `sandbox` must outlive the runner.
  CodeRunner(Sandbox* sandbox, CodeRunnerOptions options)
      : sandbox_(sandbox), options_(std::move(options)) {}

  absl::StatusOr<CodeRunResult> Run(const Program& program, const CodeTests& tests,
                                    const CodeRunControl& control) const;

  const CodeRunnerOptions& options() const { return options_; }

 private:
  ProcessLimits TestLimits(double time_limit, size_t expected_bytes) const;

  Sandbox* sandbox_;
  CodeRunnerOptions options_;
};

}  // namespace seamless

#endif  // SEAMLESS_REWARD_CODE_RUNNER_H_
