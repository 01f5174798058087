#include "core/tensors/weight_stream.h"

#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
  EXPECT_TRUE(StreamWeights(w, version, [&](const WeightsMessage& m) {
                out.push_back(m);
                return absl::OkStatus();
              }, chunk).ok());
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
  absl::Status s = StreamWeights(Weights(), 1, [&](const WeightsMessage&) {
    return ++sent == 3 ? absl::UnavailableError("peer gone") : absl::OkStatus();
  }, 5000);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(sent, 3);
}

}  // namespace
}  // namespace seamless
