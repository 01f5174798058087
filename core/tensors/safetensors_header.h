// Reading only the headers of safetensors files: names, dtypes and shapes without the data,
// for checks on checkpoints too large to read whole (a 7B model is 15 GB in bf16).
#ifndef SEAMLESS_CORE_TENSORS_SAFETENSORS_HEADER_H_
#define SEAMLESS_CORE_TENSORS_SAFETENSORS_HEADER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensors/safetensors_writer.h"

namespace seamless {

// The tensors of one file, in header order. Checks the header's own consistency (length,
// dtypes, shapes, data_offsets matching shape and dtype, within the file's size), not the data.
absl::StatusOr<std::vector<TensorEntry>> ReadSafetensorsFileHeader(const std::string& path);

// The tensors of `dir/model.safetensors` or of every shard in model.safetensors.index.json.
absl::StatusOr<std::vector<TensorEntry>> ReadSafetensorsDirHeaders(const std::string& dir);

}  // namespace seamless

#endif  // SEAMLESS_CORE_TENSORS_SAFETENSORS_HEADER_H_
