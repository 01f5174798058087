// Writes a randomly initialised model directory of any size without building the model: the
// parameters (parameter_layout.h) are generated and streamed to disk one chunk at a time
// (safetensors_writer.h), so memory stays at a few chunks even for a 7B model.
#ifndef SEAMLESS_CORE_MODEL_RANDOM_MODEL_WRITER_H_
#define SEAMLESS_CORE_MODEL_RANDOM_MODEL_WRITER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "core/model/model_config.h"
#include "core/tensors/dtype.h"

namespace seamless {

struct RandomModelOptions {
  DType dtype = DType::kBF16;  // F32, BF16 or F16 in the files
  uint64_t seed = 0;
  double stddev = 0.02;                   // HF's initializer_range for the matrices
  uint64_t max_shard_bytes = 5ull << 30;  // shards past this, with model.safetensors.index.json
  // Called after each tensor with its name, the bytes written so far and the total bytes.
  std::function<void(const std::string& name, uint64_t done, uint64_t total)> progress;
};

// Writes `dir`/config.json (torch_dtype set to the file dtype) and the safetensors of a model
// of `config` initialised as MimoModel::InitializeWeights does in distribution (normal(0,
// stddev) matrices, zero biases, unit norms), not in values: each chunk of 4Mi elements draws
// from its own generator seeded by (seed, tensor name, chunk index), so the weights depend on
// the seed alone, not on the shard size or the order of writing. LoadModelDir reads the result.
absl::Status WriteRandomModelDir(const ModelConfig& config, const std::string& dir,
                                 const RandomModelOptions& options);

// Bytes WriteRandomModelDir writes for the tensors (not counting headers).
uint64_t RandomModelBytes(const ModelConfig& config, DType dtype);

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_RANDOM_MODEL_WRITER_H_
