#include "core/tensors/weight_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace seamless {
namespace {

using ::testing::HasSubstr;

RawTensorMap Weights() {
  RawTensorMap m;
  std::mt19937 rng(3);
  auto make = [&](DType d, std::vector<int64_t> shape) {
    RawTensor t;
    t.dtype = d;
    t.shape = shape;
    t.data.resize(t.NumElements() * DTypeSize(d));
    for (char& c : t.data) c = static_cast<char>(rng());
    return t;
  };
  m["a.weight"] = make(DType::kF32, {100, 30});  // 12000 bytes: several chunks of 5000
  m["b.bias"] = make(DType::kBF16, {7});
  m["c.empty"] = make(DType::kF32, {0});
  return m;
}

std::vector<WeightsMessage> Stream(const RawTensorMap& w, int64_t version, size_t chunk) {
  std::vector<WeightsMessage> out;
  EXPECT_TRUE(StreamWeights(
                  w, version,
                  [&](const WeightsMessage& m) {
                    out.push_back(m);
                    return absl::OkStatus();
                  },
                  chunk)
                  .ok());
  return out;
}

absl::StatusOr<RawTensorMap> Assemble(const std::vector<WeightsMessage>& msgs) {
  WeightAssembler a;
  for (const auto& m : msgs) {
    absl::Status s = a.Add(m);
    if (!s.ok()) return s;
  }
  return a.Finish();
}

TEST(WeightStreamTest, RoundTripInBoundedChunks) {
  auto msgs = Stream(Weights(), 7, 5000);
  ASSERT_EQ(msgs.size(), 2u + 3 + 1 + 1);  // begin, a x3, b, c, end
  for (const auto& m : msgs) EXPECT_LE(m.ByteSizeLong(), 5000u + 200);
  WeightAssembler a;
  for (const auto& m : msgs) ASSERT_TRUE(a.Add(m).ok());
  auto back = a.Finish();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, Weights());
  EXPECT_EQ(a.version(), 7);
}

TEST(WeightStreamTest, DefaultChunksStayUnderGrpcLimit) {
  RawTensorMap big;
  big["x"].shape = {3 << 20};  // 12 MiB of F32
  big["x"].data.assign(12 << 20, '\1');
  auto msgs = Stream(big, 1, kMaxChunkBytes);
  EXPECT_EQ(msgs.size(), 2u + 12);
  for (const auto& m : msgs) EXPECT_LT(m.ByteSizeLong(), 4u << 20);
}

TEST(WeightStreamTest, CutOffOrTamperedStreamsAreRejected) {
  auto msgs = Stream(Weights(), 7, 5000);
  auto cut = msgs;
  cut.pop_back();
  EXPECT_THAT(Assemble(cut).status().message(), HasSubstr("cut off"));

  auto missing_chunk = msgs;
  missing_chunk.erase(missing_chunk.begin() + 2);
  EXPECT_THAT(Assemble(missing_chunk).status().message(), HasSubstr("offset"));

  auto flipped = msgs;
  (*flipped[1].mutable_chunk()->mutable_data())[10] ^= 1;
  EXPECT_THAT(Assemble(flipped).status().message(), HasSubstr("checksum"));

  auto wrong_version = msgs;
  wrong_version.back().mutable_end()->set_version(8);
  EXPECT_THAT(Assemble(wrong_version).status().message(), HasSubstr("version"));

  auto no_begin = std::vector<WeightsMessage>(msgs.begin() + 1, msgs.end());
  EXPECT_THAT(Assemble(no_begin).status().message(), HasSubstr("before the begin"));

  auto reshaped = msgs;
  reshaped[2].mutable_chunk()->set_shape(0, 99);
  EXPECT_THAT(Assemble(reshaped).status().message(), HasSubstr("shape changed"));

  auto dropped_tensor = msgs;
  dropped_tensor.erase(dropped_tensor.begin() + 4);  // b.bias
  EXPECT_FALSE(Assemble(dropped_tensor).ok());

  EXPECT_THAT(WeightAssembler().Finish().status().message(), HasSubstr("no messages"));
}

