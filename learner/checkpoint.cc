#include "learner/checkpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/base/file_util.h"
#include "core/base/json_limits.h"
#include "core/base/log.h"
#include "core/base/status_macros.h"
#include "core/model/model_config.h"
#include "core/tensors/safetensors.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

namespace fs = std::filesystem;
constexpr int kFormat = 1;

absl::Status Fsync(const std::string& path, bool directory) {
  const int fd = open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat(path, ": open for fsync: ", std::strerror(errno)));
  }
  const int rc = fsync(fd);
  close(fd);
  if (rc != 0) return absl::DataLossError(absl::StrCat(path, ": fsync: ", std::strerror(errno)));
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return absl::InternalError(absl::StrCat(path, ": ", std::strerror(errno)));
  const size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  const bool ok = written == bytes.size() && std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!ok) return absl::DataLossError(absl::StrCat(path, ": write failed: ", std::strerror(errno)));
  return absl::OkStatus();
}

std::string StepDirName(int64_t step) { return absl::StrFormat("step_%08d", step); }

// Checkpoint directories under root, newest step first.
std::vector<std::pair<int64_t, std::string>> StepDirs(const std::string& root) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    absl::string_view rest = name;
    int64_t step;
    if (entry.is_directory() && absl::ConsumePrefix(&rest, "step_") &&
        absl::SimpleAtoi(rest, &step)) {
      out.emplace_back(step, name);
    }
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

std::string HexEncode(const std::string& bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace

std::string Fnv1a64Hex(const std::string& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return absl::StrFormat("%016x", h);
}

StreamedTensors StreamMap(const RawTensorMap& tensors) {
  StreamedTensors out;
  for (const auto& [name, t] : tensors) out.entries.push_back({name, t.dtype, t.shape});
  out.fill = [&tensors](const TensorEntry& e, const ByteSink& sink) {
    const std::string& data = tensors.at(e.name).data;
    return sink(data.data(), data.size());
  };
  return out;
}

absl::StatusOr<std::string> SaveCheckpoint(const std::string& root, const ModelConfig& config,
                                           const RawTensorMap& weights,
                                           const RawTensorMap& optimizer,
                                           const CheckpointState& state, int64_t keep,
                                           const std::map<std::string, std::string>& extra_files) {
  return SaveCheckpoint(root, config, StreamMap(weights), StreamMap(optimizer), state, keep,
                        extra_files);
}

namespace {

// FNV-1a 64 of a file, read in pieces.
absl::StatusOr<std::pair<uint64_t, std::string>> FileSizeAndChecksum(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::InternalError(absl::StrCat(path, ": ", std::strerror(errno)));
  std::string buffer(size_t(8) << 20, '\0');
  uint64_t h = 0xcbf29ce484222325ull, size = 0;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), f)) > 0) {
    for (size_t i = 0; i < n; ++i) {
      h ^= static_cast<unsigned char>(buffer[i]);
      h *= 0x100000001b3ull;
    }
    size += n;
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return absl::DataLossError(absl::StrCat(path, ": read failed"));
  return std::make_pair(size, absl::StrFormat("%016x", h));
}

