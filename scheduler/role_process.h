// A role of a local run as a child process of `seamless train`: the `seamless` binary with a
// subcommand, stdout and stderr appended to a log file that the launcher reads back (for the
// "listening on HOST:PORT" line and the scheduler's progress). The process itself is a
// ChildProcess (core/base/child_process.h), the one launcher.
#ifndef SEAMLESS_SCHEDULER_ROLE_PROCESS_H_
#define SEAMLESS_SCHEDULER_ROLE_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/base/child_process.h"

namespace seamless {

class RoleProcess {
 public:
  // Starts `binary args...` with output to `log_path`, and `env` ("KEY=VALUE") added to
  // this process's environment.
  static absl::StatusOr<std::unique_ptr<RoleProcess>> Start(
      const std::string& name, const std::string& binary, const std::vector<std::string>& args,
      const std::string& log_path, const std::vector<std::string>& env = {});
  // A process still running is SIGKILLed when its RoleProcess goes (ChildProcess).

  // Waits for "listening on HOST:PORT" in the log; returns "127.0.0.1:PORT".
  absl::StatusOr<std::string> WaitForAddress(std::chrono::seconds timeout);
  // Lines appended to the log since the last call.
  std::vector<std::string> NewLines();
  // True while running; once it exited, `exit_code` holds its code (128 + signal if killed).
  bool Running() { return process_.Running(); }
  int exit_code() const { return process_.exit_code(); }
  // Resident memory in bytes (0 once exited).
  int64_t ResidentBytes() const { return process_.ResidentBytes(); }
  // Peak resident memory since it started (the kernel's VmHWM) in bytes; the last value read
  // while it ran once it exited.
  int64_t PeakResidentBytes() { return process_.PeakResidentBytes(); }
  void Signal(int signal) { process_.Signal(signal); }
  // SIGTERM, then SIGKILL after `grace`.
  void Terminate(std::chrono::seconds grace) { process_.Terminate(grace); }
  const std::string& name() const { return name_; }
  pid_t pid() const { return process_.pid(); }

 private:
  RoleProcess(std::string name, std::string log_path, size_t read_offset, ChildProcess process);
  std::string name_, log_path_;
  size_t read_offset_ = 0;
  std::string partial_;
  ChildProcess process_;
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_ROLE_PROCESS_H_
