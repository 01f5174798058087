#include "reward/sandbox.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace seamless {
namespace {

// The in-sandbox uid: "nobody". The host uid is the slot's (as root) or the server's.
constexpr char kSandboxUid[] = "65534";
// Where bwrap reports {"child-pid": N} once the program has been started: that tells a
// program's own exit status apart from bwrap failing to set up.
constexpr int kStatusFd = 3;
constexpr int kFirstFileFd = 4;

}  // namespace

Sandbox::Sandbox(SandboxOptions options) : options_(std::move(options)) {
  as_root_ = geteuid() == 0 && options_.drop_privileges;
  if (access("/usr/bin/prlimit", X_OK) == 0) prlimit_ = "/usr/bin/prlimit";
  for (int i = static_cast<int>(options_.slots) - 1; i >= 0; --i) free_slots_.push_back(i);
  prefix_ = {options_.bwrap,
             "--unshare-all",   // user, pid, net, ipc, uts, cgroup: no network at all
             "--unshare-user",  // never keep the caller's capabilities
             "--uid", kSandboxUid, "--gid", kSandboxUid,
             "--die-with-parent",  // bwrap dies with us, the sandbox dies with bwrap
             // The program is the pid namespace's init: when it exits or is killed, the kernel
             // kills everything else inside. (bwrap's own init would be left a zombie: its
             // monitor exits without reaping it, and zombies count against RLIMIT_NPROC.)
             "--as-pid-1",
             "--new-session",  // no terminal to inject into
             "--hostname", "sandbox", "--json-status-fd", std::to_string(kStatusFd)};
  for (const std::string& path : options_.read_only_paths) {
    prefix_.insert(prefix_.end(), {"--ro-bind", path, path});
  }
  // Merged-/usr systems have /bin, /lib ... as symlinks into /usr: recreate them.
  for (const char* link : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    char target[4096];
    const ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n > 0) {
      prefix_.insert(prefix_.end(), {"--symlink", std::string(target, n), link});
    } else {
      struct stat st;
      if (stat(link, &st) == 0 && S_ISDIR(st.st_mode)) {
        prefix_.insert(prefix_.end(), {"--ro-bind", link, link});
      }
    }
  }
  prefix_.insert(prefix_.end(), {"--proc", "/proc", "--dev", "/dev", "--size",
                                 std::to_string(options_.tmpfs_bytes), "--tmpfs", "/tmp", "--chdir",
                                 "/tmp", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin",
                                 "--setenv", "HOME", "/tmp", "--setenv", "LANG", "C.UTF-8",
                                 // Only /tmp stays writable (/ and /dev are bwrap's tmpfs).
                                 "--remount-ro", "/dev", "--remount-ro", "/"});
}

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Create(SandboxOptions options) {
  if (access(options.bwrap.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("bubblewrap not found at '", options.bwrap,
                     "' (Debian package bubblewrap; scripts/setup.sh installs it)"));
  }
  if (options.slots <= 0 || options.slots > 4096) {
    return absl::InvalidArgumentError("sandbox.slots must be in [1, 4096]");
  }
  if (options.tmpfs_bytes < (1 << 20)) {
    return absl::InvalidArgumentError("sandbox.tmpfs_bytes must be at least 1 MiB");
  }
  return std::unique_ptr<Sandbox>(new Sandbox(std::move(options)));
}

int Sandbox::AcquireSlot() {
  absl::MutexLock lock(&mu_, absl::Condition(this, &Sandbox::HasFreeSlot));
  const int slot = free_slots_.back();
  free_slots_.pop_back();
  return slot;
}

void Sandbox::ReleaseSlot(int slot) {
  absl::MutexLock lock(&mu_);
  free_slots_.push_back(slot);
}

absl::StatusOr<ProcessResult> Sandbox::Run(const SandboxRun& run) {
  if (run.argv.empty()) return absl::InvalidArgumentError("empty argv");
  ProcessSpec spec;
  spec.argv = prefix_;
  spec.argv.reserve(prefix_.size() + 6 * run.files.size() + run.argv.size() + 1);
  int fd = kFirstFileFd;
  for (const SandboxFile& file : run.files) {
    spec.argv.insert(spec.argv.end(), {"--perms", file.executable ? "0755" : "0644", "--file",
                                       std::to_string(fd), file.path});
    spec.input_files.push_back({fd++, file.content});
  }
  spec.argv.push_back("--");
  spec.limits = run.limits;
  // bwrap, its pid-1 and the program count against the process limit too.
  if (spec.limits.processes > 0) spec.limits.processes += 3;
  if (spec.limits.open_files > 0) spec.limits.open_files += 8;
  if (!as_root_ && spec.limits.processes > 0) {
    // Not root: RLIMIT_NPROC set on bwrap would count every process of our uid, server
    // threads included; set inside the sandbox's own user namespace it counts only its own.
    if (!prlimit_.empty()) {
      spec.argv.insert(spec.argv.end(),
                       {prlimit_, absl::StrCat("--nproc=", spec.limits.processes), "--"});
    }
    spec.limits.processes = 0;
  }
  spec.argv.insert(spec.argv.end(), run.argv.begin(), run.argv.end());
  spec.status_fd = kStatusFd;
  spec.stdin_data = run.stdin_data;
  spec.before_kill = [](const std::string& status) {
    // Kill the sandbox's init (host pid in bwrap's report); bwrap then reaps it and exits.
    const size_t at = status.find("\"child-pid\":");
    if (at == std::string::npos) return;
    const long child = std::strtol(status.c_str() + at + 12, nullptr, 10);
    if (child > 1) kill(static_cast<pid_t>(child), SIGKILL);
  };

  spec.cancel = &cancelled_;

  constexpr char kCancelled[] = "sandbox run cancelled: the reward server is shutting down";
  if (cancelled_.load()) return absl::UnavailableError(kCancelled);
  const int slot = AcquireSlot();
  if (as_root_) spec.limits.uid = spec.limits.gid = static_cast<int>(options_.uid_base + slot);
  absl::StatusOr<ProcessResult> result = RunProcess(spec);
  ReleaseSlot(slot);
  if (!result.ok()) return result.status();
  if (result->cancelled) return absl::UnavailableError(kCancelled);
  if (result->status_data.find("child-pid") == std::string::npos && !result->timed_out &&
      !result->output_limit) {
    std::string reason = result->stderr_data.substr(0, 400);
    while (!reason.empty() && reason.back() == '\n') reason.pop_back();
    return absl::UnavailableError(
        absl::StrCat("sandbox failed to start (bwrap exit ", result->exit_code, "): ", reason));
  }
  return result;
}

absl::Status Sandbox::SelfTest(const std::vector<std::string>& argv, const std::string& expect) {
  SandboxRun run;
  run.argv = argv;
  run.limits.wall_seconds = 30;
  run.limits.processes = 16;
  absl::StatusOr<ProcessResult> result = Run(run);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0 || result->stdout_data.find(expect) == std::string::npos) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sandbox self-test (", absl::StrJoin(argv, " "), ") failed: exit ", result->exit_code,
        " signal ", result->signal, ", stderr: ", result->stderr_data.substr(0, 400)));
  }
  return absl::OkStatus();
}

}  // namespace seamless