TEST(WeightStreamTest, SendErrorsStopTheStream) {
  int sent = 0;
  absl::Status s = StreamWeights(
      Weights(), 1,
      [&](const WeightsMessage&) {
        return ++sent == 3 ? absl::UnavailableError("peer gone") : absl::OkStatus();
      },
      5000);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(sent, 3);
}

TEST(WeightStreamTest, Hash64SeesEveryChangedMovedOrMissingByte) {
  std::mt19937 rng(5);
  std::string data(1000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  const uint64_t h = Hash64(data, 7);
  EXPECT_EQ(Hash64(data, 7), h);
  EXPECT_NE(Hash64(data, 8), h) << "the seed chains chunks";
  for (size_t i : {0u, 7u, 8u, 31u, 32u, 500u, 990u, 999u}) {
    for (int bit : {0, 7}) {
      std::string flipped = data;
      flipped[i] ^= char(1 << bit);
      EXPECT_NE(Hash64(flipped, 7), h) << "byte " << i << " bit " << bit;
    }
  }
  std::string moved = data;
  std::swap(moved[0], moved[40]);  // two words of the same lane
  if (moved != data) EXPECT_NE(Hash64(moved, 7), h);
  std::string words = data;
  std::swap_ranges(words.begin(), words.begin() + 8, words.begin() + 32);  // whole words
  if (words != data) EXPECT_NE(Hash64(words, 7), h);
  for (size_t n : {999u, 992u, 968u, 1u, 0u}) {
    EXPECT_NE(Hash64(absl::string_view(data).substr(0, n), 7), h) << n << " bytes";
  }
  EXPECT_NE(Hash64(std::string(8, '\0')), Hash64(std::string(16, '\0'))) << "zero tails";
}

TEST(WeightStreamTest, Hash64StateInPartsIsHash64OfTheWhole) {
  std::mt19937 rng(9);
  std::string data(5000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t len : {0u, 1u, 31u, 32u, 33u, 100u, 4999u, 5000u}) {
    const absl::string_view bytes(data.data(), len);
    for (size_t part : {1u, 5u, 31u, 32u, 64u, 1000u}) {
      Hash64State state(11);
      for (size_t at = 0; at < len; at += part) {
        state.Update(bytes.data() + at, std::min(part, len - at));
      }
      EXPECT_EQ(state.Finish(), Hash64(bytes, 11)) << len << " bytes in parts of " << part;
    }
    std::string copy(len, '\0');
    Hash64State copied(11);
    CopyAndHash(copy.data(), bytes.data(), len, &copied);
    EXPECT_EQ(copy, bytes);
    EXPECT_EQ(copied.Finish(), Hash64(bytes, 11));
  }
}

TEST(WeightStreamTest, TheChecksumComesOnlyWithTheEnd) {
  auto msgs = Stream(Weights(), 7, 5000);
  EXPECT_EQ(msgs.front().begin().checksum(), 0u);
  EXPECT_NE(msgs.back().end().checksum(), 0u);
  EXPECT_EQ(msgs.front().begin().total_bytes(), msgs.back().end().total_bytes());
  // The receiver compares the end's checksum with what arrived; the begin's is not checked.
  auto begin_says_anything = msgs;
  begin_says_anything.front().mutable_begin()->set_checksum(12345);
  EXPECT_TRUE(Assemble(begin_says_anything).ok());
  auto wrong_end = msgs;
  wrong_end.back().mutable_end()->set_checksum(msgs.back().end().checksum() + 1);
  EXPECT_THAT(Assemble(wrong_end).status().message(), HasSubstr("checksum"));
}

TEST(WeightStreamTest, OutOfOrderTensorsAreRejected) {
  auto msgs = Stream(Weights(), 7, 5000);  // begin, a x3, b, c, end
  auto swapped = msgs;
  std::swap(swapped[4], swapped[5]);  // c.empty before b.bias
  EXPECT_THAT(Assemble(swapped).status().message(), HasSubstr("out of order"));
  auto resumed = msgs;
  std::swap(resumed[3], resumed[4]);  // b.bias between two chunks of a.weight
  EXPECT_THAT(Assemble(resumed).status().message(), HasSubstr("resumed after another"));
}

// A source that hands out each tensor in pieces of `piece` bytes (and can be told to lie).
class PieceSource final : public WeightSource {
 public:
  PieceSource(const RawTensorMap& m, size_t piece) : map_(m), inner_(m), piece_(piece) {}
  const std::vector<TensorSpec>& specs() const override { return inner_.specs(); }
  absl::Status Read(size_t i, const Sink& sink) override {
    const std::string& data = std::next(map_.begin(), i)->second.data;
    for (size_t at = 0; at < data.size(); at += piece_) {
      absl::Status s = sink(absl::string_view(data).substr(at, piece_));
      if (!s.ok()) return s;
    }
    if (extra_bytes) return sink(std::string(extra_bytes, 'x'));
    return absl::OkStatus();
  }
  size_t extra_bytes = 0;

 private:
  const RawTensorMap& map_;
  RawTensorMapSource inner_;
  size_t piece_;
};

TEST(WeightStreamTest, ASourceStreamsInPiecesAndIsCheckedAgainstItsSpecs) {
  const RawTensorMap w = Weights();
  PieceSource source(w, 3000);  // chunks never span pieces: a.weight in 4 chunks of 3000
  std::vector<WeightsMessage> msgs;
  ASSERT_TRUE(StreamWeights(
                  source, 2,
                  [&](WeightsMessage&& m) {
                    msgs.push_back(std::move(m));
                    return absl::OkStatus();
                  },
                  5000)
                  .ok());
  ASSERT_EQ(msgs.size(), 2u + 4 + 1 + 1);
  auto back = Assemble(msgs);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, w);

  source.extra_bytes = 1;
  bool ended = false;
  absl::Status s = StreamWeights(source, 2, [&](WeightsMessage&& m) {
    ended |= m.has_end();
    return absl::OkStatus();
  });
  EXPECT_THAT(s.message(), HasSubstr("more than its"));
  EXPECT_FALSE(ended);

  RawTensorMap short_tensor = w;
  short_tensor["b.bias"].data.pop_back();  // 13 of 14 bytes
  RawTensorMapSource lying(short_tensor);
  s = StreamWeights(lying, 2, [&](WeightsMessage&& m) {
    ended |= m.has_end();
    return absl::OkStatus();
  });
  EXPECT_THAT(s.message(), HasSubstr("13 of its 14 bytes"));
  EXPECT_FALSE(ended);
}

