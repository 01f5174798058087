#include "core/tensors/weight_stream.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace seamless {
namespace {

void Fnv1a(uint64_t* hash, const std::string& bytes) {
  for (unsigned char c : bytes) {
    *hash ^= c;
    *hash *= 0x100000001b3ull;
  }
}

absl::Status Bad(const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("weight stream: ", why));
}

}  // namespace

absl::Status StreamWeights(const RawTensorMap& tensors, int64_t version,
                           const std::function<absl::Status(const WeightsMessage&)>& send,
                           size_t max_chunk_bytes) {
  WeightStreamInfo info;
  info.set_version(version);
  info.set_tensor_count(tensors.size());
  uint64_t checksum = 0xcbf29ce484222325ull, total = 0;
  for (const auto& [name, t] : tensors) {
    Fnv1a(&checksum, name);
    Fnv1a(&checksum, t.data);
    total += t.data.size();
  }
  info.set_total_bytes(total);
  info.set_checksum(checksum);

  WeightsMessage begin;
  *begin.mutable_begin() = info;
  RETURN_IF_ERROR(send(begin));
  for (const auto& [name, t] : tensors) {
    size_t offset = 0;
    do {  // at least one chunk, so empty tensors arrive too
      const size_t len = std::min(max_chunk_bytes, t.data.size() - offset);
      WeightsMessage msg;
      TensorChunk* chunk = msg.mutable_chunk();
      chunk->set_name(name);
      chunk->set_dtype(DTypeName(t.dtype));
      for (int64_t d : t.shape) chunk->add_shape(d);
      chunk->set_byte_offset(offset);
      chunk->set_data(t.data.substr(offset, len));
      RETURN_IF_ERROR(send(msg));
      offset += len;
    } while (offset < t.data.size());
  }
  WeightsMessage end;
  *end.mutable_end() = info;
  return send(end);
}

absl::Status WeightAssembler::Add(const WeightsMessage& message) {
  if (ended_) return Bad("message after the end");
  switch (message.part_case()) {
    case WeightsMessage::kBegin:
      if (begun_) return Bad("second begin message");
      begun_ = true;
      begin_ = message.begin();
      version_ = begin_.version();
      return absl::OkStatus();
    case WeightsMessage::kChunk: {
      if (!begun_) return Bad("chunk before the begin message");
      const TensorChunk& c = message.chunk();
      auto dtype = ParseDType(c.dtype());
      if (!dtype) return Bad(absl::StrCat("tensor '", c.name(), "': unknown dtype '", c.dtype(), "'"));
      auto it = tensors_.find(c.name());
      if (it == tensors_.end()) {
        if (c.byte_offset() != 0) {
          return Bad(absl::StrCat("tensor '", c.name(), "': first chunk at offset ",
                                  c.byte_offset()));
        }
        if (!current_.empty() && c.name() <= current_) {
          return Bad(absl::StrCat("tensor '", c.name(), "' out of order"));
        }
        RawTensor t;
        t.dtype = *dtype;
        t.shape.assign(c.shape().begin(), c.shape().end());
        for (int64_t d : t.shape) {
          if (d < 0) return Bad(absl::StrCat("tensor '", c.name(), "': negative dimension"));
        }
        it = tensors_.emplace(c.name(), std::move(t)).first;
        current_ = c.name();
        Fnv1a(&checksum_, c.name());
      } else if (c.name() != current_) {
        return Bad(absl::StrCat("tensor '", c.name(), "' resumed after another tensor"));
      }
      RawTensor& t = it->second;
      if (t.dtype != *dtype || !std::equal(t.shape.begin(), t.shape.end(), c.shape().begin(),
                                           c.shape().end())) {
        return Bad(absl::StrCat("tensor '", c.name(), "': dtype or shape changed between chunks"));
      }
      if (c.byte_offset() != t.data.size()) {
        return Bad(absl::StrCat("tensor '", c.name(), "': chunk at offset ", c.byte_offset(),
                                ", expected ", t.data.size()));
      }
      const uint64_t expected = t.NumElements() * DTypeSize(t.dtype);
      if (t.data.size() + c.data().size() > expected) {
        return Bad(absl::StrCat("tensor '", c.name(), "': more bytes than its shape holds"));
      }
      t.data += c.data();
      bytes_ += c.data().size();
      Fnv1a(&checksum_, c.data());
      return absl::OkStatus();
    }
    case WeightsMessage::kEnd: {
      if (!begun_) return Bad("end before the begin message");
      const WeightStreamInfo& end = message.end();
      if (end.version() != begin_.version()) {
        return Bad(absl::StrCat("end version ", end.version(), " != begin version ",
                                begin_.version()));
      }
      if (end.tensor_count() != tensors_.size()) {
        return Bad(absl::StrCat("received ", tensors_.size(), " tensors, the end says ",
                                end.tensor_count()));
      }
      if (end.total_bytes() != bytes_) {
        return Bad(absl::StrCat("received ", bytes_, " bytes, the end says ", end.total_bytes()));
      }
      if (end.checksum() != checksum_) return Bad("checksum mismatch");
      for (const auto& [name, t] : tensors_) {
        if (t.data.size() != t.NumElements() * DTypeSize(t.dtype)) {
          return Bad(absl::StrCat("tensor '", name, "' is incomplete"));
        }
      }
      ended_ = true;
      return absl::OkStatus();
    }
    case WeightsMessage::PART_NOT_SET:
      return Bad("empty message");
  }
  return Bad("unknown message");
}

absl::StatusOr<RawTensorMap> WeightAssembler::Finish() {
  if (!ended_) {
    return Bad(begun_ ? "cut off before the end message" : "no messages received");
  }
  return std::move(tensors_);
}

}  // namespace seamless
