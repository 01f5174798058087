#include "core/tensors/weight_stream.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace seamless {
namespace {

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ull, kP2 = 0xC2B2AE3D27D4EB4Full,
                   kP3 = 0x165667B19E3779F9ull, kP4 = 0x85EBCA77C2B2AE63ull,
                   kP5 = 0x27D4EB2F165667C5ull;

inline uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
// Little-endian loads (the wire's byte order; every target we build for is little-endian).
inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t Round(uint64_t acc, uint64_t input) {
  acc += input * kP2;
  return Rotl(acc, 31) * kP1;
}

absl::Status Bad(const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("weight stream: ", why));
}

}  // namespace

uint64_t Hash64(absl::string_view bytes, uint64_t seed) {
  // Four lanes of Fletcher sums over 64-bit words: adds only, no carried multiply, so it runs
  // at memory speed (the compiler vectorises the lanes).
  uint64_t a[4] = {seed, seed ^ kP1, seed ^ kP2, seed ^ kP3};
  uint64_t b[4] = {kP4, kP4, kP4, kP4};
  const char* p = bytes.data();
  const size_t len = bytes.size();
  const char* const stripes_end = p + (len & ~size_t(31));
  for (; p < stripes_end; p += 32) {
    for (int j = 0; j < 4; ++j) {
      a[j] += Load64(p + 8 * j);
      b[j] += a[j];
    }
  }
  // The last 0..31 bytes as zero-padded words (the length, mixed in below, tells them apart).
  char tail[32] = {};
  std::memcpy(tail, p, size_t(bytes.data() + len - p));
  for (int j = 0; j < 4; ++j) {
    a[j] += Load64(tail + 8 * j);
    b[j] += a[j];
  }
  uint64_t h = seed + kP5 + len;
  for (int j = 0; j < 4; ++j) {
    h = Rotl(h ^ Round(0, a[j]), 27) * kP1 + kP4;
    h = Rotl(h ^ Round(0, b[j]), 31) * kP2 + kP3;
  }
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

absl::Status StreamWeights(WeightSource& source, int64_t version, const WeightsSend& send,
                           size_t max_chunk_bytes) {
  const std::vector<TensorSpec>& specs = source.specs();
  for (size_t i = 1; i < specs.size(); ++i) {
    if (!(specs[i - 1].name < specs[i].name)) {
      return absl::InternalError(absl::StrCat("weight source: tensor '", specs[i].name,
                                              "' is not sorted after '", specs[i - 1].name,
                                              "'"));
    }
  }
  max_chunk_bytes = std::max<size_t>(max_chunk_bytes, 1);
  WeightStreamInfo info;
  info.set_version(version);
  info.set_tensor_count(specs.size());
  info.set_total_bytes(TotalBytes(specs));  // the checksum only comes with the end
  {
    WeightsMessage begin;
    *begin.mutable_begin() = info;
    RETURN_IF_ERROR(send(std::move(begin)));
  }
  uint64_t checksum = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    const uint64_t expected = spec.NumBytes();
    const std::string dtype = DTypeName(spec.dtype);
    uint64_t offset = 0;
    checksum = Hash64(spec.name, checksum);
    auto emit = [&](const char* data, size_t len) {
      WeightsMessage msg;
      TensorChunk* chunk = msg.mutable_chunk();
      chunk->set_name(spec.name);
      chunk->set_dtype(dtype);
      for (int64_t d : spec.shape) chunk->add_shape(d);
      chunk->set_byte_offset(offset);
      chunk->set_data(data, len);
      checksum = Hash64(chunk->data(), checksum);
      offset += len;
      return send(std::move(msg));
    };
    RETURN_IF_ERROR(source.Read(i, [&](absl::string_view piece) -> absl::Status {
      if (offset + piece.size() > expected) {
        return absl::InternalError(absl::StrCat("weight source: tensor '", spec.name,
                                                "' has more than its ", expected, " bytes"));
      }
      for (size_t at = 0; at < piece.size();) {
        const size_t len = std::min(max_chunk_bytes, piece.size() - at);
        RETURN_IF_ERROR(emit(piece.data() + at, len));
        at += len;
      }
      return absl::OkStatus();
    }));
    if (offset != expected) {
      return absl::InternalError(absl::StrCat("weight source: tensor '", spec.name, "' gave ",
                                              offset, " of its ", expected, " bytes"));
    }
    if (expected == 0) RETURN_IF_ERROR(emit("", 0));  // empty tensors arrive too
  }
  info.set_checksum(checksum);
  WeightsMessage end;
  *end.mutable_end() = info;
  return send(std::move(end));
}

absl::Status StreamWeights(const RawTensorMap& tensors, int64_t version, const WeightsSend& send,
                           size_t max_chunk_bytes) {
  RawTensorMapSource source(tensors);
  return StreamWeights(source, version, send, max_chunk_bytes);
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
        // Reserve the tensor's bytes once (no growth by repeated appends), within what the
        // begin message announced for the whole stream.
        const uint64_t want = uint64_t(t.NumElements()) * DTypeSize(t.dtype);
        auto old = spare_.find(c.name());
        if (old != spare_.end()) {
          t.data = std::move(old->second.data);
          t.data.clear();  // keeps the capacity
          spare_.erase(old);
        }
        if (want <= begin_.total_bytes() - std::min(bytes_, begin_.total_bytes())) {
          try {
            t.data.reserve(want);
          } catch (const std::bad_alloc&) {
            return Bad(absl::StrCat("tensor '", c.name(), "': cannot hold ", want, " bytes"));
          }
        }
        it = tensors_.emplace(c.name(), std::move(t)).first;
        current_ = c.name();
        checksum_ = Hash64(c.name(), checksum_);
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
      t.data.append(c.data());
      bytes_ += c.data().size();
      checksum_ = Hash64(c.data(), checksum_);
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
      spare_.clear();
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
