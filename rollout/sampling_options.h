// Per-request sampling parameters, as config and on the wire (SamplingParams in common.proto).
#ifndef SEAMLESS_ROLLOUT_SAMPLING_OPTIONS_H_
#define SEAMLESS_ROLLOUT_SAMPLING_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace seamless {

struct SamplingOptions {
  double temperature = 1.0;  // 0 means greedy
  double top_p = 1.0;        // nucleus mass kept, in (0, 1]
  int64_t top_k = 0;         // 0 keeps every token
  int64_t max_new_tokens = 64;
  std::vector<int32_t> stop_token_ids;  // the tokenizer's EOS is always a stop token
  uint64_t seed = 0;

  template <typename V>
  void VisitFields(V& v) {
    v("temperature", temperature, "Softmax temperature; 0 is greedy decoding");
    v("top_p", top_p, "Nucleus sampling: keep the smallest set of tokens with this mass");
    v("top_k", top_k, "Keep only the k most likely tokens; 0 keeps all");
    v("max_new_tokens", max_new_tokens, "Generated tokens per sample at most");
    v("stop_token_ids", stop_token_ids, "Extra token ids that end a sample");
    v("seed", seed, "Random seed: same seed and weights give the same tokens");
  }

  // Names the offending field.
  absl::Status Validate() const;
};

}  // namespace seamless

#endif  // SEAMLESS_ROLLOUT_SAMPLING_OPTIONS_H_
