#include "core/tensors/safetensors_header.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/json_limits.h"
#include "core/base/status_macros.h"
#include "core/tensors/safetensors.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

using json = nlohmann::json;

absl::Status Bad(const std::string& file, const std::string& what) {
  return absl::DataLossError(absl::StrCat(file, ": ", what));
}

}  // namespace

absl::StatusOr<std::vector<TensorEntry>> ReadSafetensorsFileHeader(const std::string& path) {
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", ec.message()));
  std::ifstream in(path, std::ios::binary);
  unsigned char len_bytes[8];
  if (!in.read(reinterpret_cast<char*>(len_bytes), 8)) {
    return Bad(path, "truncated: fewer than the 8-byte header length");
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > kMaxSafetensorsHeaderBytes || header_len > file_size - 8) {
    return Bad(path, absl::StrCat("header length ", header_len, " is past the file's ", file_size,
                                  " bytes or the 100 MiB limit"));
  }
  std::string text(header_len, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(header_len))) {
    return Bad(path, "truncated header");
  }
  if (absl::Status s = CheckJsonLimits(text); !s.ok()) return Bad(path, std::string(s.message()));
  json header = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) return Bad(path, "header is not a JSON object");
  const uint64_t data_size = file_size - 8 - header_len;
  std::vector<TensorEntry> out;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const std::string where = absl::StrCat("tensor '", it.key(), "'");
    const json& e = it.value();
    if (!e.is_object() || !e.contains("dtype") || !e["dtype"].is_string() || !e.contains("shape") ||
        !e["shape"].is_array() || !e.contains("data_offsets") || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2) {
      return Bad(path, where + ": needs dtype, shape and data_offsets");
    }
    auto dtype = ParseDType(e["dtype"].get<std::string>());
    if (!dtype) return Bad(path, absl::StrCat(where, ": unknown dtype ", e["dtype"].dump()));
    TensorEntry entry{it.key(), *dtype, {}};
    for (const json& d : e["shape"]) {
      if (!d.is_number_unsigned()) return Bad(path, where + ": shape has a non-integer entry");
      entry.shape.push_back(d.get<int64_t>());
    }
    const json& off = e["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      return Bad(path, where + ": data_offsets must be [begin, end]");
    }
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > data_size || end - begin != entry.Bytes()) {
      return Bad(path,
                 absl::StrCat(where, ": data_offsets [", begin, ", ", end, "] do not hold its ",
                              entry.Bytes(), " bytes within the ", data_size, " data bytes"));
    }
    out.push_back(std::move(entry));
  }
  return out;
}

absl::StatusOr<std::vector<TensorEntry>> ReadSafetensorsDirHeaders(const std::string& dir) {
  const std::string index_path = dir + "/model.safetensors.index.json";
  if (!FileExists(index_path)) return ReadSafetensorsFileHeader(dir + "/model.safetensors");
  ASSIGN_OR_RETURN(std::string index_text, ReadFileToString(index_path));
  if (absl::Status s = CheckJsonLimits(index_text); !s.ok()) {
    return Bad(index_path, std::string(s.message()));
  }
  json index = json::parse(index_text, nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded() || !index.is_object() || !index.contains("weight_map") ||
      !index["weight_map"].is_object()) {
    return Bad(index_path, "not a JSON object with a weight_map");
  }
  std::set<std::string> shards;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it.value().is_string() || it.value().get<std::string>().find('/') != std::string::npos) {
      return Bad(index_path, absl::StrCat("weight_map.", it.key(), " is not a plain file name"));
    }
    shards.insert(it.value().get<std::string>());
  }
  std::vector<TensorEntry> all;
  for (const std::string& shard : shards) {
    ASSIGN_OR_RETURN(std::vector<TensorEntry> entries,
                     ReadSafetensorsFileHeader(absl::StrCat(dir, "/", shard)));
    for (TensorEntry& e : entries) {
      if (index["weight_map"].value(e.name, "") == shard) all.push_back(std::move(e));
    }
  }
  if (all.size() != index["weight_map"].size()) {
    return Bad(index_path, absl::StrCat("lists ", index["weight_map"].size(),
                                        " tensors, its shards hold ", all.size()));
  }
  return all;
}

}  // namespace seamless
