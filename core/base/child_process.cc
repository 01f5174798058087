#include "core/base/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace seamless {
namespace {

// A "Key:   N kB" field of /proc/PID/status in bytes (0 when absent or unreadable).
int64_t StatusKilobytes(pid_t pid, const std::string& key) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key, 0) != 0) continue;
    std::string digits;
    for (char c : line) {
      if (c >= '0' && c <= '9') digits += c;
    }
    int64_t kb = 0;
    return absl::SimpleAtoi(digits, &kb) ? kb * 1024 : 0;
  }
  return 0;
}

}  // namespace

absl::StatusOr<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv,
                                                 const Options& options) {
  if (argv.empty()) return absl::InvalidArgumentError("no program to start");
  int out = -1;
  int fds[2] = {-1, -1};
  if (!options.output_path.empty()) {
    const int mode = options.truncate_output ? O_TRUNC : O_APPEND;
    out = open(options.output_path.c_str(), O_WRONLY | O_CREAT | mode | O_CLOEXEC, 0644);
    if (out < 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot write ", options.output_path, ": ", std::strerror(errno)));
    }
  } else if (pipe(fds) != 0) {
    return absl::InternalError("pipe failed");
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    if (out >= 0) close(out);
    if (fds[0] >= 0) {
      close(fds[0]);
      close(fds[1]);
    }
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    // If the parent died between fork and prctl, the signal will never come: exit instead.
    if (options.die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)) {
      _exit(126);
    }
    if (out >= 0) {
      dup2(out, STDOUT_FILENO);
      if (options.stderr_to_output) dup2(out, STDERR_FILENO);
    } else {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
    }
    for (const std::string& kv : options.env) putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  ChildProcess child;
  child.pid_ = pid;
  if (out >= 0) {
    close(out);
  } else {
    close(fds[1]);
    child.stdout_fd_ = fds[0];
  }
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept { *this = std::move(other); }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  std::swap(pid_, other.pid_);
  std::swap(exit_code_, other.exit_code_);
  std::swap(term_signal_, other.term_signal_);
  std::swap(stdout_fd_, other.stdout_fd_);
  std::swap(buffer_, other.buffer_);
  std::swap(peak_resident_, other.peak_resident_);
  return *this;
}

ChildProcess::~ChildProcess() {
  if (Running()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

absl::StatusOr<std::string> ChildProcess::WaitForLine(const std::string& needle,
                                                      std::chrono::milliseconds timeout) {
  if (stdout_fd_ < 0) return absl::FailedPreconditionError("stdout is not a pipe");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    size_t newline;
    while ((newline = buffer_.find('\n')) != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      if (line.find(needle) != std::string::npos) return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return absl::DeadlineExceededError(absl::StrCat("no line with '", needle, "' in time"));
    }
    pollfd pfd{stdout_fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[4096];
    ssize_t n = read(stdout_fd_, chunk, sizeof(chunk));
    if (n <= 0) {
      return absl::UnavailableError(absl::StrCat("process exited before printing '", needle, "'"));
    }
    buffer_.append(chunk, n);
  }
}

absl::StatusOr<int> ChildProcess::WaitForListeningPort(std::chrono::milliseconds timeout) {
  auto line = WaitForLine("listening on ", timeout);
  if (!line.ok()) return line.status();
  size_t colon = line->rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(line->substr(colon + 1), &port)) {
    return absl::DataLossError(absl::StrCat("no port in '", *line, "'"));
  }
  return port;
}

void ChildProcess::Reaped(int wait_status) {
  term_signal_ = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
  exit_code_ = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

bool ChildProcess::Running() {
  if (pid_ <= 0 || exit_code_ >= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  Reaped(status);
  return false;
}

int ChildProcess::Wait() {
  if (pid_ <= 0) return -1;
  if (exit_code_ >= 0) return exit_code_;
  int status = 0;
  waitpid(pid_, &status, 0);
  Reaped(status);
  return exit_code_;
}

void ChildProcess::Signal(int signal) {
  if (pid_ > 0 && exit_code_ < 0) kill(pid_, signal);
}

void ChildProcess::Terminate(std::chrono::milliseconds grace) {
  if (!Running()) return;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (Running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (Running()) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    term_signal_ = SIGKILL;
    exit_code_ = 128 + SIGKILL;
  }
}

int64_t ChildProcess::ResidentBytes() const {
  if (pid_ <= 0 || exit_code_ >= 0) return 0;
  return StatusKilobytes(pid_, "VmRSS:");
}

int64_t ChildProcess::PeakResidentBytes() {
  if (pid_ > 0 && exit_code_ < 0) {
    peak_resident_ = std::max(peak_resident_, StatusKilobytes(pid_, "VmHWM:"));
  }
  return peak_resident_;
}

}  // namespace seamless
