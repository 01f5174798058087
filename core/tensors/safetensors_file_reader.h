// A safetensors file read a tensor at a time: the header is parsed and checked against the
// file's size when it opens (core/tensors/safetensors.h), and each tensor's bytes are read
// when asked for, into one buffer reused from tensor to tensor.
#ifndef SEAMLESS_CORE_TENSORS_SAFETENSORS_FILE_READER_H_
#define SEAMLESS_CORE_TENSORS_SAFETENSORS_FILE_READER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensors/safetensors.h"
#include "core/tensors/tensor_provider.h"

namespace seamless {

class SafetensorsFileReader final : public TensorProvider {
 public:
  static absl::StatusOr<std::unique_ptr<SafetensorsFileReader>> Open(const std::string& path);
  ~SafetensorsFileReader() override;

  std::vector<std::string> Names() const override;
  bool Has(const std::string& name) const override;
  // Not thread-safe: one buffer serves every call.
  absl::Status With(const std::string& name, const std::string& what,
                    const Use& use) const override;

  const SafetensorsLayout& layout() const { return layout_; }

 private:
  SafetensorsFileReader(std::string path, int fd, SafetensorsLayout layout)
      : path_(std::move(path)), fd_(fd), layout_(std::move(layout)) {}

  std::string path_;
  int fd_;
  SafetensorsLayout layout_;
  mutable RawTensor buffer_;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_TENSORS_SAFETENSORS_FILE_READER_H_
