#include "scheduler/role_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

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

absl::StatusOr<std::unique_ptr<RoleProcess>> RoleProcess::Start(
    const std::string& name, const std::string& binary, const std::vector<std::string>& args,
    const std::string& log_path, const std::vector<std::string>& env) {
  int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", log_path, ": ",
                                                    std::strerror(errno)));
  }
  auto p = std::unique_ptr<RoleProcess>(new RoleProcess());
  p->name_ = name;
  p->log_path_ = log_path;
  p->read_offset_ = static_cast<size_t>(lseek(log, 0, SEEK_END));
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    for (const std::string& kv : env) putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    std::fprintf(stderr, "exec %s: %s\n", binary.c_str(), std::strerror(errno));
    _exit(127);
  }
  close(log);
  p->pid_ = pid;
  return p;
}

RoleProcess::~RoleProcess() {
  if (pid_ > 0 && Running()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::vector<std::string> RoleProcess::NewLines() {
  std::ifstream in(log_path_, std::ios::binary);
  std::vector<std::string> lines;
  if (!in) return lines;
  in.seekg(static_cast<std::streamoff>(read_offset_));
  std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  read_offset_ += chunk.size();
  partial_ += chunk;
  size_t newline;
  while ((newline = partial_.find('\n')) != std::string::npos) {
    lines.push_back(partial_.substr(0, newline));
    partial_.erase(0, newline + 1);
  }
  return lines;
}

absl::StatusOr<std::string> RoleProcess::WaitForAddress(std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const std::string& line : NewLines()) {
      size_t at = line.find("listening on ");
      if (at == std::string::npos) continue;
      int port = 0;
      if (absl::SimpleAtoi(line.substr(line.rfind(':') + 1), &port)) {
        return absl::StrCat("127.0.0.1:", port);
      }
    }
    if (!Running()) {
      return absl::UnavailableError(absl::StrCat(name_, " exited with code ", exit_code_,
                                                 " before listening; see ", log_path_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat(name_, " did not start listening in time; see ",
                                                  log_path_));
}

bool RoleProcess::Running() {
  if (pid_ <= 0 || exit_code_ >= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return false;
}

int64_t RoleProcess::ResidentBytes() const {
  if (pid_ <= 0 || exit_code_ >= 0) return 0;
  return StatusKilobytes(pid_, "VmRSS:");
}

int64_t RoleProcess::PeakResidentBytes() {
  if (pid_ > 0 && exit_code_ < 0) {
    peak_resident_ = std::max(peak_resident_, StatusKilobytes(pid_, "VmHWM:"));
  }
  return peak_resident_;
}

void RoleProcess::Terminate(std::chrono::seconds grace) {
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
    exit_code_ = 128 + SIGKILL;
  }
}

}  // namespace seamless
