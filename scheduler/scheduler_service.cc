#include "scheduler/scheduler_service.h"

namespace seamless {

void FillLedgerCounts(const LedgerSummary& s, LedgerCounts* out) {
  out->set_queued(s.queued);
  out->set_generating(s.generating);
  out->set_scoring(s.scoring);
  out->set_complete(s.complete);
  out->set_dropped(s.dropped);
  out->set_trained(s.trained);
  for (const auto& [reason, n] : s.dropped_by_reason)
    (*out->mutable_dropped_by_reason())[reason] = n;
}

grpc::ServerUnaryReactor* SchedulerGrpcService::GetRunStatus(grpc::CallbackServerContext* context,
                                                             const RunStatusRequest*,
                                                             RunStatus* response) {
  RunSnapshot s = orchestrator_->Snapshot();
  response->set_step(s.step);
  response->set_policy_version(s.policy_version);
  FillLedgerCounts(s.ledger, response->mutable_ledger());
  response->set_rollout_tokens_per_second(s.rollout_tokens_per_second);
  response->set_idle_fraction(s.idle_fraction);
  response->set_state(s.state);
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* SchedulerGrpcService::GetLedger(grpc::CallbackServerContext* context,
                                                          const RunStatusRequest*,
                                                          LedgerCounts* response) {
  FillLedgerCounts(orchestrator_->Snapshot().ledger, response);
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace seamless
