// What the scheduler needs to resume a run where its last committed step left it: the step,
// the prompt sampler's place, the easy pool, the prompts taken but not yet trained or dropped
// (taken again first, under their own uids), and the ledger's totals, which a resumed run
// goes on counting from. It travels with every TrainStep as the step's commit state and is
// kept in the learner's checkpoint of that step (scheduler/run_journal.h, NOTE [step
// commit]); RUN_DIR/scheduler_state.json holds a copy of the latest for people to read.
#ifndef SEAMLESS_SCHEDULER_SCHEDULER_STATE_H_
#define SEAMLESS_SCHEDULER_SCHEDULER_STATE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "scheduler/ledger.h"

namespace seamless {

struct PendingPrompt {
  std::string uid;
  int64_t record = 0;
  bool from_easy_pool = false;
  bool operator==(const PendingPrompt& o) const {
    return uid == o.uid && record == o.record && from_easy_pool == o.from_easy_pool;
  }
};

struct SchedulerState {
  int64_t step = 0;  // steps committed
  int64_t policy_version = 0;
  int64_t sampler_epoch = 0, sampler_position = 0;
  std::vector<int64_t> easy_pool;  // data records whose group passed every sample
  int64_t easy_takes = 0;          // takes from the pool so far (their uids count on)
  uint64_t next_launch_seq = 1;
  std::vector<PendingPrompt> pending;  // in take order
  // The ledger's totals, pending prompts included (the queued..complete counts are not kept:
  // the pending prompts are queued again).
  LedgerSummary ledger;

  // The JSON ({"step": ..., "pending": [...], "ledger": {"taken": ...}, ...}), indented by one
  // space.
  std::string ToJson() const;
  // Fails (DATA_LOSS) on text that is not JSON, (INVALID_ARGUMENT) on a missing or mistyped
  // field, naming it.
  static absl::StatusOr<SchedulerState> FromJson(std::string_view text);
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_SCHEDULER_STATE_H_
