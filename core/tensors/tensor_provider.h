// Tensors by name, handed out one at a time: from a map in memory (no copy), or read from a
// file when asked (core/tensors/safetensors_file_reader.h). Importing a checkpoint through one
// holds a tensor at a time, not the file: at 0.5B a checkpoint is 6 GB, more than a rank's
// own state.
#ifndef SEAMLESS_CORE_TENSORS_TENSOR_PROVIDER_H_
#define SEAMLESS_CORE_TENSORS_TENSOR_PROVIDER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/tensors/raw_tensor.h"

namespace seamless {

class TensorProvider {
 public:
  using Use = std::function<absl::Status(const RawTensor&)>;
  virtual ~TensorProvider() = default;

  // Every tensor's name, in name order.
  virtual std::vector<std::string> Names() const = 0;
  virtual bool Has(const std::string& name) const = 0;
  // Calls `use` with the tensor `name` (NotFound naming `what` and it when there is none) and
  // returns what `use` returns. The tensor is valid during the call only.
  virtual absl::Status With(const std::string& name, const std::string& what,
                            const Use& use) const = 0;
};

// A map that exists, lent as it is.
class MapTensorProvider final : public TensorProvider {
 public:
  explicit MapTensorProvider(const RawTensorMap& map) : map_(map) {}
  std::vector<std::string> Names() const override {
    std::vector<std::string> out;
    out.reserve(map_.size());
    for (const auto& item : map_) out.push_back(item.first);
    return out;
  }
  bool Has(const std::string& name) const override { return map_.count(name) > 0; }
  absl::Status With(const std::string& name, const std::string& what,
                    const Use& use) const override {
    auto it = map_.find(name);
    if (it == map_.end()) return absl::NotFoundError(absl::StrCat(what, " lacks '", name, "'"));
    return use(it->second);
  }

 private:
  const RawTensorMap& map_;
};

}  // namespace seamless

#endif  // SEAMLESS_CORE_TENSORS_TENSOR_PROVIDER_H_
