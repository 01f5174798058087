// Small model configs for tests: big enough for GQA (4 query heads on 2 key/value heads),
// two layers and an MTP layer, small enough to run in milliseconds.
#ifndef SEAMLESS_CORE_MODEL_TEST_MODELS_H_
#define SEAMLESS_CORE_MODEL_TEST_MODELS_H_

#include <ATen/ATen.h>

#include <vector>

#include "core/model/kv_cache.h"
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

// The first MTP layer's logits for ids [B, 12] as generation computes them through `cache`
// in `slots`: the first 5 tokens prefilled, then one token at a time ([B, 11, V]).
inline at::Tensor IncrementalMtpLogits(MimoModel& model, const at::Tensor& ids, KvCache& cache,
                                       const std::vector<int64_t>& slots) {
  std::vector<at::Tensor> pieces;
  at::Tensor h = model->HiddenIncremental(ids.narrow(1, 0, 5), cache, slots);
  pieces.push_back(model->Logits(
      model->MtpHiddenIncremental(0, h.narrow(1, 0, 4), ids.narrow(1, 1, 4), cache, slots)));
  at::Tensor last_h = h.narrow(1, 4, 1);
  for (int64_t t = 5; t < ids.size(1); ++t) {
    at::Tensor x = ids.narrow(1, t, 1);
    pieces.push_back(model->Logits(model->MtpHiddenIncremental(0, last_h, x, cache, slots)));
    last_h = model->HiddenIncremental(x, cache, slots);
  }
  return at::cat(pieces, 1);
}

}  // namespace seamless

#endif  // SEAMLESS_CORE_MODEL_TEST_MODELS_H_
