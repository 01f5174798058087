#include "core/tensors/safetensors_file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace seamless {
namespace {

// Reads exactly `size` bytes at `offset`.
absl::Status ReadAt(int fd, const std::string& path, uint64_t offset, char* dst, size_t size) {
  while (size > 0) {
    const ssize_t n = ::pread(fd, dst, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::DataLossError(absl::StrCat(path, ": reading at byte ", offset, ": ",
                                              n < 0 ? std::strerror(errno) : "end of file"));
    }
    dst += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SafetensorsFileReader>> SafetensorsFileReader::Open(
    const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  struct stat st {};
  ::fstat(fd, &st);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  // The length, then the header (at most 100 MiB, checked by the parser).
  std::string prefix(std::min<uint64_t>(size, 8), '\0');
  absl::Status read = ReadAt(fd, path, 0, prefix.data(), prefix.size());
  if (read.ok() && prefix.size() == 8) {
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(prefix[i]);
    const uint64_t want =
        std::min<uint64_t>(size, 8 + std::min(header_len, kMaxSafetensorsHeaderBytes));
    prefix.resize(want);
    read = ReadAt(fd, path, 8, prefix.data() + 8, want - 8);
  }
  absl::StatusOr<SafetensorsLayout> layout =
      read.ok() ? ParseSafetensorsLayout(prefix, size, path) : read;
  if (!layout.ok()) {
    ::close(fd);
    return layout.status();
  }
  return std::unique_ptr<SafetensorsFileReader>(
      new SafetensorsFileReader(path, fd, std::move(*layout)));
}

SafetensorsFileReader::~SafetensorsFileReader() { ::close(fd_); }

std::vector<std::string> SafetensorsFileReader::Names() const {
  std::vector<std::string> out;
  out.reserve(layout_.slots.size());
  for (const auto& item : layout_.slots) out.push_back(item.first);
  return out;
}

bool SafetensorsFileReader::Has(const std::string& name) const {
  return layout_.slots.count(name) > 0;
}

absl::Status SafetensorsFileReader::With(const std::string& name, const std::string& what,
                                         const Use& use) const {
  auto it = layout_.slots.find(name);
  if (it == layout_.slots.end()) {
    return absl::NotFoundError(absl::StrCat(what, " lacks '", name, "'"));
  }
  const SafetensorsLayout::Slot& slot = it->second;
  buffer_.dtype = slot.dtype;
  buffer_.shape = slot.shape;
  buffer_.data.resize(slot.end - slot.begin);  // keeps the capacity of the largest so far
  RETURN_IF_ERROR(ReadAt(fd_, path_, layout_.data_start + slot.begin, buffer_.data.data(),
                         buffer_.data.size()));
  return use(buffer_);
}

}  // namespace seamless
