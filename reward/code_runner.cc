#include "reward/code_runner.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_join.h"

namespace seamless {
namespace {

double SecondsUntil(std::chrono::steady_clock::time_point deadline) {
  if (deadline == std::chrono::steady_clock::time_point::max()) return 1e9;
  const double s =
      std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
  return std::max(s, 0.05);
}

std::string Tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

}  // namespace

ProcessLimits CodeRunner::TestLimits(double time_limit, size_t expected_bytes) const {
  ProcessLimits limits;
  limits.wall_seconds = time_limit;
  limits.cpu_seconds = static_cast<int64_t>(std::ceil(time_limit));
  limits.address_space_bytes = options_.memory_bytes;
  limits.processes = options_.processes;
  limits.file_size_bytes = options_.file_size_bytes;
  limits.open_files = options_.open_files;
  limits.max_stdout_bytes = std::max<size_t>(options_.max_output_bytes, 2 * expected_bytes + 4096);
  limits.max_stderr_bytes = 64 << 10;
  return limits;
}

absl::StatusOr<CodeRunResult> CodeRunner::Run(const Program& program, const CodeTests& tests,
                                              const CodeRunControl& control) const {
  CodeRunResult result;
  result.language = program.language;
  result.tests.resize(tests.inputs.size());
  SandboxRun run;
  if (program.language == Language::kCpp) {
    // Compile in a sandbox of its own; the binary comes back on stdout (the work dir vanishes
    // with the sandbox) and is copied into each test's sandbox.
    SandboxRun compile;
    compile.files = {{"/tmp/main.cpp", program.source, false}};
    const std::string command = options_.cxx + " " + absl::StrJoin(options_.cxx_flags, " ") +
                                " -o /tmp/a.out /tmp/main.cpp 1>&2 && cat /tmp/a.out";
    compile.argv = {"/bin/sh", "-c", command};
    compile.limits.wall_seconds =
        std::min(options_.compile_time_limit_seconds, SecondsUntil(control.deadline));
    compile.limits.cpu_seconds =
        static_cast<int64_t>(std::ceil(options_.compile_time_limit_seconds));
    compile.limits.address_space_bytes = options_.compile_memory_bytes;
    compile.limits.processes = 16;
    compile.limits.file_size_bytes = 256 << 20;
    compile.limits.max_stdout_bytes = 256 << 20;
    compile.limits.max_stderr_bytes = 64 << 10;
    absl::StatusOr<ProcessResult> compiled = sandbox_->Run(compile);
    if (!compiled.ok()) return compiled.status();
    result.compile_seconds = compiled->wall_seconds;
    if (compiled->exit_code != 0 || compiled->signal != 0 || compiled->timed_out ||
        compiled->output_limit || compiled->stdout_data.empty()) {
      result.compiled = false;
      result.compile_error = Tail(compiled->stderr_data, 2000);
      if (compiled->timed_out) result.compile_error += "\n(compile time limit exceeded)";
      return result;  // every test stays kSkipped
    }
    run.files = {{"/tmp/a.out", std::move(compiled->stdout_data), true}};
    run.argv = {"/tmp/a.out"};
  } else {
    run.files = {{"/tmp/main.py", program.source, false}};
    // -I: no user site, no PYTHON* variables, no script dir on sys.path.
    run.argv = {options_.python, "-I", "/tmp/main.py"};
  }

  std::vector<size_t> order = control.order;
  if (order.empty()) {
    for (size_t i = 0; i < tests.inputs.size(); ++i) order.push_back(i);
  }
  const double time_limit =
      control.time_limit_seconds > 0 ? control.time_limit_seconds : options_.time_limit_seconds;
  bool failed = false;
  for (size_t index : order) {
    TestVerdict& verdict = result.tests[index];
    if ((failed && control.stop_after_failure) ||
        std::chrono::steady_clock::now() >= control.deadline) {
      continue;  // stays kSkipped
    }
    run.stdin_data = tests.inputs[index];
    run.limits = TestLimits(time_limit, tests.outputs[index].size());
    // The sample's deadline also cuts a running test short.
    run.limits.wall_seconds = std::min(run.limits.wall_seconds, SecondsUntil(control.deadline));
    absl::StatusOr<ProcessResult> ran = sandbox_->Run(run);
    if (!ran.ok()) return ran.status();
    verdict.wall_seconds = ran->wall_seconds;
    verdict.cpu_seconds = ran->cpu_seconds;
    verdict.exit_code = ran->exit_code;
    verdict.signal = ran->signal;
    // bwrap reports a program killed by signal N as exit 128+N; SIGXCPU (24) and SIGKILL at
    // the CPU limit are timeouts.
    const bool cpu_limit = ran->exit_code == 128 + 24 ||
                           (ran->exit_code == 128 + 9 && ran->cpu_seconds >= time_limit * 0.9);
    if (ran->timed_out || cpu_limit) {
      verdict.outcome = TestOutcome::kTimeout;
      ++result.sandbox_timeouts;
    } else if (ran->output_limit) {
      verdict.outcome = TestOutcome::kOutputLimit;
    } else if (ran->exit_code != 0 || ran->signal != 0) {
      verdict.outcome = TestOutcome::kRuntimeError;
      verdict.stderr_tail = Tail(ran->stderr_data, 500);
    } else if (OutputsMatch(ran->stdout_data, tests.outputs[index], control.compare,
                            control.tolerance)) {
      verdict.outcome = TestOutcome::kPass;
    } else {
      verdict.outcome = TestOutcome::kWrongAnswer;
    }
    failed = failed || verdict.outcome != TestOutcome::kPass;
  }
  return result;
}

}  // namespace seamless
