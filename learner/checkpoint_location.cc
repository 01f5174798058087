#include "learner/checkpoint_location.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace seamless {
namespace {

namespace fs = std::filesystem;

// True when `path` (both resolved) is `root` or below it.
bool IsWithin(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> ConfineCheckpointDir(const std::string& root,
                                                 const std::string& requested) {
  if (root.empty()) {
    return absl::FailedPreconditionError("no checkpoint directory (set checkpoint_dir)");
  }
  if (requested.empty()) return root;
  const fs::path name(requested);
  for (const fs::path& part : name) {
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint directory '", requested, "': '..' is not allowed"));
    }
  }
  const fs::path joined = name.is_absolute() ? name : fs::path(root) / name;
  std::error_code ec_root, ec_joined;
  // weakly_canonical follows the symlinks that exist, so a link under root cannot lead out.
  const fs::path resolved_root = fs::weakly_canonical(fs::absolute(root), ec_root);
  const fs::path resolved = fs::weakly_canonical(fs::absolute(joined), ec_joined);
  if (ec_root || ec_joined || !IsWithin(resolved, resolved_root)) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint directory '", requested,
                                                   "' is outside the learner's checkpoint_dir '",
                                                   root, "': name a directory under it"));
  }
  return joined.lexically_normal().string();
}

}  // namespace seamless
