#include "core/model/parameter_layout.h"

#include <gtest/gtest.h>

#include "core/model/mimo_model.h"
#include "core/model/published_models.h"
#include "core/model/test_models.h"

namespace seamless {
namespace {

void ExpectMatchesModule(const ModelConfig& config) {
  MimoModel model(config);
  const auto params = model->named_parameters();
  const std::vector<ParameterSpec> layout = ParameterLayout(config);
  ASSERT_EQ(layout.size(), params.size());
  int64_t total = 0;
  for (size_t i = 0; i < layout.size(); ++i) {
    EXPECT_EQ(layout[i].name, params[i].key());
    EXPECT_EQ(at::IntArrayRef(layout[i].shape), params[i].value().sizes()) << layout[i].name;
    total += layout[i].NumElements();
  }
  EXPECT_EQ(total, config.ParameterCount());
}

TEST(ParameterLayoutTest, NamesShapesAndOrderAreTheModulesTied) {
  ExpectMatchesModule(TinyTestConfig());
}

TEST(ParameterLayoutTest, UntiedWithTwoMtpLayers) {
  ModelConfig c = TinyTestConfig();
  c.tie_word_embeddings = false;
  c.num_nextn_predict_layers = 2;
  ExpectMatchesModule(c);
}

TEST(ParameterLayoutTest, Qwen2WithoutMtp) {
  ModelConfig c = TinyTestConfig();
  c.model_type = "qwen2";
  c.num_nextn_predict_layers = 0;
  ExpectMatchesModule(c);
}

TEST(ParameterLayoutTest, InitKindsFollowTheNames) {
  for (const ParameterSpec& p : ParameterLayout(TinyTestConfig())) {
    if (p.name.find("norm") != std::string::npos) {
      EXPECT_EQ(p.init, ParameterSpec::Init::kOnes) << p.name;
    } else if (p.name.size() > 4 && p.name.substr(p.name.size() - 4) == "bias") {
      EXPECT_EQ(p.init, ParameterSpec::Init::kZeros) << p.name;
    } else {
      EXPECT_EQ(p.init, ParameterSpec::Init::kNormal) << p.name;
    }
  }
}

TEST(ParameterLayoutTest, LayerSizesAddUp) {
  const ModelConfig c = TinyTestConfig();
  int64_t per_layer[8] = {0};
  for (const ParameterSpec& p : ParameterLayout(c)) {
    if (p.layer >= 0) per_layer[p.layer] += p.NumElements();
  }
  EXPECT_EQ(per_layer[0], DecoderLayerParameters(c));
  EXPECT_EQ(per_layer[1], DecoderLayerParameters(c));
  EXPECT_EQ(per_layer[2], MtpLayerParameters(c));
}

// Published counts: Qwen2.5-0.5B is 494,032,768 parameters (tied), Qwen2.5-1.5B
// 1,543,714,304; MiMo-7B without MTP 7,616,... (HF model cards round to 0.49B, 1.54B, 7.6B).
TEST(ParameterLayoutTest, PublishedShapesHaveTheirPublishedSizes) {
  auto q05 = ModelConfigLike("qwen2.5-0.5b", 0);
  ASSERT_TRUE(q05.ok());
  EXPECT_EQ(q05->ParameterCount(), 494032768);
  EXPECT_EQ(q05->model_type, "qwen2");
  auto q15 = ModelConfigLike("qwen2.5-1.5b", 0);
  ASSERT_TRUE(q15.ok());
  EXPECT_EQ(q15->ParameterCount(), 1543714304);
  auto mimo = ModelConfigLike("mimo-7b", 0);
  ASSERT_TRUE(mimo.ok());
  EXPECT_NEAR(mimo->ParameterCount() / 1e9, 7.6, 0.05);
  auto mimo_mtp = ModelConfigLike("mimo-7b");
  ASSERT_TRUE(mimo_mtp.ok());
  EXPECT_EQ(mimo_mtp->model_type, "mimo");
  EXPECT_EQ(mimo_mtp->num_nextn_predict_layers, 1);
  EXPECT_EQ(mimo_mtp->ParameterCount() - mimo->ParameterCount(), MtpLayerParameters(*mimo));
  EXPECT_FALSE(ModelConfigLike("qwen9-1t").ok());
}

}  // namespace
}  // namespace seamless
