// SchedulerService (proto/scheduler.proto): the run's status and the ledger's counts, for
// dashboards, probes and `seamless train`'s progress.
#ifndef SEAMLESS_SCHEDULER_SCHEDULER_SERVICE_H_
#define SEAMLESS_SCHEDULER_SCHEDULER_SERVICE_H_

#include "proto/scheduler.grpc.pb.h"
#include "scheduler/orchestrator.h"

namespace seamless {

class SchedulerGrpcService final : public SchedulerService::CallbackService {
 public:
  explicit SchedulerGrpcService(const Orchestrator* orchestrator) : orchestrator_(orchestrator) {}
  grpc::ServerUnaryReactor* GetRunStatus(grpc::CallbackServerContext* context,
                                         const RunStatusRequest* request,
                                         RunStatus* response) override;
  grpc::ServerUnaryReactor* GetLedger(grpc::CallbackServerContext* context,
                                      const RunStatusRequest* request,
                                      LedgerCounts* response) override;

 private:
  const Orchestrator* orchestrator_;
};

void FillLedgerCounts(const LedgerSummary& summary, LedgerCounts* out);

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_SCHEDULER_SERVICE_H_
