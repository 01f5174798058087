// One RolloutService.LoadWeights stream: serialized WeightsMessage chunks in, decoded into the
// engine's staged parameters, swapped in once the stream has ended and verified.
//
// NOTE [weight stream pipelining]
//   Reading a chunk off the connection (gRPC's thread: the kernel's copy out of the socket,
//   HTTP/2 framing) and decoding it (this reactor's decoder thread: BF16 -> F32 into the
//   staged tensor, checksummed) are each about as costly as the sender's conversion. Done in
//   one reaction, they would be serial, and the receiver would set the pace of every push at
//   about their sum. So a reaction only queues the message and starts the next read, and a
//   thread of its own decodes the queue; at most kQueuedMessages wait (8 MiB), after which the
//   next read starts only once the decoder has taken one (back-pressure reaches the sender
//   through HTTP/2 flow control).
#ifndef SEAMLESS_ROLLOUT_LOAD_WEIGHTS_REACTOR_H_
#define SEAMLESS_ROLLOUT_LOAD_WEIGHTS_REACTOR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "core/tensors/weight_stream.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "rollout/rollout_engine.h"

namespace seamless {

class LoadWeightsReactor : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  static constexpr size_t kQueuedMessages = 8;

  // `loading(true)` is called now, `loading(false)` once the stream has been answered.
  LoadWeightsReactor(RolloutEngine* engine, std::function<void(bool)> loading,
                     grpc::ByteBuffer* response);

  void OnReadDone(bool ok) override;
  void OnDone() override;

 private:
  // The decoder thread: messages from the queue into the assembler until the stream ends
  // (then the weights go to the engine) or a message is rejected.
  void DecodeLoop();
  // The next message to decode; nullopt once the stream has ended and every message is taken.
  // Starts the next read where the full queue held it back.
  std::optional<grpc::ByteBuffer> NextMessage() ABSL_LOCKS_EXCLUDED(mu_);
  // Feeds one message to the assembler: its slices (shared, not copied) are parsed in place.
  absl::Status Decode(grpc::ByteBuffer& message);
  // The stream ended: verifies it and hands the weights to the engine, which answers.
  void FinishStream();
  void Done(const absl::Status& status);
  bool MessageOrEnd() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || ended_; }

  RolloutEngine* const engine_;
  const std::function<void(bool)> loading_;
  grpc::ByteBuffer* const response_;
  absl::Mutex mu_;
  grpc::ByteBuffer incoming_ ABSL_GUARDED_BY(mu_);  // the outstanding read's
  bool reading_ ABSL_GUARDED_BY(mu_) = false;       // a read is outstanding
  bool ended_ ABSL_GUARDED_BY(mu_) = false;         // the client half-closed
  bool failed_ ABSL_GUARDED_BY(mu_) = false;        // answered with an error: stop reading
  std::deque<grpc::ByteBuffer> queue_ ABSL_GUARDED_BY(mu_);
  // Only the decoder thread touches these.
  std::vector<grpc::Slice> slices_;
  std::vector<absl::string_view> pieces_;
  WeightAssembler assembler_;
  std::optional<StagedParameters> staged_;  // decoded into, until handed to the engine
  std::thread decoder_;
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_LOAD_WEIGHTS_REACTOR_H_
