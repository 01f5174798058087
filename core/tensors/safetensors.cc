#include "core/tensors/safetensors.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/file_util.h"
#include "core/base/json_limits.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

using json = nlohmann::json;

constexpr char kIndexFile[] = "model.safetensors.index.json";
constexpr char kSingleFile[] = "model.safetensors";

absl::Status Bad(const std::string& file, const std::string& what) {
  return absl::DataLossError(absl::StrCat(file, ": ", what));
}

struct Span {
  uint64_t begin, end;
  std::string name;
};

}  // namespace

namespace {

// The header's JSON object, after the length and limit checks; `header_len` its length.
absl::StatusOr<json> ReadHeader(absl::string_view prefix, uint64_t file_size,
                                const std::string& file, uint64_t* header_len) {
  if (prefix.size() < 8) {
    return Bad(file, absl::StrCat("truncated: ", file_size,
                                  " bytes, fewer than the 8-byte header length"));
  }
  uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = (len << 8) | static_cast<uint8_t>(prefix[i]);
  if (len > kMaxSafetensorsHeaderBytes) {
    return Bad(file, absl::StrCat("header length ", len, " exceeds the 100 MiB limit"));
  }
  if (len > file_size - 8 || len > prefix.size() - 8) {
    return Bad(file, absl::StrCat("truncated: header says ", len, " bytes but only ", file_size - 8,
                                  " follow"));
  }
  if (absl::Status s = CheckJsonLimits(absl::string_view(prefix.data() + 8, len)); !s.ok()) {
    return Bad(file, std::string(s.message()));
  }
  json header = json::parse(prefix.begin() + 8, prefix.begin() + 8 + len, nullptr,
                            /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    return Bad(file, "header is not a JSON object");
  }
  *header_len = len;
  return header;
}

absl::Status ReadMetadata(const json& entry, const std::string& file,
                          SafetensorsMetadata* metadata) {
  if (!entry.is_object()) return Bad(file, "__metadata__ is not an object");
  for (auto m = entry.begin(); m != entry.end(); ++m) {
    if (!m.value().is_string()) {
      return Bad(file, absl::StrCat("__metadata__.", m.key(), " is not a string"));
    }
    (*metadata)[m.key()] = m.value().get<std::string>();
  }
  return absl::OkStatus();
}

// The slot of tensor `name`: dtype, shape and offsets checked against each other and against
// the `data_size` bytes after the header.
absl::StatusOr<SafetensorsLayout::Slot> ReadSlot(const std::string& name, const json& entry,
                                                 uint64_t data_size, const std::string& file) {
  const std::string where = absl::StrCat("tensor '", name, "'");
  if (!entry.is_object()) return Bad(file, where + " is not an object");
  const json* dtype_field = entry.contains("dtype") ? &entry["dtype"] : nullptr;
  if (!dtype_field || !dtype_field->is_string()) return Bad(file, where + ": missing dtype");
  auto dtype = ParseDType(dtype_field->get<std::string>());
  if (!dtype) {
    return Bad(file,
               absl::StrCat(where, ": unknown dtype '", dtype_field->get<std::string>(), "'"));
  }
  if (!entry.contains("shape") || !entry["shape"].is_array()) {
    return Bad(file, where + ": missing shape");
  }
  SafetensorsLayout::Slot slot;
  slot.dtype = *dtype;
  uint64_t numel = 1;
  for (const json& d : entry["shape"]) {
    if (!d.is_number_unsigned()) return Bad(file, where + ": shape has a non-integer entry");
    uint64_t dim = d.get<uint64_t>();
    if (dim > (1ull << 40) || (dim > 0 && numel > (1ull << 50) / dim)) {
      return Bad(file, where + ": shape is implausibly large");
    }
    numel *= dim;
    slot.shape.push_back(static_cast<int64_t>(dim));
  }
  const json* offsets = entry.contains("data_offsets") ? &entry["data_offsets"] : nullptr;
  if (!offsets || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
    return Bad(file, where + ": data_offsets must be [begin, end]");
  }
  slot.begin = (*offsets)[0].get<uint64_t>();
  slot.end = (*offsets)[1].get<uint64_t>();
  if (slot.begin > slot.end || slot.end > data_size) {
    return Bad(file, absl::StrCat(where, ": data_offsets [", slot.begin, ", ", slot.end,
                                  "] fall outside the ", data_size, " data bytes (truncated?)"));
  }
  const uint64_t expected = numel * DTypeSize(*dtype);
  if (slot.end - slot.begin != expected) {
    return Bad(file, absl::StrCat(where, ": ", slot.end - slot.begin, " bytes for shape and dtype ",
                                  DTypeName(*dtype), " that need ", expected));
  }
  return slot;
}

absl::Status CheckNoOverlap(std::vector<Span> spans, const std::string& file) {
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].begin < spans[i - 1].end) {
      return Bad(file, absl::StrCat("tensors '", spans[i - 1].name, "' and '", spans[i].name,
                                    "' overlap"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SafetensorsLayout> ParseSafetensorsLayout(absl::string_view prefix,
                                                         uint64_t file_size,
                                                         const std::string& file) {
  uint64_t header_len = 0;
  ASSIGN_OR_RETURN(const json header, ReadHeader(prefix, file_size, file, &header_len));
  SafetensorsLayout layout;
  layout.data_start = 8 + header_len;
  const uint64_t data_size = file_size - layout.data_start;
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      RETURN_IF_ERROR(ReadMetadata(it.value(), file, &layout.metadata));
      continue;
    }
    ASSIGN_OR_RETURN(SafetensorsLayout::Slot slot, ReadSlot(it.key(), it.value(), data_size, file));
    spans.push_back({slot.begin, slot.end, it.key()});
    layout.slots.emplace(it.key(), std::move(slot));
  }
  RETURN_IF_ERROR(CheckNoOverlap(std::move(spans), file));
  return layout;
}

absl::StatusOr<RawTensorMap> ParseSafetensors(const std::string& bytes, const std::string& file,
                                              SafetensorsMetadata* metadata) {
  ASSIGN_OR_RETURN(SafetensorsLayout layout, ParseSafetensorsLayout(bytes, bytes.size(), file));
  if (metadata) *metadata = layout.metadata;
  RawTensorMap tensors;
  for (auto& [name, slot] : layout.slots) {
    RawTensor tensor;
    tensor.dtype = slot.dtype;
    tensor.shape = std::move(slot.shape);
    tensor.data.assign(bytes, layout.data_start + slot.begin, slot.end - slot.begin);
    tensors.emplace(name, std::move(tensor));
  }
  return tensors;
}

absl::StatusOr<RawTensorMap> ReadSafetensorsFile(const std::string& path,
                                                 SafetensorsMetadata* metadata) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  return ParseSafetensors(bytes, path, metadata);
}

