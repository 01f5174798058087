#include "scheduler/role_supervisor.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "core/base/log.h"

namespace seamless {

void RoleSupervisor::Watch(std::unique_ptr<RoleProcess>* slot, std::string name, std::string key,
                           std::vector<std::string> args) {
  Entry e;
  e.slot = slot;
  e.name = std::move(name);
  e.key = std::move(key);
  e.args = std::move(args);
  entries_.push_back(std::move(e));
}

int RoleSupervisor::Check(RoleSet& roles, std::chrono::steady_clock::time_point now) {
  int restarted = 0;
  for (Entry& e : entries_) {
    if (e.given_up || (*e.slot)->Running()) continue;
    if (!e.waiting) {
      if (e.restarts >= options_.max_restarts) {
        SLOG(WARNING) << e.name << " exited (code " << (*e.slot)->exit_code() << ") after "
                      << e.restarts << " restarts: not restarted again; the run goes on without it";
        e.given_up = true;
        continue;
      }
      const auto backoff = std::min<std::chrono::milliseconds>(
          options_.max_backoff, options_.first_backoff * (1 << std::min(e.restarts, 16)));
      // On stdout too: the run's own output says what happened to its roles.
      std::printf("%s exited (code %d); restarting in %lld ms (%d of %d)\n", e.name.c_str(),
                  (*e.slot)->exit_code(), static_cast<long long>(backoff.count()), e.restarts + 1,
                  options_.max_restarts);
      std::fflush(stdout);
      e.waiting = true;
      e.due = now + backoff;
      continue;
    }
    if (now >= e.due && Restart(roles, e)) ++restarted;
  }
  return restarted;
}

bool RoleSupervisor::Restart(RoleSet& roles, Entry& e) {
  e.waiting = false;
  ++e.restarts;
  roles.Untrack(e.slot->get());
  auto started = roles.Start(e.name, e.key, e.args);
  if (!started.ok()) {
    SLOG(WARNING) << "restarting " << e.name << ": " << started.status().message();
    return false;  // the old (exited) process stays in the slot: the next Check tries again
  }
  *e.slot = std::move(*started);
  std::printf("restarted %s (pid %d)\n", e.name.c_str(), static_cast<int>((*e.slot)->pid()));
  std::fflush(stdout);
  return true;
}

int RoleSupervisor::restarts() const {
  int n = 0;
  for (const Entry& e : entries_) n += e.restarts;
  return n;
}

std::vector<std::string> WithListenAddress(std::vector<std::string> args,
                                           const std::string& address) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--listen") args[i + 1] = address;
  }
  return args;
}

}  // namespace seamless
