#include "core/model/model_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "absl/strings/str_format.h"
#include "core/base/file_util.h"
#include "core/model/default_model.h"
#include "core/model/test_models.h"
#include "core/model/torch_raw_tensor.h"
#include "core/tensors/safetensors.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;

at::Tensor Logits(MimoModel& m) {
  at::NoGradGuard no_grad;
  at::Tensor ids = at::arange(10, at::kLong).view({1, 10});
  return m->Logits(m->Hidden(ids));
}

TEST(ModelFilesTest, SaveLoadRoundTripIsBitwise) {
  MimoModel model = TinyTestModel();
  const std::string dir = testing::TestTempDir();
  ASSERT_TRUE(SaveModelDir(model, dir).ok());
  auto loaded = LoadModelDir(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*ExportWeights(*loaded), *ExportWeights(model));
  EXPECT_TRUE(Logits(*loaded).equal(Logits(model)));
  // Writing what was read gives the same bytes.
  const std::string again = dir + "_again";
  ASSERT_TRUE(SaveModelDir(*loaded, again).ok());
  EXPECT_EQ(*ReadFileToString(dir + "/model.safetensors"),
            *ReadFileToString(again + "/model.safetensors"));
}

// A model directory whose weights hold a NaN is refused at load, naming the tensor (it used
// to generate with NaN log-probs and exit 0).
TEST(ModelFilesTest, NonFiniteWeightsAreRefusedNamingTheTensor) {
  MimoModel model = TinyTestModel();
  {
    at::NoGradGuard no_grad;
    model->named_parameters()["model.norm.weight"][3] = std::nan("");
  }
  const std::string dir = testing::TestTempDir();
  ASSERT_TRUE(SaveModelDir(model, dir).ok());
  auto loaded = LoadModelDir(dir);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("model.norm.weight"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("NaN"));
}

TEST(ModelFilesTest, HalfPrecisionFilesLoadAsRoundedValues) {
  MimoModel model = TinyTestModel();
  for (DType dtype : {DType::kBF16, DType::kF16}) {
    const std::string dir = testing::TestTempDir(DTypeName(dtype));
    ASSERT_TRUE(SaveModelDir(model, dir, dtype).ok());
    auto raw = ReadSafetensorsDir(dir);
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(raw->at("model.norm.weight").dtype, dtype);
    auto loaded = LoadModelDir(dir);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    const at::Tensor original = model->named_parameters()["model.layers.0.mlp.up_proj.weight"];
    const at::Tensor back = (*loaded)->named_parameters()["model.layers.0.mlp.up_proj.weight"];
    EXPECT_EQ(back.dtype(), at::kFloat);
    EXPECT_TRUE(back.equal(original.to(*ToScalarType(dtype)).to(at::kFloat)));
    EXPECT_EQ(*ExportWeights(*loaded, dtype), *raw) << "half -> float -> half is exact";
  }
}

TEST(ModelFilesTest, ShardedCheckpointLoads) {
  MimoModel model = TinyTestModel();
  const std::string dir = testing::TestTempDir();
  ASSERT_TRUE(SaveModelDir(model, dir, DType::kF32, /*max_shard_bytes=*/20000).ok());
  EXPECT_TRUE(FileExists(dir + "/model.safetensors.index.json"));
  auto loaded = LoadModelDir(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(Logits(*loaded).equal(Logits(model)));
}

TEST(ModelFilesTest, ImportNamesMissingMisshapedAndForeignTensors) {
  MimoModel model = TinyTestModel();
  RawTensorMap weights = *ExportWeights(model);

  RawTensorMap missing = weights;
  missing.erase("model.mtp_layers.0.input_proj.weight");
  absl::Status s = ImportWeights(model, missing, "ckpt");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(),
              HasSubstr("ckpt: missing tensor 'model.mtp_layers.0.input_proj.weight'"));

  RawTensorMap misshaped = weights;
  misshaped["model.norm.weight"] = *TensorToRaw(at::ones({31}), DType::kF32);
  EXPECT_THAT(ImportWeights(model, misshaped, "ckpt").message(),
              HasSubstr("'model.norm.weight' has shape [31], the model needs [32]"));

  RawTensorMap foreign = weights;
  foreign["model.layers.9.mlp.up_proj.weight"] = *TensorToRaw(at::ones({2}), DType::kF32);
  EXPECT_THAT(ImportWeights(model, foreign, "ckpt").message(),
              HasSubstr("unexpected tensor 'model.layers.9.mlp.up_proj.weight'"));

  RawTensorMap integer = weights;
  integer["model.norm.weight"] = *TensorToRaw(at::ones({32}), DType::kI32);
  EXPECT_THAT(ImportWeights(model, integer, "ckpt").message(), HasSubstr("dtype I32"));

  RawTensorMap harmless = weights;  // what HF checkpoints of tied models sometimes carry
  harmless["lm_head.weight"] = weights["model.embed_tokens.weight"];
  harmless["model.layers.0.self_attn.rotary_emb.inv_freq"] =
      *TensorToRaw(at::ones({4}), DType::kF32);
  EXPECT_TRUE(ImportWeights(model, harmless, "ckpt").ok());
}

