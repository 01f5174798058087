// "HOST:PORT" parsing shared by every listening and dialling flag.
#ifndef SEAMLESS_CORE_BASE_ADDRESS_H_
#define SEAMLESS_CORE_BASE_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"

namespace seamless {

struct HostPort {
  std::string host;  // "[::1]" style brackets removed
  int port = 0;
};

// Accepts "host:port", "[v6]:port" and ":port" (host 0.0.0.0). Port 0 means "pick a free one".
absl::StatusOr<HostPort> ParseHostPort(const std::string& address);

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_ADDRESS_H_
