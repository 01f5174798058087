// Small model configs for tests: big enough for GQA (4 query heads on 2 key/value heads),
// two layers and an MTP layer, small enough to run in milliseconds.
#ifndef SEAMLESS_CORE_MODEL_TEST_MODELS_H_
#define SEAMLESS_CORE_MODEL_TEST_MODELS_H_

#include "core/model/mimo_model.h"

namespace seamless {

inline ModelConfig TinyTestConfig() {
  ModelConfig c;
  c.vocab_size = 50;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 64;
  c.num_nextn_predict_layers = 1;
  c.rope_theta = 1000.0;
  return c;
}

// Larger init than HF's 0.02 so that logits differ visibly between positions.
inline MimoModel TinyTestModel(ModelConfig c = TinyTestConfig(), uint64_t seed = 1) {
  MimoModel model(c);
  model->InitializeWeights(seed, /*stddev=*/0.3);
  return model;
}

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_TEST_MODELS_H_
