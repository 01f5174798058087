#include "core/tensors/safetensors_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace seamless {
namespace {

using json = nlohmann::json;

constexpr size_t kBufferBytes = 8 << 20;

// One output file, written through a buffer to `path.tmp.<pid>` and renamed on Close().
class AtomicFileWriter {
 public:
  ~AtomicFileWriter() {
    if (fd_ >= 0) {
      close(fd_);
      unlink(tmp_.c_str());
    }
  }

  absl::Status Open(const std::string& path) {
    path_ = path;
    tmp_ = absl::StrCat(path, ".tmp.", getpid());
    fd_ = open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      return absl::PermissionDeniedError(
          absl::StrCat(path, ": cannot create ", tmp_, ": ", std::strerror(errno)));
    }
    buffer_.reserve(kBufferBytes);
    return absl::OkStatus();
  }

  absl::Status Append(const char* data, size_t size) {
    written_ += size;
    if (buffer_.size() + size > kBufferBytes) {
      RETURN_IF_ERROR(Flush());
      if (size >= kBufferBytes) return WriteAll(data, size);
    }
    buffer_.append(data, size);
    return absl::OkStatus();
  }

  uint64_t written() const { return written_; }

  absl::Status Close() {
    RETURN_IF_ERROR(Flush());
    const int fd = fd_;
    fd_ = -1;
    if (fsync(fd) != 0 || close(fd) != 0) {
      unlink(tmp_.c_str());
      return absl::DataLossError(
          absl::StrCat(path_, ": fsync/close failed: ", std::strerror(errno)));
    }
    if (rename(tmp_.c_str(), path_.c_str()) != 0) {
      std::string err = std::strerror(errno);
      unlink(tmp_.c_str());
      return absl::PermissionDeniedError(absl::StrCat(path_, ": rename failed: ", err));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Flush() {
    absl::Status s = WriteAll(buffer_.data(), buffer_.size());
    buffer_.clear();
    return s;
  }

  absl::Status WriteAll(const char* data, size_t left) {
    while (left > 0) {
      ssize_t n = write(fd_, data, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return absl::ResourceExhaustedError(
            absl::StrCat(path_, ": write failed: ", std::strerror(errno)));
      }
      data += n;
      left -= static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  std::string path_, tmp_;
  int fd_ = -1;
  std::string buffer_;
  uint64_t written_ = 0;
};

// The header SerializeSafetensors writes: length, JSON padded with spaces to 8 bytes.
std::string Header(const std::vector<TensorEntry>& entries) {
  json header = json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const TensorEntry& e : entries) {
    header[e.name] = {{"dtype", DTypeName(e.dtype)},
                      {"shape", e.shape},
                      {"data_offsets", {offset, offset + e.Bytes()}}};
    offset += e.Bytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out;
  const uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  return out + text;
}

absl::Status WriteOneFile(const std::string& path, const std::vector<TensorEntry>& entries,
                          const TensorFiller& fill) {
  AtomicFileWriter file;
  RETURN_IF_ERROR(file.Open(path));
  const std::string header = Header(entries);
  RETURN_IF_ERROR(file.Append(header.data(), header.size()));
  const ByteSink sink = [&file](const char* data, size_t size) { return file.Append(data, size); };
  for (const TensorEntry& e : entries) {
    const uint64_t before = file.written();
    RETURN_IF_ERROR(fill(e, sink));
    if (file.written() - before != e.Bytes()) {
      return absl::InternalError(absl::StrCat(path, ": tensor '", e.name, "': got ",
                                              file.written() - before, " bytes, its shape and ",
                                              DTypeName(e.dtype), " need ", e.Bytes()));
    }
  }
  return file.Close();
}

}  // namespace

uint64_t TensorEntry::NumElements() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

absl::Status WriteSafetensorsFileStreaming(const std::string& path,
                                           std::vector<TensorEntry> entries,
                                           const TensorFiller& fill) {
  std::sort(entries.begin(), entries.end(),
            [](const TensorEntry& a, const TensorEntry& b) { return a.name < b.name; });
  return WriteOneFile(path, entries, fill);
}

absl::Status WriteSafetensorsDirStreaming(const std::string& dir, std::vector<TensorEntry> entries,
                                          const TensorFiller& fill, uint64_t max_shard_bytes) {
  // Name order, as a RawTensorMap iterates.
  std::sort(entries.begin(), entries.end(),
            [](const TensorEntry& a, const TensorEntry& b) { return a.name < b.name; });
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].name == entries[i - 1].name) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", entries[i].name, "' twice"));
    }
  }
  RETURN_IF_ERROR(MakeDirectories(dir));
  // The same split as WriteSafetensorsDir: a new shard when the next tensor would overflow.
  std::vector<std::vector<TensorEntry>> shards(1);
  uint64_t shard_bytes = 0, total = 0;
  for (TensorEntry& e : entries) {
    if (shard_bytes > 0 && shard_bytes + e.Bytes() > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shard_bytes += e.Bytes();
    total += e.Bytes();
    shards.back().push_back(std::move(e));
  }
  if (shards.size() == 1) return WriteOneFile(dir + "/model.safetensors", shards[0], fill);
  json weight_map = json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string shard =
        absl::StrFormat("model-%05d-of-%05d.safetensors", i + 1, shards.size());
    RETURN_IF_ERROR(WriteOneFile(absl::StrCat(dir, "/", shard), shards[i], fill));
    for (const TensorEntry& e : shards[i]) weight_map[e.name] = shard;
  }
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  return WriteFileAtomically(dir + "/model.safetensors.index.json", index.dump(2) + "\n");
}

}  // namespace seamless
