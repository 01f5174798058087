#include "scheduler/ledger.h"

#include "absl/strings/str_cat.h"

namespace seamless {

namespace {
// Each state's name and the summary field that counts the prompts in it.
struct PromptStateRow {
  PromptState state;
  const char* name;
  int64_t LedgerSummary::*count;
};
constexpr PromptStateRow kPromptStates[] = {
    {PromptState::kQueued, "queued", &LedgerSummary::queued},
    {PromptState::kGenerating, "generating", &LedgerSummary::generating},
    {PromptState::kScoring, "scoring", &LedgerSummary::scoring},
    {PromptState::kComplete, "complete", &LedgerSummary::complete},
    {PromptState::kDropped, "dropped", &LedgerSummary::dropped},
    {PromptState::kTrained, "trained", &LedgerSummary::trained},
};

int64_t& Count(LedgerSummary& s, PromptState state) {
  for (const PromptStateRow& row : kPromptStates) {
    if (row.state == state) return s.*row.count;
  }
  return s.queued;
}
}  // namespace

const char* PromptStateName(PromptState state) {
  for (const PromptStateRow& row : kPromptStates) {
    if (row.state == state) return row.name;
  }
  return "?";
}

std::string Ledger::Take(int64_t record, bool from_easy_pool, const std::string& uid) {
  LedgerEntry entry;
  entry.uid = uid;
  entry.record = record;
  entry.from_easy_pool = from_easy_pool;
  entries_[uid] = entry;
  order_.push_back(uid);
  ++summary_.taken;
  if (from_easy_pool) ++summary_.taken_from_easy_pool;
  ++summary_.queued;
  return uid;
}

absl::Status Ledger::Move(const std::string& uid, std::initializer_list<PromptState> from,
                          PromptState to, LedgerEntry** out) {
  auto it = entries_.find(uid);
  if (it == entries_.end())
    return absl::InternalError(absl::StrCat("ledger: unknown prompt ", uid));
  LedgerEntry& e = it->second;
  bool allowed = false;
  for (PromptState s : from) allowed |= e.state == s;
  if (!allowed) {
    return absl::InternalError(absl::StrCat("ledger: prompt ", uid, " cannot go from ",
                                            PromptStateName(e.state), " to ", PromptStateName(to)));
  }
  --Count(summary_, e.state);
  e.state = to;
  ++Count(summary_, to);
  if (out) *out = &e;
  return absl::OkStatus();
}

absl::Status Ledger::Launch(const std::string& uid, const std::string& group_id, int worker,
                            uint64_t launch_seq, int64_t version,
                            std::chrono::steady_clock::time_point lease_expiry) {
  LedgerEntry* e = nullptr;
  absl::Status moved = Move(uid, {PromptState::kQueued}, PromptState::kGenerating, &e);
  if (!moved.ok()) return moved;
  ++e->launches;
  e->group_id = group_id;
  e->worker = worker;
  e->launch_seq = launch_seq;
  e->version = version;
  e->lease_expiry = lease_expiry;
  return absl::OkStatus();
}

absl::Status Ledger::StartScoring(const std::string& uid) {
  return Move(uid, {PromptState::kGenerating}, PromptState::kScoring, nullptr);
}

absl::Status Ledger::Complete(const std::string& uid) {
  return Move(uid, {PromptState::kScoring}, PromptState::kComplete, nullptr);
}

absl::Status Ledger::Drop(const std::string& uid, const std::string& reason) {
  LedgerEntry* e = nullptr;
  absl::Status moved = Move(uid,
                            {PromptState::kQueued, PromptState::kGenerating, PromptState::kScoring,
                             PromptState::kComplete},
                            PromptState::kDropped, &e);
  if (!moved.ok()) return moved;
  e->drop_reason = reason;
  e->worker = -1;
  ++summary_.dropped_by_reason[reason];
  return absl::OkStatus();
}

absl::Status Ledger::Trained(const std::string& uid, int64_t step) {
  LedgerEntry* e = nullptr;
  absl::Status moved = Move(uid, {PromptState::kComplete}, PromptState::kTrained, &e);
  if (!moved.ok()) return moved;
  e->trained_step = step;
  return absl::OkStatus();
}

absl::Status Ledger::Requeue(const std::string& uid, const std::string& reason) {
  LedgerEntry* e = nullptr;
  absl::Status moved =
      Move(uid, {PromptState::kGenerating, PromptState::kScoring}, PromptState::kQueued, &e);
  if (!moved.ok()) return moved;
  e->worker = -1;
  ++summary_.requeues;
  ++summary_.requeued_by_reason[reason];
  return absl::OkStatus();
}

const LedgerEntry* Ledger::Find(const std::string& uid) const {
  auto it = entries_.find(uid);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::string> Ledger::ExpiredLeases(std::chrono::steady_clock::time_point now) const {
  std::vector<std::string> out;
  for (const auto& uid : order_) {
    const LedgerEntry& e = entries_.at(uid);
    if (e.state == PromptState::kGenerating && e.lease_expiry < now) out.push_back(uid);
  }
  return out;
}

std::vector<const LedgerEntry*> Ledger::Pending() const {
  std::vector<const LedgerEntry*> out;
  for (const auto& uid : order_) {
    const LedgerEntry& e = entries_.at(uid);
    if (e.state != PromptState::kTrained && e.state != PromptState::kDropped) out.push_back(&e);
  }
  return out;
}

LedgerSummary Ledger::Summary() const {
  LedgerSummary s = summary_;
  s.taken += closed_.taken;
  s.taken_from_easy_pool += closed_.taken_from_easy_pool;
  s.trained += closed_.trained;
  s.dropped += closed_.dropped;
  s.requeues += closed_.requeues;
  for (const auto& [reason, n] : closed_.dropped_by_reason) s.dropped_by_reason[reason] += n;
  for (const auto& [reason, n] : closed_.requeued_by_reason) s.requeued_by_reason[reason] += n;
  return s;
}

absl::Status Ledger::CheckBalanced() const {
  const LedgerSummary& s = summary_;
  const int64_t accounted =
      s.queued + s.generating + s.scoring + s.complete + s.dropped + s.trained;
  if (accounted != s.taken) {
    return absl::InternalError(absl::StrCat("ledger out of balance: taken ", s.taken, " but ",
                                            accounted, " accounted for"));
  }
  LedgerSummary recount;
  for (const auto& [uid, e] : entries_) ++Count(recount, e.state);
  if (recount.queued != s.queued || recount.generating != s.generating ||
      recount.scoring != s.scoring || recount.complete != s.complete ||
      recount.dropped != s.dropped || recount.trained != s.trained) {
    return absl::InternalError("ledger counters disagree with its entries");
  }
  return absl::OkStatus();
}

}  // namespace seamless
