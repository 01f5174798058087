// Runs untrusted programs inside bubblewrap: new user/pid/net/ipc/uts/cgroup namespaces (no
// network), the host's /usr read-only and nothing else of the host file system, a private
// size-capped tmpfs as the work dir (/tmp), an empty environment, rlimits, a wall-clock
// timeout, and capped output. The program runs as its pid namespace's init: when it ends, or
// when bwrap is killed (the program dies with it), the kernel kills every process inside,
// however it tried to detach (setsid, double fork).
//
// When the server runs as root, each concurrent run also gets its own unprivileged host uid
// (uid_base + slot): the kernel never enforces RLIMIT_NPROC for root, and one uid per slot
// keeps one sandbox's fork bomb from starving its neighbours.
#ifndef SEAMLESS_REWARD_SANDBOX_H_
#define SEAMLESS_REWARD_SANDBOX_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "reward/process_runner.h"

namespace seamless {

struct SandboxOptions {
  std::string bwrap = "/usr/bin/bwrap";
  std::vector<std::string> read_only_paths = {"/usr"};  // bound read-only at the same path
  int64_t tmpfs_bytes = 64 << 20;                       // the writable work dir
  int64_t uid_base = 61000;     // host uids for the slots, when running as root
  int64_t slots = 64;           // concurrent runs at most
  bool drop_privileges = true;  // as root: run bwrap as uid_base + slot

  template <typename V>
  void VisitFields(V& v) {
    v("bwrap", bwrap, "The bubblewrap binary");
    v("read_only_paths", read_only_paths, "Host paths bound read-only (the system)");
    v("tmpfs_bytes", tmpfs_bytes, "Size of the private writable work dir /tmp");
    v("uid_base", uid_base, "As root: host uid of slot 0 (one uid per concurrent run)");
    v("slots", slots, "Concurrent sandboxed runs at most");
    v("drop_privileges", drop_privileges, "As root: run each sandbox as an unprivileged uid");
  }
};

struct SandboxFile {
  std::string path;  // absolute path inside the sandbox, under /tmp
  std::string content;
  bool executable = false;
};

struct SandboxRun {
  std::vector<std::string> argv;  // inside the sandbox; argv[0] absolute
  std::vector<SandboxFile> files;
  std::string stdin_data;
  ProcessLimits limits;  // uid/gid are chosen by the sandbox
};

class Sandbox {
 public:
  // Checks that bwrap exists; does not start anything (see SelfTest).
  static absl::StatusOr<std::unique_ptr<Sandbox>> Create(SandboxOptions options);

  // Runs one program. Errors are failures of the sandbox itself (bwrap missing, namespaces
  // refused), never what the program did: that is in the result.
  absl::StatusOr<ProcessResult> Run(const SandboxRun& run);

  // For shutdown, with no undo: kills the runs in progress (within about 50 ms) and makes
  // them and every later Run fail UNAVAILABLE, so a server's running samples cannot hold its
  // exit for as long as their deadlines.
  void CancelRuns() { cancelled_.store(true); }

  // Starts `argv` (e.g. python3 -c "print('ok')") and checks that it printed `expect`.
  absl::Status SelfTest(const std::vector<std::string>& argv, const std::string& expect);

  // The bwrap command line of a run (without the program), for logs and tests.
  std::vector<std::string> BwrapPrefix() const { return prefix_; }

 private:
  explicit Sandbox(SandboxOptions options);
  int AcquireSlot() ABSL_LOCKS_EXCLUDED(mu_);
  void ReleaseSlot(int slot) ABSL_LOCKS_EXCLUDED(mu_);
  bool HasFreeSlot() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !free_slots_.empty(); }

  SandboxOptions options_;
  bool as_root_ = false;
  std::string prlimit_;              // util-linux prlimit, for the process limit when not root
  std::vector<std::string> prefix_;  // prepared once: bwrap and the fixed namespace/mount flags
  std::atomic<bool> cancelled_{false};
  absl::Mutex mu_;
  std::vector<int> free_slots_ ABSL_GUARDED_BY(mu_);
};

}  // namespace seamless

#endif  // SEAMLESS_REWARD_SANDBOX_H_
