#include "rollout/load_weights_reactor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/service/grpc_status.h"
#include "proto/rollout.grpc.pb.h"

namespace seamless {

LoadWeightsReactor::LoadWeightsReactor(RolloutEngine* engine, std::function<void(bool)> loading,
                                       grpc::ByteBuffer* response)
    : engine_(engine), loading_(std::move(loading)), response_(response) {
  loading_(true);
  assembler_.Reuse(engine_->TakeSpareWeights());  // the last version's buffers, if free
  // The CPU float32 parameters are decoded straight into the spare set and swapped in.
  staged_ = engine_->TakeStagedParameters();
  assembler_.DecodeInto(staged_->Targets());
  {
    absl::MutexLock lock(&mu_);
    reading_ = true;
  }
  StartRead(&incoming_);
  decoder_ = std::thread([this] { DecodeLoop(); });
}

void LoadWeightsReactor::OnReadDone(bool ok) {
  bool read_more = false;
  {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (failed_) return;  // already answered; OnDone follows
    if (!ok) {
      ended_ = true;
      return;
    }
    queue_.push_back(std::move(incoming_));
    incoming_.Clear();
    read_more = queue_.size() < kQueuedMessages;
    reading_ = read_more;
  }
  if (read_more) StartRead(&incoming_);
}

std::optional<grpc::ByteBuffer> LoadWeightsReactor::NextMessage() {
  bool read_more = false;
  std::optional<grpc::ByteBuffer> message;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &LoadWeightsReactor::MessageOrEnd));
    if (queue_.empty()) return std::nullopt;  // ended
    message = std::move(queue_.front());
    queue_.pop_front();
    read_more = !reading_ && !ended_;
    reading_ = reading_ || read_more;
  }
  if (read_more) StartRead(&incoming_);
  return message;
}

void LoadWeightsReactor::DecodeLoop() {
  while (std::optional<grpc::ByteBuffer> message = NextMessage()) {
    absl::Status added = Decode(*message);
    if (!added.ok()) {
      // Stop reading; the old version keeps serving.
      Done(absl::InvalidArgumentError(absl::StrCat("weight stream rejected: ", added.message())));
      return;
    }
  }
  FinishStream();
}

absl::Status LoadWeightsReactor::Decode(grpc::ByteBuffer& message) {
  slices_.clear();
  if (!message.Dump(&slices_).ok()) return absl::InternalError("reading a message failed");
  pieces_.clear();
  for (const grpc::Slice& s : slices_) {
    pieces_.emplace_back(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  absl::Status added = assembler_.AddSerialized(pieces_);
  slices_.clear();
  return added;
}

void LoadWeightsReactor::FinishStream() {
  absl::StatusOr<RawTensorMap> tensors = assembler_.Finish();
  if (!tensors.ok()) {
    Done(absl::InvalidArgumentError(
        absl::StrCat("incomplete weight stream: ", tensors.status().message())));
    return;
  }
  const int64_t version = assembler_.version();
  StagedParameters staged = std::move(*staged_);
  staged_.reset();
  engine_->LoadWeights(
      std::move(*tensors), std::move(staged), assembler_.decoded(), version,
      [this](absl::Status status, int64_t v) {
        LoadWeightsResponse response;
        response.set_version(v);
        bool own = false;
        if (status.ok() &&
            !grpc::SerializationTraits<LoadWeightsResponse>::Serialize(response, response_, &own)
                 .ok()) {
          status = absl::InternalError("serializing the LoadWeights response failed");
        }
        Done(status);
      });
}

void LoadWeightsReactor::Done(const absl::Status& status) {
  if (staged_) {  // the stream failed: the buffers go back unused
    engine_->KeepStagedParameters(std::move(*staged_));
    staged_.reset();
  }
  {
    absl::MutexLock lock(&mu_);
    failed_ = !status.ok();
  }
  loading_(false);
  // An outstanding read still completes (OnReadDone, which sees failed_) before OnDone.
  Finish(ToGrpcStatus(status));
}

void LoadWeightsReactor::OnDone() {
  // Finish may run OnDone on the decoder thread itself (an error it answered).
  if (decoder_.get_id() == std::this_thread::get_id()) {
    decoder_.detach();
  } else {
    decoder_.join();
  }
  delete this;
}

}  // namespace seamless