TEST(ModelFilesTest, LoadErrorsNameTheFile) {
  const std::string dir = testing::TestTempDir();
  MimoModel model = TinyTestModel();
  ASSERT_TRUE(SaveModelDir(model, dir).ok());
  std::string bytes = *ReadFileToString(dir + "/model.safetensors");
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/model.safetensors", bytes.substr(0, bytes.size() / 2)).ok());
  auto truncated = LoadModelDir(dir);
  ASSERT_FALSE(truncated.ok());
  EXPECT_THAT(truncated.status().message(), HasSubstr(dir + "/model.safetensors"));

  ASSERT_TRUE(WriteFileAtomically(dir + "/config.json", R"({"model_type": "llama"})").ok());
  EXPECT_THAT(LoadModelDir(dir).status().message(), HasSubstr("model_type"));
}

TEST(ModelConfigTest, ReadsHuggingFaceQwen2Config) {
  const std::string dir = testing::TestTempDir();
  // A trimmed real Qwen2 config: unknown keys are ignored, no MTP, GQA.
  ASSERT_TRUE(WriteFileAtomically(dir + "/config.json", R"({
    "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
    "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
    "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 21,
    "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
    "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000.0,
    "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
    "transformers_version": "4.43.1", "use_cache": true, "use_sliding_window": false,
    "vocab_size": 151936})")
                  .ok());
  auto c = ReadHfConfig(dir + "/config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hidden_size, 896);
  EXPECT_EQ(c->head_dim(), 64);
  EXPECT_EQ(c->num_key_value_heads, 2);
  EXPECT_EQ(c->num_nextn_predict_layers, 0);
  EXPECT_DOUBLE_EQ(c->rope_theta, 1e6);
  EXPECT_EQ(c->ParameterCount(), 494032768) << "Qwen2-0.5B's published parameter count";
}

TEST(ModelConfigTest, InvalidConfigsNameTheField) {
  const std::string dir = testing::TestTempDir();
  auto check = [&](const std::string& json, const std::string& expected) {
    ASSERT_TRUE(WriteFileAtomically(dir + "/config.json", json).ok());
    auto c = ReadHfConfig(dir + "/config.json");
    ASSERT_FALSE(c.ok()) << json;
    EXPECT_THAT(c.status().message(), HasSubstr(expected)) << json;
    EXPECT_THAT(c.status().message(), HasSubstr("config.json")) << json;
  };
  check(R"({"model_type": "mimo", "hidden_size": 100, "num_attention_heads": 3})",
        "num_attention_heads");
  check(R"({"model_type": "mimo", "num_attention_heads": 4, "num_key_value_heads": 3})",
        "num_key_value_heads");
  check(R"({"hidden_size": 64})", "model_type");
  check(R"({"model_type": "mimo", "hidden_size": "wide"})", "'hidden_size'");
  check(R"({"model_type": "gpt2"})", "model_type");
  // Upper bounds: 1,000,000 layers took 14 GB in `generate` before any check.
  check(R"({"model_type": "mimo", "num_hidden_layers": 1000000})",
        "model config: num_hidden_layers is 1000000; valid range [1, 1024]");
  check(R"({"model_type": "mimo", "vocab_size": 100000000})", "vocab_size is 100000000");
  check(R"({"model_type": "mimo", "hidden_size": 131072, "num_attention_heads": 4})",
        "hidden_size is 131072; valid range [1, 65536]");
  check(R"({"model_type": "mimo", "num_key_value_heads": 8})",
        "num_key_value_heads is 8; valid range [1, 4]");
  check(R"({"model_type": "mimo", "rms_norm_eps": 0})", "rms_norm_eps is 0");
  check(R"({"model_type": "mimo", "rope_theta": -1})", "rope_theta is -1");
}

TEST(ModelConfigTest, AModelTooBigForMemoryIsRefusedBeforeAnythingIsRead) {
  // Within every bound, yet 12 x 16384^2 x 1024 parameters: terabytes.
  const std::string dir = testing::TestTempDir() + "/huge";
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(WriteFileAtomically(dir + "/config.json",
                                  R"({"model_type": "qwen2", "hidden_size": 16384,
                                      "intermediate_size": 65536, "num_hidden_layers": 1024,
                                      "num_attention_heads": 128, "num_key_value_heads": 8})")
                  .ok());
  auto loaded = LoadModelDir(dir);  // no safetensors there: the memory check comes first
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kResourceExhausted) << loaded.status();
  EXPECT_THAT(loaded.status().message(), HasSubstr("huge/config.json: "));
  EXPECT_THAT(loaded.status().message(), HasSubstr("refused before allocating"));
  ModelConfig tiny;
  EXPECT_TRUE(CheckModelFitsMemory(tiny, uint64_t{1} << 30, "tiny").ok());
  EXPECT_EQ(CheckModelFitsMemory(tiny, 1000, "tiny").message(),
            absl::StrFormat("tiny: %d parameters need 0.0 GiB in fp32, 0.0 GiB available "
                            "(MemAvailable); refused before allocating",
                            tiny.ParameterCount()));
}

TEST(DefaultModelTest, IsTinyAndMatchesItsTokenizer) {
  ModelConfig c = DefaultModelConfig();
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_LT(c.ParameterCount(), 5'000'000);
  EXPECT_EQ(c.num_nextn_predict_layers, 1);
  const std::string dir = testing::TestTempDir();
  ASSERT_TRUE(WriteDefaultModelDir(dir, 3).ok());
  EXPECT_TRUE(FileExists(dir + "/seamless_tokenizer.json"));
  auto loaded = LoadModelDir(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  MimoModel fresh = CreateDefaultModel(3);
  EXPECT_EQ(*ExportWeights(*loaded), *ExportWeights(fresh));
}

}  // namespace
}  // namespace seamless