// Checks a checkpoint file's size and checksum against the manifest's. The tensor files are
// read through in pieces (they are the checkpoint's bulk); the small ones are kept in `bytes`.
absl::Status CheckFile(const std::string& dir, const std::string& file, uint64_t size,
                       const std::string& checksum, std::map<std::string, std::string>* bytes) {
  const std::string path = dir + "/" + file;
  std::pair<uint64_t, std::string> got;
  if (absl::EndsWith(file, ".safetensors")) {
    ASSIGN_OR_RETURN(got, FileSizeAndChecksum(path));
  } else {
    ASSIGN_OR_RETURN(std::string data, ReadFileToString(path));
    got = {data.size(), Fnv1a64Hex(data)};
    (*bytes)[file] = std::move(data);
  }
  if (got.first != size) {
    return absl::DataLossError(
        absl::StrCat(path, ": ", got.first, " bytes, the manifest says ", size));
  }
  if (got.second != checksum) return absl::DataLossError(absl::StrCat(path, ": checksum mismatch"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> SaveCheckpoint(const std::string& root, const ModelConfig& config,
                                           const StreamedTensors& weights,
                                           const StreamedTensors& optimizer,
                                           const CheckpointState& state, int64_t keep,
                                           const std::map<std::string, std::string>& extra_files) {
  RETURN_IF_ERROR(MakeDirectories(root));
  const std::string name = StepDirName(state.step);
  const std::string final_dir = root + "/" + name;
  const std::string tmp = absl::StrCat(root, "/.tmp-", name, "-", getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  RETURN_IF_ERROR(MakeDirectories(tmp));

  // The tensors stream straight to disk; small files are written from memory.
  RETURN_IF_ERROR(
      WriteSafetensorsFileStreaming(tmp + "/model.safetensors", weights.entries, weights.fill));
  RETURN_IF_ERROR(WriteSafetensorsFileStreaming(tmp + "/optimizer.safetensors", optimizer.entries,
                                                optimizer.fill));
  std::map<std::string, std::string> files = extra_files;
  files["learner_config.yaml"] = state.config_yaml;
  files["run_state.json"] = nlohmann::json{{"run_id", state.run_id},
                                           {"commit_state", state.commit_state},
                                           {"last_result", state.last_result_json}}
                                .dump(1) +
                            "\n";
  RETURN_IF_ERROR(WriteHfConfig(config, tmp + "/config.json"));
  ASSIGN_OR_RETURN(files["config.json"], ReadFileToString(tmp + "/config.json"));

  nlohmann::json manifest;
  manifest["format"] = kFormat;
  manifest["step"] = state.step;
  manifest["policy_version"] = state.policy_version;
  manifest["skipped_updates"] = state.skipped_updates;
  manifest["optimizer_step"] = state.optimizer_step;
  manifest["rng_state_hex"] = HexEncode(state.rng_state);
  for (const auto& [file, bytes] : files) {
    if (file != "config.json") RETURN_IF_ERROR(WriteFile(absl::StrCat(tmp, "/", file), bytes));
    RETURN_IF_ERROR(Fsync(absl::StrCat(tmp, "/", file), false));
    manifest["files"][file] = {{"size", bytes.size()}, {"fnv1a64", Fnv1a64Hex(bytes)}};
  }
  for (const char* file : {"model.safetensors", "optimizer.safetensors"}) {
    ASSIGN_OR_RETURN(auto sum, FileSizeAndChecksum(absl::StrCat(tmp, "/", file)));
    manifest["files"][file] = {{"size", sum.first}, {"fnv1a64", sum.second}};
  }
  // The manifest is written last: its presence marks the files complete.
  RETURN_IF_ERROR(WriteFile(tmp + "/trainer_state.json", manifest.dump(2) + "\n"));
  RETURN_IF_ERROR(Fsync(tmp, true));
  if (fs::exists(final_dir)) fs::remove_all(final_dir, ec);  // a re-save of the same step
  if (rename(tmp.c_str(), final_dir.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("rename ", tmp, " -> ", final_dir, ": ", std::strerror(errno)));
  }
  RETURN_IF_ERROR(Fsync(root, true));
  RETURN_IF_ERROR(WriteFileAtomically(root + "/latest", name + "\n"));
  RETURN_IF_ERROR(Fsync(root, true));

  // Retention: the newest `keep` complete checkpoints stay, and never the one just written.
  const auto dirs = StepDirs(root);
  for (size_t i = std::max<int64_t>(keep, 1); i < dirs.size(); ++i) {
    if (dirs[i].second != name) fs::remove_all(absl::StrCat(root, "/", dirs[i].second), ec);
  }
  return final_dir;
}

namespace {
// run_state.json (written by checkpoints since the run journal; older ones lack it).
absl::Status ReadRunState(const std::string& dir, const std::string& text, CheckpointState* state) {
  RETURN_IF_ERROR(CheckJsonLimits(text));
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    state->run_id = j.at("run_id").get<std::string>();
    state->commit_state = j.at("commit_state").get<std::string>();
    state->last_result_json = j.at("last_result").get<std::string>();
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(dir, "/run_state.json: ", e.what()));
  }
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<CheckpointContents> LoadCheckpoint(const std::string& dir) {
  ASSIGN_OR_RETURN(std::string manifest_text, ReadFileToString(dir + "/trainer_state.json"));
  nlohmann::json manifest;
  if (absl::Status s = CheckJsonLimits(manifest_text); !s.ok()) {
    return absl::DataLossError(absl::StrCat(dir, "/trainer_state.json: ", s.message()));
  }
  try {
    manifest = nlohmann::json::parse(manifest_text);
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(dir, "/trainer_state.json: ", e.what()));
  }
  CheckpointContents c;
  c.path = dir;
  std::map<std::string, std::string> bytes;  // the small files
  try {
    if (manifest.value("format", 0) != kFormat) {
      return absl::InvalidArgumentError(absl::StrCat(dir, ": unknown checkpoint format"));
    }
    for (const auto& [file, info] : manifest.at("files").items()) {
      RETURN_IF_ERROR(CheckFile(dir, file, info.at("size").get<uint64_t>(),
                                info.at("fnv1a64").get<std::string>(), &bytes));
    }
    c.state.step = manifest.at("step").get<int64_t>();
    c.state.policy_version = manifest.at("policy_version").get<int64_t>();
    c.state.skipped_updates = manifest.at("skipped_updates").get<int64_t>();
    c.state.optimizer_step = manifest.at("optimizer_step").get<int64_t>();
    const std::string hex = manifest.at("rng_state_hex").get<std::string>();
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      c.state.rng_state.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(dir, "/trainer_state.json: ", e.what()));
  }
  for (const char* needed : {"model.safetensors", "optimizer.safetensors"}) {
    if (!manifest["files"].contains(needed)) {
      return absl::DataLossError(absl::StrCat(dir, ": the manifest lacks ", needed));
    }
  }
  // Opened, not read: the importers take one tensor at a time.
  ASSIGN_OR_RETURN(c.weights, SafetensorsFileReader::Open(dir + "/model.safetensors"));
  ASSIGN_OR_RETURN(c.optimizer, SafetensorsFileReader::Open(dir + "/optimizer.safetensors"));
  c.state.config_yaml = bytes["learner_config.yaml"];
  if (bytes.count("run_state.json"))
    RETURN_IF_ERROR(ReadRunState(dir, bytes["run_state.json"], &c.state));
  return c;
}

absl::StatusOr<std::optional<CheckpointContents>> LoadLatestCheckpoint(const std::string& root) {
  std::vector<std::string> candidates;
  auto latest = ReadFileToString(root + "/latest");
  if (latest.ok()) {
    candidates.push_back(std::string(absl::StripAsciiWhitespace(*latest)));
  }
  for (const auto& [step, name] : StepDirs(root)) {
    if (candidates.empty() || name != candidates[0]) candidates.push_back(name);
  }
  if (candidates.empty()) return std::optional<CheckpointContents>();
  absl::Status first_error;
  for (const std::string& name : candidates) {
    auto loaded = LoadCheckpoint(absl::StrCat(root, "/", name));
    if (loaded.ok()) {
      if (!first_error.ok()) {
        SLOG(WARNING) << "resuming from the older complete checkpoint " << loaded->path;
      }
      return std::optional<CheckpointContents>(std::move(*loaded));
    }
    SLOG(WARNING) << "checkpoint " << root << "/" << name << " is unusable ("
                  << loaded.status().message() << "); trying an older one";
    if (first_error.ok()) first_error = loaded.status();
  }
  return absl::DataLossError(
      absl::StrCat("no usable checkpoint under ", root, "; newest error: ", first_error.message()));
}

}  // namespace seamless