// Collects serialized messages.
class StringSink final : public SerializedWeightsSink {
 public:
  char* Allocate(size_t size) override {
    next_.assign(size, '\0');
    return next_.data();
  }
  absl::Status Send() override {
    messages.push_back(next_);
    return absl::OkStatus();
  }
  std::vector<std::string> messages;

 private:
  std::string next_;
};

// The serialized stream of `w` as whole messages.
std::vector<std::string> SerializedStream(const RawTensorMap& w, int64_t version, size_t chunk) {
  RawTensorMapSource source(w);
  StringSink sink;
  EXPECT_TRUE(StreamSerializedWeights(source, version, sink, chunk).ok());
  return sink.messages;
}

// `bytes` cut into pieces of `piece` bytes (the slices a transport hands over).
std::vector<absl::string_view> Pieces(const std::string& bytes, size_t piece) {
  std::vector<absl::string_view> out;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    out.push_back(absl::string_view(bytes).substr(at, piece));
  }
  return out;
}

absl::StatusOr<RawTensorMap> AssembleSerialized(const std::vector<std::string>& msgs,
                                                size_t piece) {
  WeightAssembler a;
  for (const std::string& m : msgs) {
    const std::vector<absl::string_view> pieces = Pieces(m, piece);
    absl::Status s = a.AddSerialized(pieces);
    if (!s.ok()) return s;
  }
  return a.Finish();
}

TEST(WeightStreamTest, SerializedStreamIsTheSameMessages) {
  const RawTensorMap w = Weights();
  const auto msgs = Stream(w, 7, 5000);
  const auto serialized = SerializedStream(w, 7, 5000);
  ASSERT_EQ(serialized.size(), msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    WeightsMessage parsed;
    ASSERT_TRUE(parsed.ParseFromString(serialized[i])) << "message " << i;
    EXPECT_EQ(parsed.SerializeAsString(), msgs[i].SerializeAsString()) << "message " << i;
  }
}

