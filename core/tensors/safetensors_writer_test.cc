#include "core/tensors/safetensors_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/tensors/safetensors.h"
#include "core/tensors/safetensors_header.h"
#include "tests/testing/raw_tensors.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;
using testing::RandomRawTensor;

// The shared sample and a BF16 matrix.
RawTensorMap Sample() {
  RawTensorMap m = testing::SampleRawTensors();
  m["model.layers.1.mlp.up_proj.weight"] = RandomRawTensor(DType::kBF16, {5, 9}, 6);
  return m;
}

// Entries in reverse name order (the writer sorts them) and a filler that hands the bytes over
// in pieces of 3.
std::vector<TensorEntry> Entries(const RawTensorMap& tensors) {
  std::vector<TensorEntry> out;
  for (const auto& [name, t] : tensors) out.push_back({name, t.dtype, t.shape});
  std::reverse(out.begin(), out.end());
  return out;
}

TensorFiller FillFrom(const RawTensorMap& tensors) {
  return [&tensors](const TensorEntry& e, const ByteSink& sink) {
    const std::string& data = tensors.at(e.name).data;
    for (size_t i = 0; i < data.size(); i += 3) {
      absl::Status s = sink(data.data() + i, std::min<size_t>(3, data.size() - i));
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  };
}

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    names.push_back(f.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(SafetensorsWriterTest, SameBytesAsTheInMemoryWriter) {
  const RawTensorMap tensors = Sample();
  for (uint64_t max_shard : {uint64_t{1} << 30, uint64_t{100}, uint64_t{1}}) {
    const std::string a = testing::TestTempDir("memory" + std::to_string(max_shard));
    const std::string b = testing::TestTempDir("stream" + std::to_string(max_shard));
    ASSERT_TRUE(WriteSafetensorsDir(a, tensors, max_shard).ok());
    ASSERT_TRUE(
        WriteSafetensorsDirStreaming(b, Entries(tensors), FillFrom(tensors), max_shard).ok());
    ASSERT_EQ(Files(a), Files(b)) << max_shard;
    for (const std::string& name : Files(a)) {
      EXPECT_EQ(*ReadFileToString(absl::StrCat(a, "/", name)),
                *ReadFileToString(absl::StrCat(b, "/", name)))
          << name;
    }
    auto back = ReadSafetensorsDir(b);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, tensors);
  }
}

TEST(SafetensorsWriterTest, HeadersReadBackWithoutTheData) {
  const RawTensorMap tensors = Sample();
  for (uint64_t max_shard : {uint64_t{1} << 30, uint64_t{40}}) {
    const std::string dir = testing::TestTempDir(std::to_string(max_shard));
    ASSERT_TRUE(
        WriteSafetensorsDirStreaming(dir, Entries(tensors), FillFrom(tensors), max_shard).ok());
    auto entries = ReadSafetensorsDirHeaders(dir);
    ASSERT_TRUE(entries.ok()) << entries.status();
    ASSERT_EQ(entries->size(), tensors.size());
    for (const TensorEntry& e : *entries) {
      EXPECT_EQ(e.dtype, tensors.at(e.name).dtype) << e.name;
      EXPECT_EQ(e.shape, tensors.at(e.name).shape) << e.name;
    }
  }
  const std::string dir = testing::TestTempDir("truncated");
  std::string bytes = SerializeSafetensors(tensors);
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/model.safetensors", bytes.substr(0, bytes.size() - 1)).ok());
  EXPECT_THAT(ReadSafetensorsDirHeaders(dir).status().message(), HasSubstr("do not hold its"));
}

TEST(SafetensorsWriterTest, LargeTensorsBypassTheBuffer) {
  RawTensorMap tensors;
  // 12 MiB, more than the 8 MiB buffer.
  tensors["big"] = RandomRawTensor(DType::kF32, {3, 1 << 20}, 7);
  tensors["small"] = RandomRawTensor(DType::kF32, {3}, 8);
  const std::string dir = testing::TestTempDir();
  auto whole = [&](const TensorEntry& e, const ByteSink& sink) {
    return sink(tensors.at(e.name).data.data(), tensors.at(e.name).data.size());
  };
  ASSERT_TRUE(WriteSafetensorsDirStreaming(dir, Entries(tensors), whole).ok());
  EXPECT_EQ(*ReadFileToString(dir + "/model.safetensors"), SerializeSafetensors(tensors));
}

TEST(SafetensorsWriterTest, WrongByteCountNamesTheTensorAndLeavesNoFile) {
  const RawTensorMap tensors = Sample();
  const std::string dir = testing::TestTempDir();
  auto short_fill = [&](const TensorEntry& e, const ByteSink& sink) {
    const std::string& data = tensors.at(e.name).data;
    return sink(data.data(), e.name == "model.norm.weight" ? data.size() - 2 : data.size());
  };
  absl::Status s = WriteSafetensorsDirStreaming(dir, Entries(tensors), short_fill);
  EXPECT_THAT(s.message(), HasSubstr("tensor 'model.norm.weight': got 6 bytes"));
  EXPECT_TRUE(Files(dir).empty()) << "no torn or temporary file is left";
}

TEST(SafetensorsWriterTest, FillerErrorsPassThrough) {
  const std::string dir = testing::TestTempDir();
  auto failing = [](const TensorEntry& e, const ByteSink&) {
    return absl::InternalError("generator broke on " + e.name);
  };
  absl::Status s = WriteSafetensorsDirStreaming(dir, {{"x", DType::kF32, {2}}}, failing);
  EXPECT_EQ(s.message(), "generator broke on x");
}

TEST(SafetensorsWriterTest, DuplicateNamesAreRefused) {
  absl::Status s = WriteSafetensorsDirStreaming(
      testing::TestTempDir(), {{"x", DType::kF32, {2}}, {"x", DType::kF32, {2}}},
      [](const TensorEntry&, const ByteSink&) { return absl::OkStatus(); });
  EXPECT_THAT(s.message(), HasSubstr("tensor 'x' twice"));
}

}  // namespace
}  // namespace seamless