std::string SerializeSafetensors(const RawTensorMap& tensors, const SafetensorsMetadata& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    header[name] = {{"dtype", DTypeName(tensor.dtype)},
                    {"shape", tensor.shape},
                    {"data_offsets", {offset, offset + tensor.data.size()}}};
    offset += tensor.data.size();
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + header_text.size() + offset);
  uint64_t len = header_text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  out += header_text;
  for (const auto& [name, tensor] : tensors) out += tensor.data;
  return out;
}

absl::Status WriteSafetensorsFile(const std::string& path, const RawTensorMap& tensors,
                                  const SafetensorsMetadata& metadata) {
  return WriteFileAtomically(path, SerializeSafetensors(tensors, metadata));
}

absl::StatusOr<RawTensorMap> ReadSafetensorsDir(const std::string& dir) {
  const std::string index_path = absl::StrCat(dir, "/", kIndexFile);
  if (!FileExists(index_path)) {
    const std::string single = absl::StrCat(dir, "/", kSingleFile);
    if (!FileExists(single)) {
      return absl::NotFoundError(
          absl::StrCat(dir, ": has neither ", kSingleFile, " nor ", kIndexFile));
    }
    return ReadSafetensorsFile(single);
  }
  ASSIGN_OR_RETURN(std::string index_text, ReadFileToString(index_path));
  if (absl::Status s = CheckJsonLimits(index_text); !s.ok()) {
    return Bad(index_path, std::string(s.message()));
  }
  json index = json::parse(index_text, nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded() || !index.is_object() || !index.contains("weight_map") ||
      !index["weight_map"].is_object()) {
    return Bad(index_path, "not a JSON object with a weight_map");
  }
  std::map<std::string, std::set<std::string>> names_by_shard;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it.value().is_string()) {
      return Bad(index_path, absl::StrCat("weight_map.", it.key(), " is not a file name"));
    }
    const std::string shard = it.value().get<std::string>();
    if (shard.find('/') != std::string::npos || shard == "..") {
      return Bad(index_path, absl::StrCat("weight_map.", it.key(), ": shard '", shard,
                                          "' is not a plain file name"));
    }
    names_by_shard[shard].insert(it.key());
  }
  RawTensorMap all;
  for (const auto& [shard, names] : names_by_shard) {
    const std::string shard_path = absl::StrCat(dir, "/", shard);
    ASSIGN_OR_RETURN(RawTensorMap tensors, ReadSafetensorsFile(shard_path));
    for (const std::string& name : names) {
      auto found = tensors.find(name);
      if (found == tensors.end()) {
        return Bad(shard_path,
                   absl::StrCat("tensor '", name, "' listed in ", kIndexFile, " is missing"));
      }
      all.emplace(name, std::move(found->second));
    }
  }
  return all;
}

absl::Status WriteSafetensorsDir(const std::string& dir, const RawTensorMap& tensors,
                                 uint64_t max_shard_bytes) {
  RETURN_IF_ERROR(MakeDirectories(dir));
  std::vector<RawTensorMap> shards(1);
  uint64_t shard_bytes = 0, total = 0;
  for (const auto& [name, tensor] : tensors) {
    if (shard_bytes > 0 && shard_bytes + tensor.data.size() > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().emplace(name, tensor);
    shard_bytes += tensor.data.size();
    total += tensor.data.size();
  }
  if (shards.size() == 1) {
    return WriteSafetensorsFile(absl::StrCat(dir, "/", kSingleFile), shards[0]);
  }
  json weight_map = json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string shard =
        absl::StrFormat("model-%05d-of-%05d.safetensors", i + 1, shards.size());
    RETURN_IF_ERROR(WriteSafetensorsFile(absl::StrCat(dir, "/", shard), shards[i]));
    for (const auto& [name, tensor] : shards[i]) weight_map[name] = shard;
  }
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  return WriteFileAtomically(absl::StrCat(dir, "/", kIndexFile), index.dump(2) + "\n");
}

}  // namespace seamless
