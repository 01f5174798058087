// A long-running child process for loopback tests: a real server started from the `seamless`
// binary, whose stdout is watched for its "listening on HOST:PORT" line, and which can be
// killed (to test crash recovery) or stopped gracefully.
#ifndef SEAMLESS_TESTS_TESTING_CHILD_PROCESS_H_
#define SEAMLESS_TESTS_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace seamless {
namespace testing {

class ChildProcess {
 public:
  // Starts argv[0] with the arguments (no shell). stderr goes to the test's stderr so server
  // logs show up in failures; stdout is captured for WaitForLine.
  static absl::StatusOr<ChildProcess> Start(const std::vector<std::string>& argv);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();  // kills the process if still running

  // Reads stdout until a line containing `needle` appears; returns that line.
  absl::StatusOr<std::string> WaitForLine(const std::string& needle,
                                          std::chrono::milliseconds timeout);
  // For servers that print "listening on HOST:PORT": the port.
  absl::StatusOr<int> WaitForListeningPort(std::chrono::milliseconds timeout =
                                               std::chrono::seconds(60));

  void Signal(int signal);
  // Waits for exit; returns the exit code, or 128 + signal if killed.
  int Wait();
  pid_t pid() const { return pid_; }

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
};

}  // namespace testing
}  // namespace seamless

#endif  // SEAMLESS_TESTS_TESTING_CHILD_PROCESS_H_
