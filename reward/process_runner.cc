#include "reward/process_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace seamless {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

absl::Status Errno(const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::StatusOr<Fd> MemoryFile(const std::string& content) {
  Fd fd(static_cast<int>(syscall(SYS_memfd_create, "seamless-input", MFD_CLOEXEC)));
  if (fd.get() < 0) return Errno("memfd_create");
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("writing input memfd");
    done += static_cast<size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return Errno("lseek");
  return fd;
}

struct Pipe {
  Fd read, write;
};

absl::StatusOr<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Errno("pipe2");
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

struct FdMove {
  int from;
  int to;
};

// Everything the child needs, prepared before the fork so that the child only makes
// system calls (it may share memory with the parent: vfork).
struct ChildPlan {
  char* const* argv;
  char* const* envp;
  const FdMove* moves;
  int move_count;
  int max_target;
  int error_fd;
  const ProcessLimits* limits;
};

void SetLimit(int resource, int64_t value) {
  if (value <= 0) return;
  struct rlimit limit;
  limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(value);
  setrlimit(resource, &limit);
}

[[noreturn]] void ChildFail(int error_fd) {
  int error = errno;
  while (write(error_fd, &error, sizeof(error)) < 0 && errno == EINTR) {
  }
  _exit(127);
}

// Runs in the child between fork and exec: async-signal-safe calls only, raw syscalls for
// credentials (glibc's setuid would signal every thread of the parent under vfork).
[[noreturn]] void ChildMain(const ChildPlan& plan) {
  // Move the inputs above every target first, so that no dup2 clobbers a later source.
  int temp[16];
  for (int i = 0; i < plan.move_count; ++i) {
    temp[i] = fcntl(plan.moves[i].from, F_DUPFD, plan.max_target + 1);
    if (temp[i] < 0) ChildFail(plan.error_fd);
  }
  for (int i = 0; i < plan.move_count; ++i) {
    if (dup2(temp[i], plan.moves[i].to) < 0) ChildFail(plan.error_fd);
  }
  // Close the gaps below max_target, and everything above it on exec (the error pipe must
  // stay open until then).
  for (int fd = 3; fd <= plan.max_target; ++fd) {
    bool target = false;
    for (int i = 0; i < plan.move_count; ++i) target |= plan.moves[i].to == fd;
    if (!target) close(fd);
  }
  if (syscall(SYS_close_range, plan.max_target + 1, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = plan.max_target + 1; fd < 4096; ++fd) {
      if (fd != plan.error_fd) close(fd);
    }
  }
  setpgid(0, 0);
  // Signals: default dispositions for what the server ignores (SIGPIPE), nothing blocked.
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGXCPU, SIGXFSZ, SIGCHLD})
    sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  const ProcessLimits& l = *plan.limits;
  SetLimit(RLIMIT_CPU, l.cpu_seconds);
  SetLimit(RLIMIT_AS, l.address_space_bytes);
  SetLimit(RLIMIT_FSIZE, l.file_size_bytes);
  SetLimit(RLIMIT_NOFILE, l.open_files);
  SetLimit(RLIMIT_NPROC, l.processes);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  if (l.gid >= 0) {
    if (syscall(SYS_setgroups, 0, nullptr) != 0) ChildFail(plan.error_fd);
    if (syscall(SYS_setresgid, l.gid, l.gid, l.gid) != 0) ChildFail(plan.error_fd);
  }
  if (l.uid >= 0 && syscall(SYS_setresuid, l.uid, l.uid, l.uid) != 0) ChildFail(plan.error_fd);
  // After the credential change, which clears it: die with the thread that started us.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  execve(plan.argv[0], plan.argv, plan.envp);
  ChildFail(plan.error_fd);
}

pid_t SpawnChild(const ChildPlan& plan) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer keeps per-thread state that a vfork child would scribble on.
  pid_t pid = fork();
#else
  // vfork: no page-table copy of a large server process, so spawning stays cheap.
  pid_t pid = vfork();
#endif
  if (pid == 0) ChildMain(plan);
  return pid;
}

void KillGroup(pid_t pid) {
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
}

// Reads what is available; false at EOF or error. Bytes beyond `cap` set *over.
bool Drain(int fd, std::string* out, size_t cap, bool* over) {
  char buffer[65536];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      const size_t room = cap > out->size() ? cap - out->size() : 0;
      out->append(buffer, std::min(room, static_cast<size_t>(n)));
      if (static_cast<size_t>(n) > room) *over = true;
      if (static_cast<size_t>(n) < sizeof(buffer)) return true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;
  }
}

}  // namespace

