// The scheduler's exact account of every prompt it took: from the data (or the easy pool) to
// trained or dropped, never lost and never trained twice.
//
//   queued ──launch──► generating ──all samples back──► scoring ──all scored──► complete
//     ▲                     │                                                     │
//     └──── requeue ────────┘ (worker died, lease expired, early termination)    ├─► trained
//                                                                                └─►
//                                                                                dropped(reason)
#ifndef SEAMLESS_SCHEDULER_LEDGER_H_
#define SEAMLESS_SCHEDULER_LEDGER_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"

namespace seamless {

enum class PromptState { kQueued, kGenerating, kScoring, kComplete, kDropped, kTrained };
const char* PromptStateName(PromptState state);

struct LedgerEntry {
  std::string uid;     // unique per take: "d<epoch>.<index>" or "e<n>.<index>"
  int64_t record = 0;  // index into the prompt data
  bool from_easy_pool = false;
  PromptState state = PromptState::kQueued;
  int64_t launches = 0;
  std::string group_id;  // the current (or last) launch
  int worker = -1;       // lease holder while generating
  std::chrono::steady_clock::time_point lease_expiry;
  int64_t version = 0;  // policy version at the last launch
  uint64_t launch_seq = 0;
  std::string drop_reason;
  int64_t trained_step = -1;
};

struct LedgerSummary {
  int64_t taken = 0;  // takes from the data and from the easy pool
  int64_t taken_from_easy_pool = 0;
  int64_t queued = 0, generating = 0, scoring = 0, complete = 0, dropped = 0, trained = 0;
  int64_t requeues = 0;
  std::map<std::string, int64_t> dropped_by_reason;
  std::map<std::string, int64_t> requeued_by_reason;
};

class Ledger {
 public:
  // A new take of data record `record`; returns its uid.
  std::string Take(int64_t record, bool from_easy_pool, const std::string& uid);
  // Every transition checks the current state and fails (INTERNAL, naming the uid and the
  // states) rather than corrupt the account.
  absl::Status Launch(const std::string& uid, const std::string& group_id, int worker,
                      uint64_t launch_seq, int64_t version,
                      std::chrono::steady_clock::time_point lease_expiry);
  absl::Status StartScoring(const std::string& uid);
  absl::Status Complete(const std::string& uid);
  absl::Status Drop(const std::string& uid, const std::string& reason);
  absl::Status Trained(const std::string& uid, int64_t step);
  // Back to queued from generating or scoring.
  absl::Status Requeue(const std::string& uid, const std::string& reason);

  const LedgerEntry* Find(const std::string& uid) const;
  // Generating entries whose lease expired at `now`.
  std::vector<std::string> ExpiredLeases(std::chrono::steady_clock::time_point now) const;
  // Entries not yet trained or dropped (for a resumable state file).
  std::vector<const LedgerEntry*> Pending() const;

  // Totals of the run before a resume: prompts it trained or dropped (they have no entries
  // here), its takes less those still pending (taken again here), its requeues. Summary()
  // counts on from them; CheckBalanced checks the entries of this process.
  void RestoreClosed(const LedgerSummary& closed) { closed_ = closed; }

  LedgerSummary Summary() const;
  // taken == queued + generating + scoring + complete + dropped + trained, and no uid was
  // trained twice (a trained entry cannot move again).
  absl::Status CheckBalanced() const;

 private:
  absl::Status Move(const std::string& uid, std::initializer_list<PromptState> from, PromptState to,
                    LedgerEntry** entry);
  std::unordered_map<std::string, LedgerEntry> entries_;
  std::vector<std::string> order_;  // take order
  LedgerSummary summary_;
  LedgerSummary closed_;  // RestoreClosed
};

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_LEDGER_H_
