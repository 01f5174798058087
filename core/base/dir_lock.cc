#include "core/base/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace seamless {
namespace {

// What the holder wrote ("PID NAME"), or "" when unreadable.
std::string ReadHolder(int fd) {
  char buffer[256];
  const ssize_t n = pread(fd, buffer, sizeof(buffer) - 1, 0);
  if (n <= 0) return "";
  return std::string(absl::StripTrailingAsciiWhitespace(absl::string_view(buffer, size_t(n))));
}

}  // namespace

absl::StatusOr<DirLock> DirLock::Acquire(const std::string& dir, const std::string& holder) {
  const std::string path = dir + "/.lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string other = ReadHolder(fd);
    close(fd);
    if (error != EWOULDBLOCK) {
      return absl::InternalError(absl::StrCat("cannot lock ", path, ": ", std::strerror(error)));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " is in use by another process (pid and program: ", other.empty() ? "?" : other,
        "); wait for it to end, stop it, or use another directory"));
  }
  const std::string me = absl::StrCat(getpid(), " ", holder, "\n");
  if (ftruncate(fd, 0) != 0 || pwrite(fd, me.data(), me.size(), 0) != ssize_t(me.size())) {
    close(fd);
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  DirLock lock;
  lock.fd_ = fd;
  return lock;
}

DirLock::DirLock(DirLock&& other) noexcept { *this = std::move(other); }

DirLock& DirLock::operator=(DirLock&& other) noexcept {
  std::swap(fd_, other.fd_);
  return *this;
}

DirLock::~DirLock() {
  if (fd_ >= 0) close(fd_);  // releases the flock
}

}  // namespace seamless
