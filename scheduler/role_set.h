// The processes of one local run (`seamless train`): each role started as a RoleProcess whose
// log is RUN_DIR/logs/NAME.log, their resident memory sampled while they run (the run's
// summary reports each role's peak), all stopped together, in reverse start order, when the
// run ends. Waits poll the stop signals (core/base/stop_signal.h) so that SIGINT or SIGTERM
// cuts a start-up short too.
#ifndef SEAMLESS_SCHEDULER_ROLE_SET_H_
#define SEAMLESS_SCHEDULER_ROLE_SET_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "scheduler/role_process.h"

namespace seamless {

class RoleSet {
 public:
  // `binary` is the `seamless` binary the roles run.
  RoleSet(std::string run_dir, std::string binary)
      : dir_(std::move(run_dir)), binary_(std::move(binary)) {}
  ~RoleSet() { StopAll(); }

  // Starts `seamless args...` as the role `name` (logs/NAME.log); `key` names it in
  // peak_by_role().
  absl::StatusOr<std::unique_ptr<RoleProcess>> Start(const std::string& name,
                                                     const std::string& key,
                                                     const std::vector<std::string>& args,
                                                     const std::vector<std::string>& env = {});
  // Stops sampling `p` (it ended, e.g. SFT).
  void Untrack(RoleProcess* p);
  // Samples every process: the sum of resident memory now, and each one's peak (VmHWM).
  void Sample();
  // Waits for a role's "listening on" line while sampling; fails early when any of
  // `also_alive` exits (a learner rank that died will never let rank 0 listen) and
  // (CANCELLED) on a stop signal.
  absl::StatusOr<std::string> WaitForAddress(RoleProcess* p, std::chrono::seconds timeout,
                                             const std::vector<RoleProcess*>& also_alive = {});
  // SIGTERM to every role at once, then SIGKILL to those still running kStopGrace later.
  void StopAll();
  static constexpr std::chrono::seconds kStopGrace{10};

  int64_t peak_total() const { return peak_total_; }
  const std::map<std::string, int64_t>& peak_by_role() const { return peak_by_role_; }

 private:
  struct Tracked {
    RoleProcess* process;
    std::string key;
  };
  const std::string dir_, binary_;
  std::vector<Tracked> tracked_;
  int64_t peak_total_ = 0;
  std::map<std::string, int64_t> peak_by_role_;
};

// The error a stop signal turns a run into: CANCELLED, naming the signal and how to resume.
absl::Status StoppedBySignal(int signal, const std::string& run_dir);

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_ROLE_SET_H_