// The map's bytes written into the stream's buffers (WritesInto), not read as pieces.
class WritingSource final : public WeightSource {
 public:
  explicit WritingSource(const RawTensorMap& map) : map_(map), inner_(map) {}
  const std::vector<TensorSpec>& specs() const override { return inner_.specs(); }
  absl::Status Read(size_t, const Sink&) override {
    return absl::InternalError("Read called on a source that writes into buffers");
  }
  bool WritesInto(size_t) const override { return true; }
  absl::Status WriteInto(size_t i, uint64_t offset, char* dst, size_t size) override {
    ++writes;
    std::memcpy(dst, std::next(map_.begin(), i)->second.data.data() + offset, size);
    return absl::OkStatus();
  }
  int writes = 0;

 private:
  const RawTensorMap& map_;
  RawTensorMapSource inner_;
};

TEST(WeightStreamTest, ASourceThatWritesIntoTheBuffersStreamsTheSameMessages) {
  const RawTensorMap w = Weights();
  WritingSource writing(w);
  StringSink sink;
  ASSERT_TRUE(StreamSerializedWeights(writing, 7, sink, 5000).ok());
  EXPECT_EQ(sink.messages, SerializedStream(w, 7, 5000));
  EXPECT_EQ(writing.writes, 3 + 1);  // a.weight's 12000 bytes in 3 chunks, b.bias in 1
  std::vector<WeightsMessage> msgs;
  ASSERT_TRUE(StreamWeights(
                  writing, 7,
                  [&](WeightsMessage&& m) {
                    msgs.push_back(std::move(m));
                    return absl::OkStatus();
                  },
                  5000)
                  .ok());
  auto back = Assemble(msgs);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, w);
}

TEST(WeightStreamTest, SerializedMessagesAssembleFromAnyPieces) {
  const RawTensorMap w = Weights();
  const auto serialized = SerializedStream(w, 7, 5000);
  for (size_t piece : {1u, 3u, 7u, 64u, 4999u, 1u << 20}) {
    auto back = AssembleSerialized(serialized, piece);
    ASSERT_TRUE(back.ok()) << "pieces of " << piece << ": " << back.status();
    EXPECT_EQ(*back, w) << "pieces of " << piece;
  }
  // What protobuf itself writes (no data field for an empty chunk) assembles too.
  std::vector<std::string> by_protobuf;
  for (const auto& m : Stream(w, 7, 5000)) by_protobuf.push_back(m.SerializeAsString());
  auto back = AssembleSerialized(by_protobuf, 100);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, w);
}

// The float32 values of a tensor's F32 or BF16 bytes, converted one element at a time.
std::vector<float> AsFloats(const RawTensor& t) {
  std::vector<float> out(t.NumElements());
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t bits = 0;
    if (t.dtype == DType::kF32) {
      std::memcpy(&bits, t.data.data() + 4 * i, 4);
    } else {
      uint16_t half;
      std::memcpy(&half, t.data.data() + 2 * i, 2);
      bits = uint32_t(half) << 16;
    }
    std::memcpy(&out[i], &bits, 4);
  }
  return out;
}

