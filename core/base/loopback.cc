#include "core/base/loopback.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace seamless {

absl::StatusOr<int> BindLoopbackSocket(bool listen, sockaddr_in* addr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket(): ", std::strerror(errno)));
  *addr = sockaddr_in{};
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(*addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(addr), sizeof(*addr)) != 0 ||
      (listen && ::listen(fd, 1) != 0) ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(addr), &len) != 0) {
    const int error = errno;
    ::close(fd);
    return absl::InternalError(
        absl::StrCat("cannot bind a loopback socket: ", std::strerror(error)));
  }
  return fd;
}

absl::StatusOr<int> FreeLoopbackPort() {
  sockaddr_in addr;
  absl::StatusOr<int> fd = BindLoopbackSocket(/*listen=*/false, &addr);
  if (!fd.ok()) return fd.status();
  ::close(*fd);
  return int(ntohs(addr.sin_port));
}

}  // namespace seamless
