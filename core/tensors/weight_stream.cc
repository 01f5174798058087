#include "core/tensors/weight_stream.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream.h"
#include "google/protobuf/wire_format_lite.h"

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

Hash64State::Hash64State(uint64_t seed)
    : a_{seed, seed ^ kP1, seed ^ kP2, seed ^ kP3}, b_{kP4, kP4, kP4, kP4}, seed_(seed) {}

void Hash64State::Stripes(const char* p, size_t stripes) {
  // Four lanes of Fletcher sums over 64-bit words: adds only, no carried multiply, so it runs
  // at memory speed (the compiler vectorises the lanes).
  uint64_t a[4] = {a_[0], a_[1], a_[2], a_[3]}, b[4] = {b_[0], b_[1], b_[2], b_[3]};
  for (const char* const end = p + 32 * stripes; p < end; p += 32) {
    for (int j = 0; j < 4; ++j) {
      a[j] += Load64(p + ptrdiff_t{8} * j);
      b[j] += a[j];
    }
  }
  for (int j = 0; j < 4; ++j) {
    a_[j] = a[j];
    b_[j] = b[j];
  }
}

void Hash64State::Update(const char* p, size_t n) {
  len_ += n;
  if (partial_len_ > 0) {
    const size_t take = std::min(n, 32 - partial_len_);
    std::memcpy(partial_ + partial_len_, p, take);
    partial_len_ += take;
    p += take;
    n -= take;
    if (partial_len_ < 32) return;
    Stripes(partial_, 1);
    partial_len_ = 0;
  }
  Stripes(p, n / 32);
  partial_len_ = n % 32;
  if (partial_len_ > 0) std::memcpy(partial_, p + (n - partial_len_), partial_len_);
}

