// Hugging Face safetensors files: one file, or a directory of shards described by
// model.safetensors.index.json. Format: 8-byte little-endian header length N, N bytes of JSON
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}), then the data.
//
// Readers validate everything a file could lie about (header length, offsets, byte counts,
// overlaps, dtypes, shapes) and name the file and tensor in every error.
#ifndef SEAMLESS_CORE_TENSORS_SAFETENSORS_H_
#define SEAMLESS_CORE_TENSORS_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tensors/raw_tensor.h"

namespace seamless {

using SafetensorsMetadata = std::map<std::string, std::string>;

// The longest header a file may have (the reference implementation's limit).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100 << 20;

// Where each tensor of a file lies, from its header; validated against the file's size.
struct SafetensorsLayout {
  struct Slot {
    DType dtype = DType::kF32;
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;  // data_offsets: bytes from data_start
  };
  std::map<std::string, Slot> slots;
  uint64_t data_start = 0;  // 8 + the header's length
  SafetensorsMetadata metadata;
};
// `prefix`: the file's first bytes, the 8-byte length and the whole header at least (all of
// it will do); `file_size`: the whole file's. `file` names it in errors.
absl::StatusOr<SafetensorsLayout> ParseSafetensorsLayout(absl::string_view prefix,
                                                         uint64_t file_size,
                                                         const std::string& file);

// Parses a whole file held in memory; `file` names it in errors.
absl::StatusOr<RawTensorMap> ParseSafetensors(const std::string& bytes, const std::string& file,
                                              SafetensorsMetadata* metadata = nullptr);
absl::StatusOr<RawTensorMap> ReadSafetensorsFile(const std::string& path,
                                                 SafetensorsMetadata* metadata = nullptr);

// Serialises tensors in name order with the header padded to 8 bytes, as the reference writer
// does. The same tensors always give the same bytes.
std::string SerializeSafetensors(const RawTensorMap& tensors,
                                 const SafetensorsMetadata& metadata = {{"format", "pt"}});
absl::Status WriteSafetensorsFile(const std::string& path, const RawTensorMap& tensors,
                                  const SafetensorsMetadata& metadata = {{"format", "pt"}});

// Reads `dir/model.safetensors`, or every shard listed in `dir/model.safetensors.index.json`.
absl::StatusOr<RawTensorMap> ReadSafetensorsDir(const std::string& dir);

// Writes `dir/model.safetensors` when everything fits in `max_shard_bytes`, else shards
// `model-0000K-of-0000N.safetensors` plus the index, as `save_pretrained` does.
absl::Status WriteSafetensorsDir(const std::string& dir, const RawTensorMap& tensors,
                                 uint64_t max_shard_bytes = 5ull << 30);

}  // namespace seamless

#endif  // SEAMLESS_CORE_TENSORS_SAFETENSORS_H_
