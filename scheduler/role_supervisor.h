// Restarts of the roles a run can lose and go on: rollout workers and reward servers. A role
// that exits is started again with the same arguments and on the same address (its clients,
// the scheduler and the learner's weight push, reconnect by themselves: gRPC channels retry,
// the learner's catch-up pushes the current weights), after a back-off that doubles from
// `first_backoff` to `max_backoff`, at most `max_restarts` times per role; after that it
// stays down and the run goes on without it, as it would without supervision.
#ifndef SEAMLESS_SCHEDULER_ROLE_SUPERVISOR_H_
#define SEAMLESS_SCHEDULER_ROLE_SUPERVISOR_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "scheduler/role_process.h"
#include "scheduler/role_set.h"

namespace seamless {

class RoleSupervisor {
 public:
  struct Options {
    int max_restarts = 5;
    std::chrono::milliseconds first_backoff{250};
    std::chrono::milliseconds max_backoff{30000};
  };
  explicit RoleSupervisor(Options options) : options_(options) {}

  // Watches the role in `slot` (owned by the caller, replaced on a restart), started as
  // `roles.Start(name, key, args)`; `args` must name its address (no port 0).
  void Watch(std::unique_ptr<RoleProcess>* slot, std::string name, std::string key,
             std::vector<std::string> args);
  // Restarts the roles that exited and whose back-off passed; returns how many it restarted.
  // Call it often (every 250 ms).
  int Check(RoleSet& roles, std::chrono::steady_clock::time_point now);
  int restarts() const;  // of every role so far

 private:
  struct Entry {
    std::unique_ptr<RoleProcess>* slot;
    std::string name, key;
    std::vector<std::string> args;
    int restarts = 0;
    bool waiting = false;  // exited; restart due at `due`
    bool given_up = false;
    std::chrono::steady_clock::time_point due;
  };
  bool Restart(RoleSet& roles, Entry& e);  // false: starting it failed (tried again later)

  const Options options_;
  std::vector<Entry> entries_;
};

// `args` with the value after "--listen" replaced by `address` (a role first started on port 0
// comes back on the port it got).
std::vector<std::string> WithListenAddress(std::vector<std::string> args,
                                           const std::string& address);

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_ROLE_SUPERVISOR_H_
