// Weights on the wire: a WeightSource (or a RawTensorMap) as a stream of WeightsMessage
// (proto/common.proto) — begin, chunks of at most kMaxChunkBytes, end with totals and a
// checksum — and the receiving side that reassembles and verifies it. Every message stays far
// below gRPC's 4 MiB default.
//
// NOTE [weight stream checksum]: the sender does not know the checksum until it has read every
// tensor, so the begin message carries the version, tensor count and total bytes but checksum
// 0; only the end message carries the checksum. The receiver checks nothing but the version of
// the begin message: the end message's version, tensor count, total bytes and checksum are
// what it compares with what arrived (begin's total bytes only bounds how much it reserves).
// The checksum chains Hash64 over the stream in order:
//   c = 0;  for each tensor: c = Hash64(name, c);  for each of its chunks: c = Hash64(data, c)
// so both sides hash exactly the chunks they send and receive, at memory speed, as they pass.
//
// A stream that is cut off, reordered or inconsistent is rejected as a whole, so a receiver
// keeps serving its old version.
#ifndef SEAMLESS_CORE_TENSORS_WEIGHT_STREAM_H_
#define SEAMLESS_CORE_TENSORS_WEIGHT_STREAM_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/tensors/float_decoder.h"
#include "core/tensors/raw_tensor.h"
#include "core/tensors/weight_source.h"
#include "proto/common.pb.h"

namespace seamless {

constexpr size_t kMaxChunkBytes = 1 << 20;

// A 64-bit checksum of `bytes` chained from `seed`, word at a time at memory speed: 64-bit
// little-endian words go round-robin into four lanes, each keeping Fletcher's two sums
// (a += word; b += a: any changed word changes a, any moved word changes b); the tail is one
// zero-padded word per lane; the eight sums, the seed and the length are then mixed and
// avalanched with xxHash64's constants. Detects corruption, truncation and reordering; it is
// not meant to resist a forger.
uint64_t Hash64(absl::string_view bytes, uint64_t seed = 0);

// Hash64 over bytes that arrive in parts: Update(p1, n1), Update(p2, n2), ... then Finish()
// is Hash64 of their concatenation.
class Hash64State {
 public:
  explicit Hash64State(uint64_t seed = 0);
  void Update(const char* p, size_t n);
  uint64_t Finish() const;

 private:
  void Stripes(const char* p, size_t stripes);  // whole 32-byte stripes
  uint64_t a_[4], b_[4];
  uint64_t seed_;
  uint64_t len_ = 0;
  char partial_[32];  // bytes of a stripe not yet complete
  size_t partial_len_ = 0;
};

// Copies n bytes from src to dst and feeds them to `state`, in one pass over src.
void CopyAndHash(char* dst, const char* src, size_t n, Hash64State* state);

// Receives the stream's messages in order; it may move from the message. An error stops the
// stream (a closed connection, say) and is returned.
using WeightsSend = std::function<absl::Status(WeightsMessage&&)>;

// Reads every tensor of `source` once, in order, and calls `send` for every message of the
// stream. A chunk is a slice of one piece the source produced (never spans two), at most
// `max_chunk_bytes`; an empty tensor still gets one (empty) chunk. A source that produces
// more or fewer bytes than its spec is an error and the end message is not sent.
absl::Status StreamWeights(WeightSource& source, int64_t version, const WeightsSend& send,
                           size_t max_chunk_bytes = kMaxChunkBytes);
// The same over a map (via RawTensorMapSource).
absl::Status StreamWeights(const RawTensorMap& tensors, int64_t version, const WeightsSend& send,
                           size_t max_chunk_bytes = kMaxChunkBytes);

// Where a stream of serialized messages goes (a transport that sends byte buffers, such as
// gRPC slices): each message is written into a buffer the sink allocates, then sent.
class SerializedWeightsSink {
 public:
  virtual ~SerializedWeightsSink() = default;
  // A buffer of `size` bytes for the next message (null: out of memory).
  virtual char* Allocate(size_t size) = 0;
  // Sends the message just written into the buffer of the last Allocate.
  virtual absl::Status Send() = 0;
};

// The same stream, each message serialized straight into the sink's buffer: a chunk's bytes
// are copied once, from the source's piece into the buffer, instead of into a message and
// again into the wire format.
absl::Status StreamSerializedWeights(WeightSource& source, int64_t version,
                                     SerializedWeightsSink& sink,
                                     size_t max_chunk_bytes = kMaxChunkBytes);

class WeightAssembler {
 public:
  // Buffers of an earlier stream to assemble into: a tensor of the same name takes over its
  // old bytes' capacity, so a receiver of version after version reuses memory it has already
  // touched instead of faulting in fresh pages. Call before the first Add.
  void Reuse(RawTensorMap spare) { spare_ = std::move(spare); }
  // Tensors named here that arrive as F32 or BF16 are decoded into their float32 targets as
  // their chunks arrive, instead of kept as bytes (a receiver's spare parameters: one pass
  // over the bytes, no second copy). Their shapes must be the targets'. Finish's
  // map leaves them out; decoded() names them. Call before the first Add.
  void DecodeInto(DecodeTargets targets) { targets_ = std::move(targets); }
  const std::set<std::string>& decoded() const { return decoded_; }
  // Feeds the next message. An error means the stream is unusable.
  absl::Status Add(const WeightsMessage& message);
  // The same for a serialized message given as consecutive pieces (a gRPC byte buffer's
  // slices): a chunk whose data field comes last (as every protobuf serializer and
  // StreamSerializedWeights write it) is copied once, from the pieces straight into its
  // tensor; any other message is parsed and fed to Add.
  absl::Status AddSerialized(absl::Span<const absl::string_view> pieces);
  // The tensors, once the end message has arrived and every check passed. Each tensor's
  // bytes were reserved once, at its first chunk, and appended to in place.
  absl::StatusOr<RawTensorMap> Finish();
  int64_t version() const { return version_; }

 private:
  // Where a chunk's bytes go: appended to the tensor's bytes, or decoded into its target.
  struct Destination {
    RawTensor* raw = nullptr;
    FloatDecoder* decoder = nullptr;
    uint64_t received() const { return decoder ? decoder->bytes() : raw->data.size(); }
    void Append(const char* p, size_t n);
  };
  // Checks a chunk of `size` bytes against the stream so far and returns its destination,
  // which the caller appends the bytes to and then calls ChunkAppended.
  absl::StatusOr<Destination> StartChunk(const std::string& name, const std::string& dtype_name,
                                         absl::Span<const int64_t> shape, uint64_t byte_offset,
                                         uint64_t size);
  // A new tensor's entry: its bytes reserved, or a decoder into its target.
  absl::Status StartTensor(const std::string& name, RawTensor t);
  // The chunk's `size` bytes are appended; `checksum` is the stream's checksum after them.
  void ChunkAppended(uint64_t size, uint64_t checksum);

  bool begun_ = false, ended_ = false;
  int64_t version_ = -1;
  WeightStreamInfo begin_;
  RawTensorMap tensors_;
  RawTensorMap spare_;                            // Reuse()
  DecodeTargets targets_;                         // DecodeInto()
  std::map<std::string, FloatDecoder> decoders_;  // the decoded tensors' (no bytes in tensors_)
  std::set<std::string> decoded_;
  std::string current_;  // tensor receiving chunks
  uint64_t bytes_ = 0;
  uint64_t checksum_ = 0;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_TENSORS_WEIGHT_STREAM_H_