std::string Bits(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

TEST(WeightStreamTest, NamedTensorsDecodeIntoFloatTargetsFromAnyPieces) {
  const RawTensorMap w = Weights();  // a.weight F32, b.bias BF16 (odd count), c.empty F32
  const auto serialized = SerializedStream(w, 7, 5000);
  for (size_t piece : {1u, 3u, 7u, 4999u, 1u << 20}) {
    std::vector<float> a(3000, -1), b(7, -1);
    WeightAssembler assembler;
    assembler.DecodeInto({{"a.weight", {a.data(), {100, 30}}}, {"b.bias", {b.data(), {7}}}});
    for (const std::string& m : serialized) {
      ASSERT_TRUE(assembler.AddSerialized(Pieces(m, piece)).ok()) << "pieces of " << piece;
    }
    auto kept = assembler.Finish();
    ASSERT_TRUE(kept.ok()) << kept.status();
    // Bit for bit (the random bytes include NaNs).
    EXPECT_EQ(Bits(a), Bits(AsFloats(w.at("a.weight")))) << "pieces of " << piece;
    EXPECT_EQ(Bits(b), Bits(AsFloats(w.at("b.bias")))) << "pieces of " << piece;
    // The tensors without a target keep their bytes; the decoded ones are named.
    ASSERT_EQ(kept->size(), 1u);
    EXPECT_EQ(kept->at("c.empty"), w.at("c.empty"));
    EXPECT_THAT(assembler.decoded(), ::testing::ElementsAre("a.weight", "b.bias"));
  }
}

TEST(WeightStreamTest, ADecodeTargetOfAnotherSizeOrACutOffDecodedTensorIsRejected) {
  const RawTensorMap w = Weights();
  const auto serialized = SerializedStream(w, 7, 5000);
  std::vector<float> small(6);
  WeightAssembler wrong;
  wrong.DecodeInto({{"b.bias", {small.data(), {6}}}});
  absl::Status s;
  for (const std::string& m : serialized) {
    s = wrong.AddSerialized(Pieces(m, 64));
    if (!s.ok()) break;
  }
  EXPECT_THAT(s.message(),
              HasSubstr("tensor 'b.bias': shape [7], the receiver's parameter is [6]"));

  // The end message of a stream whose decoded tensor lost its last bytes: refused.
  std::vector<float> a(3000);
  WeightAssembler short_stream;
  short_stream.DecodeInto({{"a.weight", {a.data(), {100, 30}}}});
  auto msgs = Stream(w, 7, 5000);
  msgs.erase(msgs.begin() + 3);  // the last of a.weight's three chunks
  for (const auto& m : msgs) {
    s = short_stream.AddSerialized(Pieces(m.SerializeAsString(), 100));
    if (!s.ok()) break;
  }
  EXPECT_THAT(s.message(), HasSubstr("received 10014 bytes, the end says 12014"));
}

TEST(WeightStreamTest, ASerializedChunkWithItsDataFirstIsParsedWhole) {
  RawTensorMap w;
  w["x"].dtype = DType::kBF16;
  w["x"].shape = {3};
  w["x"].data = "abcdef";
  auto msgs = Stream(w, 1, 5000);  // begin, x, end
  ASSERT_EQ(msgs.size(), 3u);
  // Two serialized TensorChunks concatenated merge into one: data first, then the header.
  TensorChunk data_only, header_only = msgs[1].chunk();
  data_only.set_data(header_only.data());
  header_only.clear_data();
  const std::string chunk = data_only.SerializeAsString() + header_only.SerializeAsString();
  std::string message = "\x12";  // WeightsMessage.chunk, length-delimited
  message.push_back(static_cast<char>(chunk.size()));
  message += chunk;
  auto back =
      AssembleSerialized({msgs[0].SerializeAsString(), message, msgs[2].SerializeAsString()}, 5);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, w);
}

TEST(WeightStreamTest, CutOffOrTamperedSerializedStreamsAreRejected) {
  const auto serialized = SerializedStream(Weights(), 7, 5000);
  auto cut = serialized;
  cut.pop_back();
  EXPECT_THAT(AssembleSerialized(cut, 64).status().message(), HasSubstr("cut off"));

  auto flipped = serialized;
  flipped[1][flipped[1].size() - 10] ^= 1;  // in the data
  EXPECT_THAT(AssembleSerialized(flipped, 64).status().message(), HasSubstr("checksum"));

  auto truncated = serialized;
  truncated[2].resize(truncated[2].size() - 1);  // a message cut inside its data
  EXPECT_FALSE(AssembleSerialized(truncated, 64).ok());

  auto missing_chunk = serialized;
  missing_chunk.erase(missing_chunk.begin() + 2);
  EXPECT_THAT(AssembleSerialized(missing_chunk, 64).status().message(), HasSubstr("offset"));

  EXPECT_THAT(AssembleSerialized({std::string("\xff\xff")}, 64).status().message(),
              HasSubstr("does not parse"));
}

}  // namespace
}  // namespace seamless
