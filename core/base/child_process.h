// A child process: a binary started with its arguments (no shell, no PATH lookup), its exit
// status, signals and resident memory. The one process launcher of the tree: `seamless
// train`'s roles (scheduler/role_process.h adds their log files), the loopback tests
// (tests/testing/child_process.h) and `seamless bench learner-memory`'s rank processes.
#ifndef SEAMLESS_CORE_BASE_CHILD_PROCESS_H_
#define SEAMLESS_CORE_BASE_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace seamless {

class ChildProcess {
 public:
  struct Options {
    // "KEY=VALUE" entries added to this process's environment.
    std::vector<std::string> env;
    // Where stdout goes: empty, a pipe that WaitForLine reads; else this file, appended to
    // (or emptied first with truncate_output).
    std::string output_path;
    bool truncate_output = false;
    // With output_path: stderr goes there too. Otherwise stderr is this process's.
    bool stderr_to_output = false;
    // The kernel SIGKILLs the child when this process dies, however it dies (kill -9
    // included): no role outlives its launcher. Start it from a thread that lives as long as
    // the child should (the signal follows the death of the thread that forked it).
    bool die_with_parent = false;
  };

  // Starts argv[0] with the arguments argv[1..]. A binary that cannot be executed exits 127
  // after printing "exec PATH: reason" on its stderr.
  static absl::StatusOr<ChildProcess> Start(const std::vector<std::string>& argv,
                                            const Options& options);
  static absl::StatusOr<ChildProcess> Start(const std::vector<std::string>& argv) {
    return Start(argv, Options());
  }
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();  // SIGKILLs a process still running, and reaps it

  // Stdout as a pipe (no output_path): reads until a line containing `needle` appears and
  // returns that line.
  absl::StatusOr<std::string> WaitForLine(const std::string& needle,
                                          std::chrono::milliseconds timeout);
  // For servers that print "listening on HOST:PORT" on stdout (a pipe): the port.
  absl::StatusOr<int> WaitForListeningPort(
      std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // True while running; once it exited, exit_code() holds its code (128 + signal if killed).
  bool Running();
  int exit_code() const { return exit_code_; }
  // The signal that killed it, 0 when it exited by itself (valid once it exited).
  int term_signal() const { return term_signal_; }
  // Waits for the exit; returns exit_code() (-1 for a process never started).
  int Wait();
  void Signal(int signal);  // nothing once it exited
  // SIGTERM, then SIGKILL after `grace` if it is still running.
  void Terminate(std::chrono::milliseconds grace);

  // Resident memory in bytes (0 once exited).
  int64_t ResidentBytes() const;
  // Peak resident memory since it started (the kernel's VmHWM) in bytes; the last value read
  // while it ran once it exited.
  int64_t PeakResidentBytes();
  pid_t pid() const { return pid_; }

 private:
  ChildProcess() = default;
  void Reaped(int wait_status);

  pid_t pid_ = -1;
  int exit_code_ = -1;
  int term_signal_ = 0;
  int stdout_fd_ = -1;  // the pipe's read end, when stdout is a pipe
  std::string buffer_;  // read from the pipe, not yet returned as a line
  int64_t peak_resident_ = 0;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_CHILD_PROCESS_H_
