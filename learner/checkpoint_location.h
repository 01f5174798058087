// Where LearnerService.Checkpoint may write: a client names a directory, but the learner must
// not become a way to write (or overwrite) any path its user can, so the name is confined to
// the learner's own checkpoint_dir.
#ifndef SEAMLESS_LEARNER_CHECKPOINT_LOCATION_H_
#define SEAMLESS_LEARNER_CHECKPOINT_LOCATION_H_

#include <string>

#include "absl/status/statusor.h"

namespace seamless {

// `requested` empty: `root` itself. Otherwise a relative name under `root` (or an absolute
// path inside it), without a ".." component and not escaping `root` through a symlink; the
// directory returned is `root` joined with it. INVALID_ARGUMENT names the request otherwise,
// FAILED_PRECONDITION when `root` is empty (no checkpoint_dir configured).
absl::StatusOr<std::string> ConfineCheckpointDir(const std::string& root,
                                                 const std::string& requested);

}  // namespace seamless

#endif  // SEAMLESS_LEARNER_CHECKPOINT_LOCATION_H_
