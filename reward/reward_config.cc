#include "reward/reward_config.h"

#include "core/base/config.h"
#include "core/base/status_macros.h"

namespace seamless {

absl::Status CodeRewardOptions::Validate() const {
  for (size_t i = 0; i < level_weights.size(); ++i) {
    RETURN_IF_ERROR(CheckRange(absl::StrCat("level_weights[", i, "]"), level_weights[i], 0, 1e6));
  }
  return CheckRange("float_tolerance", float_tolerance, 0, 1e6);
}

absl::Status RewardConfig::Validate() const {
  constexpr double kMinMemory = 16 << 20, kMaxMemory = double(int64_t{1} << 40);  // 16 MiB, 1 TiB
  RETURN_IF_ERROR(CheckRange("workers", workers, 0, 4096));
  RETURN_IF_ERROR(CheckRange("queue_capacity", queue_capacity, 1, 1e9));
  RETURN_IF_ERROR(CheckRange("default_deadline_seconds", default_deadline_seconds, 1e-3, 1e6));
  RETURN_IF_ERROR(CheckRange("math.relative_tolerance", math.relative_tolerance, 0, 1));
  // The code runner's limits (each test gets a fresh sandbox with these).
  RETURN_IF_ERROR(CheckRange("runner.time_limit_seconds", runner.time_limit_seconds, 1e-3, 86400));
  // 0 switched a limit off (a program forking 100 children passed); a few bytes or a million
  // processes are no sandbox either: python needs ~16 MiB of address space to start.
  RETURN_IF_ERROR(CheckRange("runner.memory_bytes", runner.memory_bytes, kMinMemory, kMaxMemory));
  RETURN_IF_ERROR(CheckRange("runner.processes", runner.processes, 1, 4096));
  RETURN_IF_ERROR(CheckRange("runner.file_size_bytes", runner.file_size_bytes, 0, 1e15));
  RETURN_IF_ERROR(CheckRange("runner.open_files", runner.open_files, 1, 1e6));
  RETURN_IF_ERROR(CheckRange("runner.max_output_bytes", runner.max_output_bytes, 1, 1e12));
  RETURN_IF_ERROR(CheckRange("runner.compile_time_limit_seconds", runner.compile_time_limit_seconds,
                             1e-3, 86400));
  RETURN_IF_ERROR(CheckRange("runner.compile_memory_bytes", runner.compile_memory_bytes, kMinMemory,
                             kMaxMemory));
  // The sandbox: slots take host uids uid_base .. uid_base + slots - 1.
  RETURN_IF_ERROR(CheckRange("sandbox.tmpfs_bytes", sandbox.tmpfs_bytes, 1, 1e15));
  RETURN_IF_ERROR(CheckRange("sandbox.slots", sandbox.slots, 1, 65536));
  return CheckRange("sandbox.uid_base", sandbox.uid_base, 1, 2147483647.0 - sandbox.slots);
}

}  // namespace seamless
