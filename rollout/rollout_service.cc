#include "rollout/rollout_service.h"

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/service/grpc_status.h"
#include "rollout/load_weights_reactor.h"
#include "rollout/rollout_proto.h"

namespace seamless {
namespace {

// One Generate stream: any number of groups in, their samples out as each finishes.
// NOTE [stream lifetime]: engine callbacks hold the shared Outbox, never the reactor; the
// reactor detaches itself from the Outbox (under its mutex) in OnDone before it is deleted.
class GenerateReactor : public grpc::ServerBidiReactor<GenerateStreamMessage, Sample> {
 public:
  explicit GenerateReactor(RolloutEngine* engine)
      : engine_(engine), outbox_(std::make_shared<Outbox>()) {
    outbox_->reactor = this;
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed: finish once every sample is written
      absl::MutexLock lock(&outbox_->mu);
      outbox_->reads_done = true;
      outbox_->MaybeFinishLocked();
      return;
    }
    if (incoming_.has_generate()) {
      GroupRequest request = FromProto(incoming_.generate());
      const int32_t samples = request.num_samples;
      const std::string group_id = request.group_id;
      {
        absl::MutexLock lock(&outbox_->mu);
        outbox_->outstanding += samples;
        outbox_->groups.push_back(group_id);
      }
      std::shared_ptr<Outbox> outbox = outbox_;
      absl::Status submitted = engine_->Submit(
          std::move(request), [outbox](RolloutSample sample) { outbox->Push(ToProto(sample)); });
      if (!submitted.ok()) {
        absl::MutexLock lock(&outbox_->mu);
        outbox_->outstanding -= samples;
        outbox_->groups.pop_back();
        outbox_->Fail(ToGrpcStatus(Annotate(submitted, "generate")), engine_);
        return;  // no more reads on a failed stream
      }
    } else if (incoming_.has_abort()) {
      engine_->Abort(FromProto(incoming_.abort()), [](AbortCounts) {});
    }
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&outbox_->mu);
    outbox_->writing = false;
    if (!ok) return;  // cancelled; OnCancel/OnDone clean up
    outbox_->queue.pop_front();
    if (outbox_->failed) {
      outbox_->queue.clear();
      if (!outbox_->finished) {
        outbox_->finished = true;
        Finish(outbox_->failure);
      }
      return;
    }
    outbox_->WriteNextLocked();
    outbox_->MaybeFinishLocked();
  }

  void OnCancel() override {
    // The client went away: stop generating for it.
    AbortSpec spec;
    {
      absl::MutexLock lock(&outbox_->mu);
      spec.group_ids = outbox_->groups;
    }
    if (!spec.group_ids.empty()) engine_->Abort(std::move(spec), [](AbortCounts) {});
    // Finish now: the samples still to come would be written to nobody, and an RPC left
    // unfinished holds the server's shutdown (SIGTERM) forever. A write in flight completes
    // (OnWriteDone) before OnDone; its message lives in the Outbox.
    absl::MutexLock lock(&outbox_->mu);
    if (!outbox_->finished) {
      outbox_->finished = true;
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the stream"));
    }
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&outbox_->mu);
      outbox_->reactor = nullptr;
    }
    delete this;
  }

 private:
  struct Outbox {
    absl::Mutex mu;
    GenerateReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;  // null once the RPC is done
    std::deque<Sample> queue ABSL_GUARDED_BY(mu);  // front() is being written while `writing`
    bool writing ABSL_GUARDED_BY(mu) = false;
    bool reads_done ABSL_GUARDED_BY(mu) = false;
    bool finished ABSL_GUARDED_BY(mu) = false;  // Finish was called
    bool failed ABSL_GUARDED_BY(mu) = false;    // Finish(failure) once the write in flight is done
    grpc::Status failure ABSL_GUARDED_BY(mu);
    int64_t outstanding ABSL_GUARDED_BY(mu) = 0;  // samples submitted and not yet queued here
    std::vector<std::string> groups ABSL_GUARDED_BY(mu);

    void Push(Sample sample) ABSL_LOCKS_EXCLUDED(mu) {
      absl::MutexLock lock(&mu);
      --outstanding;
      if (!reactor || finished || failed) return;
      queue.push_back(std::move(sample));
      WriteNextLocked();
    }
    void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      if (writing || queue.empty() || !reactor || finished) return;
      writing = true;
      reactor->StartWrite(&queue.front());
    }
    void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      if (finished || failed || !reactor || !reads_done || outstanding > 0 || writing ||
          !queue.empty()) {
        return;
      }
      finished = true;
      reactor->Finish(grpc::Status::OK);
    }
    // Ends the stream with `status`, aborting its other groups. The message being written
    // (queue.front() while `writing`) must stay alive until OnWriteDone.
    void Fail(const grpc::Status& status, RolloutEngine* engine) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      if (finished || failed || !reactor) return;
      if (!groups.empty()) {
        AbortSpec spec;
        spec.group_ids = groups;
        engine->Abort(std::move(spec), [](AbortCounts) {});
      }
      failed = true;
      failure = status;
      if (writing) {
        queue.resize(1);
      } else {
        queue.clear();
        finished = true;
        reactor->Finish(status);
      }
    }
  };

  RolloutEngine* engine_;
  std::shared_ptr<Outbox> outbox_;
  GenerateStreamMessage incoming_;
};

}  // namespace

RolloutGrpcService::RolloutGrpcService(RolloutEngine* engine, std::function<void(bool)> set_serving)
    : engine_(engine), set_serving_(std::move(set_serving)) {}

void RolloutGrpcService::WeightsLoading(bool started) {
  const int now = started ? ++loads_in_flight_ : --loads_in_flight_;
  if (!set_serving_) return;
  if (started && now == 1) set_serving_(false);
  if (!started && now == 0) set_serving_(true);
}

grpc::ServerBidiReactor<GenerateStreamMessage, Sample>* RolloutGrpcService::Generate(
    grpc::CallbackServerContext* context) {
  return new GenerateReactor(engine_);
}

grpc::ServerUnaryReactor* RolloutGrpcService::Abort(grpc::CallbackServerContext* context,
                                                    const AbortRequest* request,
                                                    AbortResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  engine_->Abort(FromProto(*request), [reactor, response](AbortCounts counts) {
    response->set_aborted_groups(counts.groups);
    response->set_aborted_requests(counts.samples);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerReadReactor<grpc::ByteBuffer>* RolloutGrpcService::LoadWeights(
    grpc::CallbackServerContext* context, grpc::ByteBuffer* response) {
  return new LoadWeightsReactor(
      engine_, [this](bool started) { WeightsLoading(started); }, response);
}

grpc::ServerUnaryReactor* RolloutGrpcService::Status(grpc::CallbackServerContext* context,
                                                     const RolloutStatusRequest* request,
                                                     RolloutStatus* response) {
  EngineStatus s = engine_->Status();
  response->set_policy_version(s.weight_version);
  response->set_running_sequences(static_cast<int32_t>(s.running));
  response->set_queued_requests(static_cast<int32_t>(s.queued));
  response->set_generated_tokens_total(s.generated_tokens);
  response->set_idle_fraction(s.idle_fraction);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace seamless
