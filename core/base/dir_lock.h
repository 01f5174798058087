// An exclusive lock on a directory, held for a process's lifetime: DIR/.lock, flock(2)ed, with
// the holder's pid and name written into it for the error the next taker sees. The kernel
// drops the lock when the holder dies, however it dies (kill -9 included), so a stale lock
// file never blocks a resume.
#ifndef SEAMLESS_CORE_BASE_DIR_LOCK_H_
#define SEAMLESS_CORE_BASE_DIR_LOCK_H_

#include <string>

#include "absl/status/statusor.h"

namespace seamless {

class DirLock {
 public:
  // Takes DIR/.lock (creating it); FAILED_PRECONDITION naming the holder's pid and name
  // when another process holds it. `holder` describes this one ("seamless train").
  static absl::StatusOr<DirLock> Acquire(const std::string& dir, const std::string& holder);
  DirLock(DirLock&& other) noexcept;
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();  // releases it

 private:
  DirLock() = default;
  int fd_ = -1;  // close-on-exec: children never hold it
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_DIR_LOCK_H_
