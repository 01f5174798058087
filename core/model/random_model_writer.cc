#include "core/model/random_model_writer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "core/model/parameter_layout.h"
#include "core/model/torch_raw_tensor.h"
#include "core/tensors/safetensors_writer.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

constexpr int64_t kChunkElements = 1 << 22;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t ChunkSeed(uint64_t seed, const std::string& name, int64_t chunk) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a of the name
  for (unsigned char ch : name) h = (h ^ ch) * 0x100000001b3ull;
  return SplitMix64(SplitMix64(seed ^ h) + static_cast<uint64_t>(chunk));
}

// config.json's torch_dtype; a dtype the writer does not store reads as float32.
const char* TorchDtypeName(DType dtype) {
  if (dtype == DType::kBF16) return "bfloat16";
  return dtype == DType::kF16 ? "float16" : "float32";
}

// Weights of an earlier write: a stale index would make readers load its shards instead.
absl::Status RemoveOldWeights(const std::string& dir) {
  std::error_code ec;
  for (const auto& file : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = file.path().filename().string();
    const bool weights = name == "model.safetensors" || name == "model.safetensors.index.json" ||
                         (absl::StartsWith(name, "model-") && absl::EndsWith(name, ".safetensors"));
    if (weights && !std::filesystem::remove(file.path(), ec)) break;
  }
  if (ec)
    return absl::PermissionDeniedError(absl::StrCat(dir, ": removing old weights: ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

uint64_t RandomModelBytes(const ModelConfig& config, DType dtype) {
  uint64_t n = 0;
  for (const ParameterSpec& p : ParameterLayout(config)) n += p.NumElements();
  return n * DTypeSize(dtype);
}

absl::Status WriteRandomModelDir(const ModelConfig& config, const std::string& dir,
                                 const RandomModelOptions& options) {
  RETURN_IF_ERROR(config.Validate());
  if (options.dtype != DType::kF32 && options.dtype != DType::kBF16 &&
      options.dtype != DType::kF16) {
    return absl::InvalidArgumentError(
        absl::StrCat("dtype ", DTypeName(options.dtype), ": expected F32, BF16 or F16"));
  }
  ASSIGN_OR_RETURN(const at::ScalarType scalar, ToScalarType(options.dtype));
  std::map<std::string, ParameterSpec> specs;
  std::vector<TensorEntry> entries;
  for (ParameterSpec& p : ParameterLayout(config)) {
    entries.push_back({p.name, options.dtype, p.shape});
    specs.emplace(p.name, std::move(p));
  }
  const uint64_t total = RandomModelBytes(config, options.dtype);
  uint64_t done = 0;
  auto fill = [&](const TensorEntry& entry, const ByteSink& sink) -> absl::Status {
    const ParameterSpec& spec = specs.at(entry.name);
    const int64_t n = spec.NumElements();
    try {
      at::InferenceMode inference;
      for (int64_t chunk = 0, begin = 0; begin < n; ++chunk, begin += kChunkElements) {
        const int64_t size = std::min(kChunkElements, n - begin);
        at::Tensor values;
        if (spec.init == ParameterSpec::Init::kNormal) {
          at::Generator gen =
              at::make_generator<at::CPUGeneratorImpl>(ChunkSeed(options.seed, spec.name, chunk));
          values = at::empty({size}, at::kFloat).normal_(0.0, options.stddev, gen).to(scalar);
        } else {
          values = spec.init == ParameterSpec::Init::kOnes ? at::ones({size}, scalar)
                                                           : at::zeros({size}, scalar);
        }
        RETURN_IF_ERROR(sink(static_cast<const char*>(values.data_ptr()),
                             static_cast<size_t>(size) * DTypeSize(options.dtype)));
      }
    } catch (const c10::Error& e) {
      return absl::InternalError(
          absl::StrCat(dir, ": generating '", entry.name, "': ", e.what_without_backtrace()));
    }
    done += entry.Bytes();
    if (options.progress) options.progress(entry.name, done, total);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(MakeDirectories(dir));
  RETURN_IF_ERROR(RemoveOldWeights(dir));
  RETURN_IF_ERROR(
      WriteSafetensorsDirStreaming(dir, std::move(entries), fill, options.max_shard_bytes));
  // WriteHfConfig always says float32; the files say otherwise.
  const std::string config_path = dir + "/config.json";
  RETURN_IF_ERROR(WriteHfConfig(config, config_path));
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(config_path));
  nlohmann::json json = nlohmann::json::parse(text);
  json["torch_dtype"] = TorchDtypeName(options.dtype);
  return WriteFileAtomically(config_path, json.dump(2) + "\n");
}

}  // namespace seamless
