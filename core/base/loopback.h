// TCP sockets on 127.0.0.1 at a port the kernel picks: the learner ranks' rendezvous port
// (MASTER_PORT), picked as a launcher such as PyTorchJob picks one, and the loopback
// connections of benchmarks.
#ifndef SEAMLESS_CORE_BASE_LOOPBACK_H_
#define SEAMLESS_CORE_BASE_LOOPBACK_H_

#include <netinet/in.h>

#include "absl/status/statusor.h"

namespace seamless {

// A socket bound to 127.0.0.1 on a free port, listening (backlog 1) when `listen`; `*addr`
// gets its address. Returns the descriptor, which the caller closes.
absl::StatusOr<int> BindLoopbackSocket(bool listen, sockaddr_in* addr);

// A free loopback port: bound once and closed again, for a process to bind a moment later.
absl::StatusOr<int> FreeLoopbackPort();

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_LOOPBACK_H_
