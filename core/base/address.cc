#include "core/base/address.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace seamless {

absl::StatusOr<HostPort> ParseHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", address, "' must be HOST:PORT (for example 127.0.0.1:50051)"));
  }
  HostPort out;
  out.host = address.substr(0, colon);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (out.host.empty()) out.host = "0.0.0.0";
  if (!absl::SimpleAtoi(address.substr(colon + 1), &out.port) || out.port < 0 || out.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", address, "': port must be a number in 0..65535"));
  }
  return out;
}

}  // namespace seamless
