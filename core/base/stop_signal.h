// SIGINT and SIGTERM as a request to stop, polled by a launcher's loops instead of killing it
// mid-way: `seamless train` then stops every role it started and leaves a resumable run
// directory, where the default action would leave the roles running without it.
#ifndef SEAMLESS_CORE_BASE_STOP_SIGNAL_H_
#define SEAMLESS_CORE_BASE_STOP_SIGNAL_H_

namespace seamless {

// Installs the handlers (idempotent). A second signal of either kind while stopping ends the
// process at once (the default action), for a user who presses Ctrl-C twice.
void InstallStopSignals();
// The first stop signal received since InstallStopSignals, or 0.
int StopSignalReceived();

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_STOP_SIGNAL_H_
