// Writing safetensors files tensor by tensor: the header is computed from names, dtypes and
// shapes alone, then each tensor's bytes are asked for in turn and streamed to disk, so a
// model far larger than memory can be written (`seamless init-model --like mimo-7b`).
#ifndef SEAMLESS_CORE_TENSORS_SAFETENSORS_WRITER_H_
#define SEAMLESS_CORE_TENSORS_SAFETENSORS_WRITER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/tensors/dtype.h"

namespace seamless {

// A tensor whose bytes are not held: what a header needs.
struct TensorEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;

  uint64_t NumElements() const;
  uint64_t Bytes() const { return NumElements() * DTypeSize(dtype); }
};

// Appends bytes to the tensor being written; may be called any number of times.
using ByteSink = std::function<absl::Status(const char* data, size_t size)>;
// Produces exactly entry.Bytes() bytes of `entry` (row-major, little-endian) into `sink`. It is
// called once per tensor, in name order. A different byte count is an error naming the tensor.
using TensorFiller = std::function<absl::Status(const TensorEntry& entry, const ByteSink& sink)>;

// Writes what WriteSafetensorsDir (safetensors.h) writes for the same tensors, byte for byte
// (model.safetensors, or model-0000K-of-0000N.safetensors shards past `max_shard_bytes` plus
// model.safetensors.index.json), holding only a write buffer. Each file appears atomically
// (written to a temporary name, fsynced, renamed). Names must be unique.
absl::Status WriteSafetensorsDirStreaming(const std::string& dir, std::vector<TensorEntry> entries,
                                          const TensorFiller& fill,
                                          uint64_t max_shard_bytes = 5ull << 30);

// One safetensors file at `path` (atomically, fsynced), tensors in name order.
absl::Status WriteSafetensorsFileStreaming(const std::string& path,
                                           std::vector<TensorEntry> entries,
                                           const TensorFiller& fill);

}  // namespace seamless

#endif  // SEAMLESS_CORE_TENSORS_SAFETENSORS_WRITER_H_
