// The learner's memory at size, one process per rank (bench/bench_learner_memory.cc).
#ifndef SEAMLESS_BENCH_BENCH_LEARNER_MEMORY_H_
#define SEAMLESS_BENCH_BENCH_LEARNER_MEMORY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace seamless {

struct LearnerMemoryOptions {
  std::string model = "default";
  std::string sharding = "none";
  std::string precision = "fp32";
  bool checkpointing = true;
  int ranks = 1;
  int64_t groups = 2, group_size = 2, prompt_len = 64, response_len = 16, steps = 2;
  int rank = -1, master_port = 0;  // set in a rank's own process
};

// Runs `options.ranks` rank processes and returns their figures: per_rank[...] and
// bytes_per_param (the worst rank's peak RSS per parameter).
absl::StatusOr<nlohmann::json> MeasureLearnerMemory(const LearnerMemoryOptions& options);

}  // namespace seamless

#endif  // SEAMLESS_BENCH_BENCH_LEARNER_MEMORY_H_
