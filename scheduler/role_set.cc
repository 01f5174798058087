#include "scheduler/role_set.h"

#include <signal.h>
#include <string.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/base/stop_signal.h"

namespace seamless {

absl::StatusOr<std::unique_ptr<RoleProcess>> RoleSet::Start(const std::string& name,
                                                            const std::string& key,
                                                            const std::vector<std::string>& args,
                                                            const std::vector<std::string>& env) {
  ASSIGN_OR_RETURN(auto p, RoleProcess::Start(name, binary_, args,
                                              absl::StrCat(dir_, "/logs/", name, ".log"), env));
  tracked_.push_back({p.get(), key});
  return p;
}

void RoleSet::Untrack(RoleProcess* p) {
  Sample();
  for (auto it = tracked_.begin(); it != tracked_.end(); ++it) {
    if (it->process == p) {
      tracked_.erase(it);
      break;
    }
  }
}

void RoleSet::Sample() {
  int64_t total = 0;
  for (auto& t : tracked_) {
    total += t.process->ResidentBytes();
    int64_t& peak = peak_by_role_[t.key];
    peak = std::max(peak, t.process->PeakResidentBytes());
  }
  peak_total_ = std::max(peak_total_, total);
}

absl::StatusOr<std::string> RoleSet::WaitForAddress(RoleProcess* p, std::chrono::seconds timeout,
                                                    const std::vector<RoleProcess*>& also_alive) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    Sample();
    if (const int signal = StopSignalReceived()) return StoppedBySignal(signal, dir_);
    auto address = p->WaitForAddress(std::chrono::seconds(1));
    if (address.ok() || !absl::IsDeadlineExceeded(address.status())) return address;
    for (RoleProcess* other : also_alive) {
      if (!other->Running()) {
        return absl::UnavailableError(absl::StrCat(other->name(), " exited with code ",
                                                   other->exit_code(), "; see ", dir_, "/logs/",
                                                   other->name(), ".log"));
      }
    }
    if (std::chrono::steady_clock::now() > deadline) return address;
  }
}

void RoleSet::StopAll() {
  Sample();
  // All at once: one role slow to stop must not hold up the others' grace.
  for (auto it = tracked_.rbegin(); it != tracked_.rend(); ++it) it->process->Signal(SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + kStopGrace;
  for (auto& t : tracked_) {
    while (t.process->Running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (t.process->Running()) {
      SLOG(WARNING) << t.process->name() << " did not stop on SIGTERM within " << kStopGrace.count()
                    << " s: SIGKILL";
      t.process->Terminate(std::chrono::seconds(0));
    }
  }
  tracked_.clear();
}

absl::Status StoppedBySignal(int signal, const std::string& run_dir) {
  return absl::CancelledError(absl::StrCat("stopped by ", strsignal(signal),
                                           "; every role was stopped; continue with: seamless "
                                           "train --resume ",
                                           run_dir));
}

}  // namespace seamless
