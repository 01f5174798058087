// Weights on the wire: a RawTensorMap as a stream of WeightsMessage (proto/common.proto) —
// begin, chunks of at most kMaxChunkBytes, end with totals and a checksum — and the receiving
// side that reassembles and verifies it. Every message stays far below gRPC's 4 MiB default.
// A stream that is cut off, reordered or inconsistent is rejected as a whole, so a receiver
// keeps serving its old version.
#ifndef SEAMLESS_CORE_TENSORS_WEIGHT_STREAM_H_
#define SEAMLESS_CORE_TENSORS_WEIGHT_STREAM_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/tensors/raw_tensor.h"
#include "proto/common.pb.h"

namespace seamless {

constexpr size_t kMaxChunkBytes = 1 << 20;

// Calls `send` for every message of the stream, in order; stops at the first error `send`
// returns (a closed stream, say).
absl::Status StreamWeights(const RawTensorMap& tensors, int64_t version,
                           const std::function<absl::Status(const WeightsMessage&)>& send,
                           size_t max_chunk_bytes = kMaxChunkBytes);

class WeightAssembler {
 public:
  // Feeds the next message. An error means the stream is unusable.
  absl::Status Add(const WeightsMessage& message);
  // The tensors, once the end message has arrived and every check passed.
  absl::StatusOr<RawTensorMap> Finish();
  int64_t version() const { return version_; }

 private:
  bool begun_ = false, ended_ = false;
  int64_t version_ = -1;
  WeightStreamInfo begin_;
  RawTensorMap tensors_;
  std::string current_;  // tensor receiving chunks
  uint64_t bytes_ = 0;
  uint64_t checksum_ = 0xcbf29ce484222325ull;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_TENSORS_WEIGHT_STREAM_H_
