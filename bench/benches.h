// The benchmarks behind `seamless bench WHAT`, one file each (bench/bench_WHAT.cc). Each takes
// the arguments after WHAT, prints readable lines, and ends with one JSON line of figures.
#ifndef SEAMLESS_BENCH_BENCHES_H_
#define SEAMLESS_BENCH_BENCHES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace seamless {

// `seamless bench WHAT ARGS...`: runs the benchmark named WHAT (bench/bench_command.cc).
absl::Status RunBench(const std::vector<std::string>& args);

absl::Status RunBenchModel(const std::vector<std::string>& args);
absl::Status RunBenchPipeline(const std::vector<std::string>& args);
absl::Status RunBenchRecipe(const std::vector<std::string>& args);
absl::Status RunBenchReward(const std::vector<std::string>& args);
absl::Status RunBenchLearner(const std::vector<std::string>& args);
absl::Status RunBenchLearnerMemory(const std::vector<std::string>& args);
absl::Status RunBenchRollout(const std::vector<std::string>& args);
absl::Status RunBenchTokenizer(const std::vector<std::string>& args);
absl::Status RunBenchChaos(const std::vector<std::string>& args);

}  // namespace seamless

#endif  // SEAMLESS_BENCH_BENCHES_H_
