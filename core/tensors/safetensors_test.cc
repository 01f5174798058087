#include "core/tensors/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "core/base/file_util.h"
#include "core/tensors/safetensors_file_reader.h"
#include "tests/testing/raw_tensors.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;
using testing::RandomRawTensor;

RawTensorMap Sample() { return testing::SampleRawTensors(); }

// Rewrites the JSON header of a serialized file (keeping its length field consistent).
std::string WithHeader(const std::string& file, const std::string& header) {
  uint64_t old_len = 0;
  std::memcpy(&old_len, file.data(), 8);
  std::string out(8, '\0');
  uint64_t len = header.size();
  std::memcpy(out.data(), &len, 8);
  return out + header + file.substr(8 + old_len);
}

TEST(SafetensorsTest, RoundTripIsBitwise) {
  RawTensorMap in = Sample();
  SafetensorsMetadata meta;
  std::string bytes = SerializeSafetensors(in, {{"format", "pt"}, {"note", "x"}});
  auto out = ParseSafetensors(bytes, "mem", &meta);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, in);
  EXPECT_EQ(meta["note"], "x");
  EXPECT_EQ(SerializeSafetensors(*out, {{"format", "pt"}, {"note", "x"}}), bytes);
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  EXPECT_EQ(header_len % 8, 0u) << "header padded to 8 bytes";
}

TEST(SafetensorsTest, ReadsFileWrittenByHand) {
  // The format's reference layout: header {"a": F32 [2] at [0, 8]}.
  std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string bytes(8, '\0');
  uint64_t len = header.size();
  std::memcpy(bytes.data(), &len, 8);
  float values[2] = {1.5f, -2.0f};
  bytes += header + std::string(reinterpret_cast<char*>(values), 8);
  auto out = ParseSafetensors(bytes, "hand.safetensors");
  ASSERT_TRUE(out.ok()) << out.status();
  float back[2];
  std::memcpy(back, out->at("a").data.data(), 8);
  EXPECT_EQ(back[0], 1.5f);
  EXPECT_EQ(back[1], -2.0f);
}

// The reader a checkpoint resumes through: each tensor read when asked, equal to the whole
// file parsed; a cut-off file is refused when it opens, naming it.
TEST(SafetensorsTest, FileReaderReadsOneTensorAtATime) {
  const RawTensorMap in = Sample();
  const std::string path = testing::TestTempDir() + "/r.safetensors";
  ASSERT_TRUE(WriteSafetensorsFile(path, in).ok());
  auto reader = SafetensorsFileReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<std::string> names;
  for (const auto& item : in) names.push_back(item.first);
  EXPECT_EQ((*reader)->Names(), names);
  for (auto it = in.rbegin(); it != in.rend(); ++it) {  // any order
    EXPECT_TRUE((*reader)->Has(it->first));
    absl::Status read = (*reader)->With(it->first, "r", [&](const RawTensor& raw) {
      EXPECT_EQ(raw, it->second) << it->first;
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;
  }
  absl::Status missing =
      (*reader)->With("nope", "the checkpoint", [](const RawTensor&) { return absl::OkStatus(); });
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("the checkpoint lacks 'nope'"));

  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  auto cut = SafetensorsFileReader::Open(path);
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(cut.status().message(), HasSubstr(path));
  EXPECT_EQ(SafetensorsFileReader::Open(path + ".absent").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SafetensorsTest, TruncatedFilesNameTheFile) {
  std::string bytes = SerializeSafetensors(Sample());
  EXPECT_THAT(ParseSafetensors(bytes.substr(0, 5), "m.safetensors").status().message(),
              HasSubstr("m.safetensors: truncated"));
  EXPECT_THAT(ParseSafetensors(bytes.substr(0, 20), "m.safetensors").status().message(),
              HasSubstr("header says"));
  auto cut = ParseSafetensors(bytes.substr(0, bytes.size() - 3), "m.safetensors");
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(cut.status().message(), HasSubstr("tensor '"));
}

TEST(SafetensorsTest, LyingHeadersAreRejected) {
  std::string bytes = SerializeSafetensors({{"a", RandomRawTensor(DType::kF32, {2}, 1)}});
  struct Case {
    std::string header, expected;
  };
  std::vector<Case> cases = {
      {R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "need 12"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,80]}})", "fall outside"},
      {R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", "unknown dtype 'Q4'"},
      {R"({"a":{"shape":[2],"data_offsets":[0,8]}})", "missing dtype"},
      {R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", "non-integer"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", "data_offsets"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
          "b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
       "overlap"},
      {R"([1,2])", "not a JSON object"},
      {R"({"a":)", "not a JSON object"},
      // The shared depth guard runs before the parser (core/base/json_limits.h).
      {"{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}",
       "nested 5001 levels deep; at most 512"},
  };
  for (const auto& c : cases) {
    auto out = ParseSafetensors(WithHeader(bytes, c.header), "x.safetensors");
    ASSERT_FALSE(out.ok()) << c.header;
    EXPECT_THAT(out.status().message(), HasSubstr(c.expected)) << c.header;
    EXPECT_THAT(out.status().message(), HasSubstr("x.safetensors")) << c.header;
  }
  std::string huge(8, '\xff');
  EXPECT_THAT(ParseSafetensors(huge + "{}", "h").status().message(), HasSubstr("exceeds"));
}

TEST(SafetensorsTest, RandomCorruptionNeverCrashes) {
  std::string good = SerializeSafetensors(Sample());
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = good;
    const int flips = 1 + rng() % 4;
    for (int f = 0; f < flips; ++f) bad[rng() % bad.size()] = static_cast<char>(rng());
    if (rng() % 3 == 0) bad.resize(rng() % bad.size());
    auto out = ParseSafetensors(bad, "fuzz");  // must return, ok or not
    if (out.ok()) {
      for (const auto& [name, t] : *out) {
        EXPECT_EQ(t.data.size(), t.NumElements() * DTypeSize(t.dtype));
      }
    }
  }
}

TEST(SafetensorsTest, SingleFileDirectory) {
  std::string dir = testing::TestTempDir();
  ASSERT_TRUE(WriteSafetensorsDir(dir, Sample()).ok());
  EXPECT_TRUE(FileExists(dir + "/model.safetensors"));
  auto back = ReadSafetensorsDir(dir);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, Sample());
}

TEST(SafetensorsTest, ShardedDirectoryWithIndex) {
  std::string dir = testing::TestTempDir();
  ASSERT_TRUE(WriteSafetensorsDir(dir, Sample(), /*max_shard_bytes=*/64).ok());
  EXPECT_TRUE(FileExists(dir + "/model.safetensors.index.json"));
  EXPECT_TRUE(FileExists(dir + "/model-00001-of-00002.safetensors"));
  EXPECT_FALSE(FileExists(dir + "/model.safetensors"));
  auto back = ReadSafetensorsDir(dir);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, Sample());

  // An index that lists a tensor its shard lacks.
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/model.safetensors.index.json",
                          R"({"weight_map": {"ghost": "model-00001-of-00002.safetensors"}})")
          .ok());
  auto missing = ReadSafetensorsDir(dir);
  EXPECT_THAT(missing.status().message(), HasSubstr("'ghost'"));
  EXPECT_THAT(missing.status().message(), HasSubstr("model-00001-of-00002.safetensors"));
}

TEST(SafetensorsTest, EmptyDirectoryIsNotFound) {
  auto out = ReadSafetensorsDir(testing::TestTempDir());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace seamless