absl::StatusOr<ProcessResult> RunProcess(const ProcessSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/') {
    return absl::InvalidArgumentError("argv[0] must be an absolute path");
  }
  if (spec.input_files.size() > 8) return absl::InvalidArgumentError("too many input files");
  std::vector<char*> argv, envp;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  auto stdin_file = MemoryFile(spec.stdin_data);
  if (!stdin_file.ok()) return stdin_file.status();
  std::vector<Fd> inputs;
  for (const ProcessInputFile& f : spec.input_files) {
    if (f.fd < 3) return absl::InvalidArgumentError("input file fds start at 3");
    auto fd = MemoryFile(f.content);
    if (!fd.ok()) return fd.status();
    inputs.push_back(std::move(*fd));
  }
  auto out = MakePipe();
  auto err = MakePipe();
  auto failure = MakePipe();
  if (!out.ok() || !err.ok() || !failure.ok()) return Errno("pipe2");
  Pipe status;
  if (spec.status_fd >= 3) {
    auto made = MakePipe();
    if (!made.ok()) return made.status();
    status = std::move(*made);
  }

  std::vector<FdMove> moves = {
      {stdin_file->get(), 0}, {out->write.get(), 1}, {err->write.get(), 2}};
  for (size_t i = 0; i < inputs.size(); ++i)
    moves.push_back({inputs[i].get(), spec.input_files[i].fd});
  if (spec.status_fd >= 3) moves.push_back({status.write.get(), spec.status_fd});
  int max_target = 2;
  for (const FdMove& m : moves) max_target = std::max(max_target, m.to);
  // The error pipe must sit above every target so that the moves leave it alone.
  Fd error_fd(fcntl(failure->write.get(), F_DUPFD_CLOEXEC, std::max(max_target + 1, 64)));
  if (error_fd.get() < 0) return Errno("fcntl");
  failure->write.reset();

  ChildPlan plan{argv.data(), envp.data(),    moves.data(), static_cast<int>(moves.size()),
                 max_target,  error_fd.get(), &spec.limits};
  const auto start = Clock::now();
  const pid_t pid = SpawnChild(plan);
  if (pid < 0) return Errno("fork");
  // Our copies of the child's ends: closing them is what lets EOF arrive.
  error_fd.reset();
  out->write.reset();
  err->write.reset();
  status.write.reset();
  stdin_file->reset();
  inputs.clear();

  int child_errno = 0;
  ssize_t got;
  do {
    got = read(failure->read.get(), &child_errno, sizeof(child_errno));
  } while (got < 0 && errno == EINTR);
  if (got == sizeof(child_errno)) {
    waitpid(pid, nullptr, 0);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start ", spec.argv[0], ": ", std::strerror(child_errno)));
  }

  ProcessResult result;
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  fcntl(out->read.get(), F_SETFL, O_NONBLOCK);
  fcntl(err->read.get(), F_SETFL, O_NONBLOCK);
  if (status.read.get() >= 0) fcntl(status.read.get(), F_SETFL, O_NONBLOCK);
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(spec.limits.wall_seconds));
  bool out_open = true, err_open = true, status_open = status.read.get() >= 0, exited = false;
  int wait_status = 0;
  struct rusage usage;
  std::memset(&usage, 0, sizeof(usage));
  // After the child exits, descendants that kept its pipes open get a short grace.
  auto drain_deadline = deadline;
  while (out_open || err_open || !exited) {
    const auto now = Clock::now();
    const auto limit = exited ? std::min(deadline, drain_deadline) : deadline;
    if (now >= limit) {
      if (!exited) result.timed_out = true;
      break;
    }
    if (spec.cancel && spec.cancel->load() && !exited) {
      result.cancelled = true;
      break;
    }
    struct pollfd fds[4];
    int n = 0;
    int out_index = -1, err_index = -1, pid_index = -1, status_index = -1;
    if (out_open) {
      out_index = n;
      fds[n++] = {out->read.get(), POLLIN, 0};
    }
    if (err_open) {
      err_index = n;
      fds[n++] = {err->read.get(), POLLIN, 0};
    }
    if (status_open) {
      status_index = n;
      fds[n++] = {status.read.get(), POLLIN, 0};
    }
    if (!exited && pidfd.get() >= 0) {
      pid_index = n;
      fds[n++] = {pidfd.get(), POLLIN, 0};
    }
    int timeout_ms =
        static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(limit - now).count()) +
        1;
    if (pidfd.get() < 0 && !exited) timeout_ms = std::min(timeout_ms, 5);
    if (spec.cancel) timeout_ms = std::min(timeout_ms, 50);  // how soon a cancel is seen
    const int ready = poll(fds, n, timeout_ms);
    if (ready < 0 && errno != EINTR) break;
    bool over = false;
    if (out_index >= 0 && fds[out_index].revents) {
      out_open = Drain(out->read.get(), &result.stdout_data, spec.limits.max_stdout_bytes, &over);
    }
    if (err_index >= 0 && fds[err_index].revents) {
      err_open = Drain(err->read.get(), &result.stderr_data, spec.limits.max_stderr_bytes, &over);
    }
    if (status_index >= 0 && fds[status_index].revents) {
      bool ignored = false;
      status_open = Drain(status.read.get(), &result.status_data, 1 << 16, &ignored);
    }
    if (over) {
      result.output_limit = true;
      break;
    }
    if (!exited && (pid_index < 0 || fds[pid_index].revents)) {
      const pid_t reaped = wait4(pid, &wait_status, WNOHANG, &usage);
      if (reaped == pid) {
        exited = true;
        drain_deadline = Clock::now() + std::chrono::milliseconds(200);
      }
    }
  }
  if (!exited) {
    if (spec.before_kill) {
      bool ignored = false;
      if (status_open) Drain(status.read.get(), &result.status_data, 1 << 16, &ignored);
      spec.before_kill(result.status_data);
      const auto grace = Clock::now() + std::chrono::seconds(1);
      while (Clock::now() < grace) {
        if (wait4(pid, &wait_status, WNOHANG, &usage) == pid) {
          exited = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }
  if (!exited) {
    KillGroup(pid);
    while (wait4(pid, &wait_status, 0, &usage) < 0 && errno == EINTR) {
    }
  } else {
    kill(-pid, SIGKILL);  // stray descendants in its group (bare processes only)
  }
  if (status_open) {
    bool ignored = false;
    Drain(status.read.get(), &result.status_data, 1 << 16, &ignored);
  }
  result.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.cpu_seconds = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec * 1e-6 +
                       usage.ru_stime.tv_sec + usage.ru_stime.tv_usec * 1e-6;
  if (WIFEXITED(wait_status)) {
    result.exit_code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    result.signal = WTERMSIG(wait_status);
  }
  return result;
}

}  // namespace seamless
