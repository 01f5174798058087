// Runs one child process with its input from memory, its stdout/stderr drained concurrently
// into capped buffers, rlimits and an optional uid applied before exec, and a wall-clock
// timeout that kills its whole process group. No shell is involved. The sandbox (sandbox.h)
// runs bwrap through it; the benchmark runs bare `python3 -c pass` through it for a baseline.
#ifndef SEAMLESS_REWARD_PROCESS_RUNNER_H_
#define SEAMLESS_REWARD_PROCESS_RUNNER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace seamless {

struct ProcessLimits {
  double wall_seconds = 10;           // then SIGKILL to the process group
  size_t max_stdout_bytes = 1 << 20;  // more is killed and reported as output_limit
  size_t max_stderr_bytes = 256 << 10;
  // rlimits set in the child before exec (soft = hard); 0 leaves the inherited limit.
  int64_t cpu_seconds = 0;
  int64_t address_space_bytes = 0;
  int64_t file_size_bytes = 0;
  int64_t open_files = 0;
  int64_t processes = 0;
  // Credentials of the child (only when the parent may change them); -1 keeps them.
  int uid = -1;
  int gid = -1;
};

// Bytes the child reads from file descriptor `fd` (>= 3), from the start (a sealed memfd).
struct ProcessInputFile {
  int fd;
  std::string content;
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is an absolute path (no PATH search)
  std::vector<std::string> env;   // "NAME=value"; nothing else is inherited
  std::string stdin_data;
  std::vector<ProcessInputFile> input_files;
  int status_fd = -1;  // if >= 3: a pipe at this fd whose bytes land in status_data
  ProcessLimits limits;
  // Called (with status_data so far) when the process must be killed, before the process
  // group is: a supervisor like bwrap can then have its child killed and reap it itself,
  // instead of leaving it orphaned. The runner then waits up to a second for a clean exit.
  std::function<void(const std::string& status_data)> before_kill;
  // When set and it turns true (a server shutting down), the process is killed as at the
  // wall-clock limit, within about 50 ms, and the result says `cancelled`.
  const std::atomic<bool>* cancel = nullptr;
};

struct ProcessResult {
  int exit_code = -1;         // valid when signal == 0
  int signal = 0;             // the signal that killed it, if any
  bool timed_out = false;     // killed at the wall-clock limit
  bool output_limit = false;  // killed for writing more than the caps
  bool cancelled = false;     // killed because spec.cancel turned true
  std::string stdout_data;
  std::string stderr_data;
  std::string status_data;
  double wall_seconds = 0;
  double cpu_seconds = 0;  // user + system of the child and its reaped descendants
};

// Errors only when the process could not be started at all (exec failed, no fds, ...);
// anything the program does is a result.
absl::StatusOr<ProcessResult> RunProcess(const ProcessSpec& spec);

}  // namespace seamless

#endif  // SEAMLESS_REWARD_PROCESS_RUNNER_H_
