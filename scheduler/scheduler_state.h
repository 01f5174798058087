// What the scheduler needs to resume a run after the learner's last complete checkpoint
// (RUN_DIR/scheduler_state.json): the step, the prompt sampler's place, the easy pool and the
// prompts taken but not yet trained or dropped, which a resumed run takes again first.
#ifndef SEAMLESS_SCHEDULER_SCHEDULER_STATE_H_
#define SEAMLESS_SCHEDULER_SCHEDULER_STATE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace seamless {

struct SchedulerState {
  int64_t step = 0;
  int64_t policy_version = 0;
  int64_t sampler_epoch = 0, sampler_position = 0;
  std::vector<int64_t> easy_pool;  // data records whose group passed every sample
  uint64_t next_launch_seq = 1;
  std::vector<int64_t> pending_records;  // in take order
  // The ledger's totals when saved, for people reading the file (not restored).
  int64_t ledger_taken = 0, ledger_trained = 0, ledger_dropped = 0;

  // The file's JSON ({"step": ..., "ledger": {"taken": ...}, ...}), indented by one space.
  std::string ToJson() const;
  // Fails (DATA_LOSS) on text that is not JSON, (INVALID_ARGUMENT) on a missing or mistyped
  // field, naming it.
  static absl::StatusOr<SchedulerState> FromJson(std::string_view text);
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_SCHEDULER_STATE_H_
