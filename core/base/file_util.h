// Whole-file reads and crash-safe writes.
#ifndef SEAMLESS_CORE_BASE_FILE_UTIL_H_
#define SEAMLESS_CORE_BASE_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace seamless {

absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Writes to `path.tmp.<pid>`, fsyncs, then renames over `path`: readers see the old file or
// the new one, never a torn one.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);

bool FileExists(const std::string& path);

// Creates `path` and its parents; OK if it already exists.
absl::Status MakeDirectories(const std::string& path);

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_FILE_UTIL_H_