uint64_t Hash64State::Finish() const {
  uint64_t a[4] = {a_[0], a_[1], a_[2], a_[3]}, b[4] = {b_[0], b_[1], b_[2], b_[3]};
  // The last 0..31 bytes as zero-padded words (the length, mixed in below, tells them apart).
  char tail[32] = {};
  if (partial_len_ > 0) std::memcpy(tail, partial_, partial_len_);
  for (int j = 0; j < 4; ++j) {
    a[j] += Load64(tail + ptrdiff_t{8} * j);
    b[j] += a[j];
  }
  uint64_t h = seed_ + kP5 + len_;
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

uint64_t Hash64(absl::string_view bytes, uint64_t seed) {
  Hash64State state(seed);
  state.Update(bytes.data(), bytes.size());
  return state.Finish();
}

void CopyAndHash(char* dst, const char* src, size_t n, Hash64State* state) {
  // Blocks that stay in the first-level cache between the copy and the hash: one pass over
  // the source instead of two.
  constexpr size_t kBlock = 16 << 10;
  for (size_t at = 0; at < n; at += kBlock) {
    const size_t len = std::min(kBlock, n - at);
    std::memcpy(dst + at, src + at, len);
    state->Update(dst + at, len);
  }
}

namespace {

// One chunk's bytes: a slice of a piece the source produced, or bytes the source writes
// straight into the message (WeightSource::WritesInto).
struct ChunkData {
  size_t size = 0;
  absl::string_view piece;  // when `write` is empty
  std::function<absl::Status(char*)> write;

  // Puts the bytes at `dst` and chains `*checksum` over them, each hashed where it is still
  // in cache: a piece before it is copied (glibc's large copy streams past the cache), bytes
  // the source wrote just after.
  absl::Status WriteAndHash(char* dst, uint64_t* checksum) const {
    if (write) {
      RETURN_IF_ERROR(write(dst));
      *checksum = Hash64(absl::string_view(dst, size), *checksum);
      return absl::OkStatus();
    }
    *checksum = Hash64(piece, *checksum);
    if (size > 0) std::memcpy(dst, piece.data(), size);
    return absl::OkStatus();
  }
};

// The stream of `source`: `info(message)` for begin and end, `chunk(spec, dtype name, offset,
// data, &checksum)` for every chunk, which writes the data where it goes with
// data.WriteAndHash(dst, checksum). See StreamWeights.
template <typename InfoFn, typename ChunkFn>
absl::Status StreamParts(WeightSource& source, int64_t version, size_t max_chunk_bytes,
                         const InfoFn& info_fn, const ChunkFn& chunk_fn) {
  const std::vector<TensorSpec>& specs = source.specs();
  for (size_t i = 1; i < specs.size(); ++i) {
    if (!(specs[i - 1].name < specs[i].name)) {
      return absl::InternalError(absl::StrCat("weight source: tensor '", specs[i].name,
                                              "' is not sorted after '", specs[i - 1].name, "'"));
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
    RETURN_IF_ERROR(info_fn(std::move(begin)));
  }
  uint64_t checksum = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    const uint64_t expected = spec.NumBytes();
    const std::string dtype = DTypeName(spec.dtype);
    uint64_t offset = 0;
    checksum = Hash64(spec.name, checksum);
    auto emit = [&](const char* data, size_t len) {
      ChunkData chunk;
      chunk.size = len;
      chunk.piece = absl::string_view(data, len);
      RETURN_IF_ERROR(chunk_fn(spec, dtype, offset, chunk, &checksum));
      offset += len;
      return absl::OkStatus();
    };
    if (source.WritesInto(i)) {
      if (expected == 0) RETURN_IF_ERROR(emit("", 0));  // empty tensors arrive too
      while (offset < expected) {
        ChunkData chunk;
        chunk.size = std::min<uint64_t>(max_chunk_bytes, expected - offset);
        chunk.write = [&source, i, offset, size = chunk.size](char* dst) {
          return source.WriteInto(i, offset, dst, size);
        };
        RETURN_IF_ERROR(chunk_fn(spec, dtype, offset, chunk, &checksum));
        offset += chunk.size;
      }
      continue;
    }
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
  return info_fn(std::move(end));
}

TensorChunk ChunkHeader(const TensorSpec& spec, const std::string& dtype, uint64_t offset) {
  TensorChunk chunk;
  chunk.set_name(spec.name);
  chunk.set_dtype(dtype);
  for (int64_t d : spec.shape) chunk.add_shape(d);
  chunk.set_byte_offset(offset);
  return chunk;
}

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Wire tags (field number << 3 | wire type 2, length-delimited).
constexpr uint32_t kChunkTag = (WeightsMessage::kChunkFieldNumber << 3) | 2;
constexpr uint32_t kDataTag = (TensorChunk::kDataFieldNumber << 3) | 2;

}  // namespace

absl::Status StreamWeights(WeightSource& source, int64_t version, const WeightsSend& send,
                           size_t max_chunk_bytes) {
  return StreamParts(
      source, version, max_chunk_bytes, [&](WeightsMessage&& m) { return send(std::move(m)); },
      [&](const TensorSpec& spec, const std::string& dtype, uint64_t offset, const ChunkData& data,
          uint64_t* checksum) {
        WeightsMessage msg;
        *msg.mutable_chunk() = ChunkHeader(spec, dtype, offset);
        std::string* bytes = msg.mutable_chunk()->mutable_data();
        bytes->resize(data.size);
        RETURN_IF_ERROR(data.WriteAndHash(bytes->data(), checksum));
        return send(std::move(msg));
      });
}

absl::Status StreamSerializedWeights(WeightSource& source, int64_t version,
                                     SerializedWeightsSink& sink, size_t max_chunk_bytes) {
  // The message's buffer from the sink, the head copied in, then the data written after it
  // (hashed as ChunkData::WriteAndHash says: measured by bench learner).
  auto send_bytes = [&](absl::string_view head, const ChunkData* data,
                        uint64_t* checksum) -> absl::Status {
    const size_t size = data != nullptr ? data->size : 0;
    char* out = sink.Allocate(head.size() + size);
    if (out == nullptr) return absl::ResourceExhaustedError("no buffer for a weight message");
    std::memcpy(out, head.data(), head.size());
    if (data != nullptr) RETURN_IF_ERROR(data->WriteAndHash(out + head.size(), checksum));
    return sink.Send();
  };
  return StreamParts(
      source, version, max_chunk_bytes,
      [&](WeightsMessage&& m) { return send_bytes(m.SerializeAsString(), nullptr, nullptr); },
      [&](const TensorSpec& spec, const std::string& dtype, uint64_t offset, const ChunkData& data,
          uint64_t* checksum) {
        // WeightsMessage{chunk = TensorChunk{name, dtype, shape, byte_offset, data}} by hand:
        // the header fields as protobuf writes them, then the data field's tag and length,
        // then the data. (An empty data field is written too, which is valid: the parser
        // reads it as the default.)
        const std::string fields = ChunkHeader(spec, dtype, offset).SerializeAsString();
        const uint64_t chunk_len =
            fields.size() + VarintSize(kDataTag) + VarintSize(data.size) + data.size;
        std::string head;
        head.reserve(fields.size() + 24);
        AppendVarint(kChunkTag, &head);
        AppendVarint(chunk_len, &head);
        head += fields;
        AppendVarint(kDataTag, &head);
        AppendVarint(data.size, &head);
        return send_bytes(head, &data, checksum);
      });
}

absl::Status StreamWeights(const RawTensorMap& tensors, int64_t version, const WeightsSend& send,
                           size_t max_chunk_bytes) {
  RawTensorMapSource source(tensors);
  return StreamWeights(source, version, send, max_chunk_bytes);
}

void WeightAssembler::Destination::Append(const char* p, size_t n) {
  if (decoder) {
    decoder->Append(p, n);
    return;
  }
  // The string grows within its reserved capacity, a piece at a time, so the zeros resize
  // writes stay in the first-level cache until the copy overwrites them.
  const size_t at = raw->data.size();
  raw->data.resize(at + n);
  std::memcpy(&raw->data[at], p, n);
}

absl::Status WeightAssembler::StartTensor(const std::string& name, RawTensor t) {
  for (int64_t d : t.shape) {
    if (d < 0) return Bad(absl::StrCat("tensor '", name, "': negative dimension"));
  }
  const uint64_t want = uint64_t(t.NumElements()) * DTypeSize(t.dtype);
  auto target = targets_.find(name);
  if (target != targets_.end() && DecodesToFloat(t.dtype)) {
    if (target->second.shape != t.shape) {
      return Bad(absl::StrCat("tensor '", name, "': shape [", absl::StrJoin(t.shape, ", "),
                              "], the receiver's parameter is [",
                              absl::StrJoin(target->second.shape, ", "), "]"));
    }
    decoders_.emplace(name, FloatDecoder(t.dtype, target->second));
    decoded_.insert(name);
  } else {
    // Reserve the tensor's bytes once (no growth by repeated appends), within what the
    // begin message announced for the whole stream.
    auto old = spare_.find(name);
    if (old != spare_.end()) {
      t.data = std::move(old->second.data);
      t.data.clear();  // keeps the capacity
      spare_.erase(old);
    }
    if (want <= begin_.total_bytes() - std::min(bytes_, begin_.total_bytes())) {
      try {
        t.data.reserve(want);
      } catch (const std::bad_alloc&) {
        return Bad(absl::StrCat("tensor '", name, "': cannot hold ", want, " bytes"));
      }
    }
  }
  tensors_.emplace(name, std::move(t));
  current_ = name;
  checksum_ = Hash64(name, checksum_);
  return absl::OkStatus();
}

absl::StatusOr<WeightAssembler::Destination> WeightAssembler::StartChunk(
    const std::string& name, const std::string& dtype_name, absl::Span<const int64_t> shape,
    uint64_t byte_offset, uint64_t size) {
  if (ended_) return Bad("message after the end");
  if (!begun_) return Bad("chunk before the begin message");
  auto dtype = ParseDType(dtype_name);
  if (!dtype) return Bad(absl::StrCat("tensor '", name, "': unknown dtype '", dtype_name, "'"));
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    if (byte_offset != 0) {
      return Bad(absl::StrCat("tensor '", name, "': first chunk at offset ", byte_offset));
    }
    if (!current_.empty() && name <= current_) {
      return Bad(absl::StrCat("tensor '", name, "' out of order"));
    }
    RawTensor t;
    t.dtype = *dtype;
    t.shape.assign(shape.begin(), shape.end());
    RETURN_IF_ERROR(StartTensor(name, std::move(t)));
    it = tensors_.find(name);
  } else if (name != current_) {
    return Bad(absl::StrCat("tensor '", name, "' resumed after another tensor"));
  }
  RawTensor& t = it->second;
  if (t.dtype != *dtype ||
      !std::equal(t.shape.begin(), t.shape.end(), shape.begin(), shape.end())) {
    return Bad(absl::StrCat("tensor '", name, "': dtype or shape changed between chunks"));
  }
  Destination out;
  auto decoder = decoders_.find(name);
  if (decoder != decoders_.end()) {
    out.decoder = &decoder->second;
  } else {
    out.raw = &t;
  }
  if (byte_offset != out.received()) {
    return Bad(absl::StrCat("tensor '", name, "': chunk at offset ", byte_offset, ", expected ",
                            out.received()));
  }
  const uint64_t expected = t.NumElements() * DTypeSize(t.dtype);
  if (out.received() + size > expected) {
    return Bad(absl::StrCat("tensor '", name, "': more bytes than its shape holds"));
  }
  return out;
}

void WeightAssembler::ChunkAppended(uint64_t size, uint64_t checksum) {
  bytes_ += size;
  checksum_ = checksum;
}

namespace {

// Consecutive pieces as one protobuf input stream, without copying them.
class PiecesInputStream final : public google::protobuf::io::ZeroCopyInputStream {
 public:
  explicit PiecesInputStream(absl::Span<const absl::string_view> pieces) : pieces_(pieces) {}
  bool Next(const void** data, int* size) override {
    while (index_ < pieces_.size()) {
      const absl::string_view p = pieces_[index_];
      if (at_ < p.size()) {
        const size_t n = std::min<size_t>(p.size() - at_, size_t{1} << 30);
        *data = p.data() + at_;
        *size = static_cast<int>(n);
        at_ += n;
        count_ += n;
        return true;
      }
      ++index_;
      at_ = 0;
    }
    return false;
  }
  void BackUp(int count) override {
    at_ -= count;
    count_ -= count;
  }
  bool Skip(int count) override {
    const void* data;
    int size;
    while (count > 0) {
      if (!Next(&data, &size)) return false;
      if (size > count) {
        BackUp(size - count);
        return true;
      }
      count -= size;
    }
    return true;
  }
  int64_t ByteCount() const override { return static_cast<int64_t>(count_); }

 private:
  absl::Span<const absl::string_view> pieces_;
  size_t index_ = 0, at_ = 0, count_ = 0;
};

}  // namespace

absl::Status WeightAssembler::AddSerialized(absl::Span<const absl::string_view> pieces) {
  using google::protobuf::internal::WireFormatLite;
  using google::protobuf::io::CodedInputStream;
  uint64_t total = 0;
  for (absl::string_view p : pieces) total += p.size();
  auto parse_whole = [&]() -> absl::Status {
    PiecesInputStream in(pieces);
    WeightsMessage message;
    if (!message.ParseFromZeroCopyStream(&in)) return Bad("a message does not parse");
    return Add(message);
  };
  if (total >= uint64_t{1} << 31) return Bad("message of 2 GiB or more");
  PiecesInputStream in(pieces);
  CodedInputStream coded(&in);
  coded.SetTotalBytesLimit(static_cast<int>(total));
  // The fast path: WeightsMessage{chunk} with the chunk's data as its last field.
  uint32_t chunk_len = 0;
  if (coded.ReadTag() != kChunkTag || !coded.ReadVarint32(&chunk_len) ||
      uint64_t(coded.CurrentPosition()) + chunk_len != total) {
    return parse_whole();
  }
  std::string name, dtype;
  std::vector<int64_t> shape;
  uint64_t byte_offset = 0;
  while (true) {
    const uint32_t tag = coded.ReadTag();
    if (tag == 0) return parse_whole();  // no data field (an empty chunk written by others)
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    const auto wire = WireFormatLite::GetTagWireType(tag);
    bool ok = true;
    if (field == TensorChunk::kNameFieldNumber &&
        wire == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      ok = WireFormatLite::ReadString(&coded, &name);
    } else if (field == TensorChunk::kDtypeFieldNumber &&
               wire == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      ok = WireFormatLite::ReadString(&coded, &dtype);
    } else if (field == TensorChunk::kShapeFieldNumber &&
               wire == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {  // packed
      uint32_t len;
      ok = coded.ReadVarint32(&len);
      const auto limit = coded.PushLimit(static_cast<int>(len));
      while (ok && coded.BytesUntilLimit() > 0) {
        uint64_t d;
        ok = coded.ReadVarint64(&d);
        shape.push_back(static_cast<int64_t>(d));
      }
      coded.PopLimit(limit);
    } else if (field == TensorChunk::kShapeFieldNumber &&
               wire == WireFormatLite::WIRETYPE_VARINT) {  // unpacked
      uint64_t d;
      ok = coded.ReadVarint64(&d);
      shape.push_back(static_cast<int64_t>(d));
    } else if (field == TensorChunk::kByteOffsetFieldNumber &&
               wire == WireFormatLite::WIRETYPE_VARINT) {
      ok = coded.ReadVarint64(&byte_offset);
    } else if (field == TensorChunk::kDataFieldNumber &&
               wire == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t len;
      if (!coded.ReadVarint32(&len)) return Bad("a chunk does not parse");
      if (uint64_t(coded.CurrentPosition()) + len != total) return parse_whole();  // not last
      ASSIGN_OR_RETURN(Destination dst, StartChunk(name, dtype, shape, byte_offset, len));
      // Taken from the pieces as they are and hashed as it goes, a block at a time (still in
      // the first-level cache when it is hashed).
      constexpr size_t kBlock = 16 << 10;
      Hash64State state(checksum_);
      for (size_t done = 0; done < len;) {
        const void* piece;
        int size;
        // The total was checked above, so the pieces hold the chunk's bytes.
        if (!coded.GetDirectBufferPointer(&piece, &size)) {
          return Bad(absl::StrCat("tensor '", name, "': a chunk's data does not parse"));
        }
        const size_t n = std::min<size_t>({size_t(size), len - done, kBlock});
        const char* bytes = static_cast<const char*>(piece);
        dst.Append(bytes, n);
        state.Update(bytes, n);
        coded.Skip(static_cast<int>(n));
        done += n;
      }
      ChunkAppended(len, state.Finish());
      return absl::OkStatus();
    } else {
      ok = WireFormatLite::SkipField(&coded, tag);
    }
    if (!ok) return Bad("a chunk does not parse");
  }
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
      const TensorChunk& c = message.chunk();
      ASSIGN_OR_RETURN(Destination dst, StartChunk(c.name(), c.dtype(), c.shape(), c.byte_offset(),
                                                   c.data().size()));
      dst.Append(c.data().data(), c.data().size());
      ChunkAppended(c.data().size(), Hash64(c.data(), checksum_));
      return absl::OkStatus();
    }
    case WeightsMessage::kEnd: {
      if (!begun_) return Bad("end before the begin message");
      const WeightStreamInfo& end = message.end();
      if (end.version() != begin_.version()) {
        return Bad(
            absl::StrCat("end version ", end.version(), " != begin version ", begin_.version()));
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
        auto decoder = decoders_.find(name);
        const uint64_t received =
            decoder != decoders_.end() ? decoder->second.bytes() : t.data.size();
        if (received != t.NumElements() * DTypeSize(t.dtype)) {
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
  for (const std::string& name : decoded_) tensors_.erase(name);
  return std::move(tensors_);
}

}  // namespace seamless
