#include "core/base/stop_signal.h"

#include <signal.h>

#include <atomic>

namespace seamless {
namespace {

std::atomic<int> received{0};
static_assert(std::atomic<int>::is_always_lock_free, "used from a signal handler");

void OnStopSignal(int signal) {
  int none = 0;
  if (!received.compare_exchange_strong(none, signal)) {
    // The second one: the default action, now.
    ::signal(signal, SIG_DFL);
    ::raise(signal);
  }
}

}  // namespace

void InstallStopSignals() {
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a sleeping poll wakes up early
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int StopSignalReceived() { return received.load(); }

}  // namespace seamless
