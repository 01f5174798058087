// End-to-end tests of the `seamless` binary: what a user types, what they see.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "absl/strings/str_split.h"
#include "core/base/file_util.h"
#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;
using testing::RunCommand;
using ::testing::StartsWith;

std::string Bin() { return testing::SeamlessBinary(); }

std::vector<nlohmann::json> JsonLines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

TEST(CliTest, HelpListsEverySubcommand) {
  auto r = RunCommand(Bin() + " --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* name : {"train", "rollout-worker", "reward-server", "learner", "scheduler",
                           "generate", "tokenize", "bench", "init-model"}) {
    EXPECT_THAT(r.out, HasSubstr(name));
  }
  auto sub = RunCommand(Bin() + " generate --help");
  EXPECT_EQ(sub.exit_code, 0);
  EXPECT_THAT(sub.out, HasSubstr("--temperature"));
  EXPECT_THAT(sub.out, HasSubstr("sampling.top_p"));
  auto role = RunCommand(Bin() + " rollout-worker --help");
  EXPECT_EQ(role.exit_code, 0);
  EXPECT_THAT(role.out, HasSubstr("--listen"));
}

TEST(CliTest, FailuresPrintOneLineAndExitNonZero) {
  auto unknown = RunCommand(Bin() + " frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown subcommand 'frobnicate'"));
  auto bad_flag = RunCommand(Bin() + " generate --colour=red x");
  EXPECT_EQ(bad_flag.exit_code, 1);
  EXPECT_EQ(bad_flag.err, "seamless generate: error: unknown flag --colour (see --help)\n");
  // A server started without its address fails at once, naming the missing flag.
  auto role = RunCommand(Bin() + " rollout-worker --model default");
  EXPECT_EQ(role.exit_code, 1);
  EXPECT_EQ(role.err, "seamless rollout-worker: error: --listen HOST:PORT is required\n");
}

TEST(CliTest, TokenizeRoundTripsJsonLines) {
  const std::string texts = "\"12+30=\\\\boxed{42}\"\n\"two\\nlines\\tand tab\"\n";
  auto enc = RunCommand(Bin() + " tokenize", texts);
  ASSERT_EQ(enc.exit_code, 0) << enc.err;
  auto ids = JsonLines(enc.out);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0].size(), std::string("12+30=\\boxed{42}").size());
  auto dec = RunCommand(Bin() + " tokenize --decode", enc.out);
  ASSERT_EQ(dec.exit_code, 0) << dec.err;
  auto back = JsonLines(dec.out);
  EXPECT_EQ(back[0].get<std::string>(), "12+30=\\boxed{42}");
  EXPECT_EQ(back[1].get<std::string>(), "two\nlines\tand tab");

  auto bad = RunCommand(Bin() + " tokenize", "\"ok\"\n[1,2]\n");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("stdin line 2: expected a JSON string"));
}

TEST(CliTest, InitInspectAndGenerateFromADirectory) {
  const std::string dir = testing::TestTempDir() + "/m";
  auto init = RunCommand(Bin() + " init-model --out " + dir + " --seed 5");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  auto inspect = RunCommand(Bin() + " inspect-model --model " + dir);
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_THAT(inspect.out, HasSubstr("model.mtp_layers.0.input_proj.weight"));
  EXPECT_THAT(inspect.out, HasSubstr("model_type: mimo"));

  auto gen =
      RunCommand(Bin() + " generate --model " + dir +
                 " --num-samples 3 --max-new-tokens 6 --temperature 0.9 --seed 4 'a+b=' 'c='");
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto samples = JsonLines(gen.out);
  ASSERT_EQ(samples.size(), 6u);
  for (const auto& s : samples) {
    EXPECT_EQ(s["token_ids"].size(), s["logprobs"].size());
    EXPECT_LE(s["token_ids"].size(), 6u);
    for (const auto& lp : s["logprobs"]) EXPECT_LE(lp.get<double>(), 0.0);
  }
  EXPECT_EQ(samples[5]["prompt_index"], 1);
  EXPECT_EQ(samples[5]["sample_index"], 2);
  // Same seed, same output: a second run reproduces the first exactly.
  auto again =
      RunCommand(Bin() + " generate --model " + dir +
                 " --num-samples 3 --max-new-tokens 6 --temperature 0.9 --seed 4 'a+b=' 'c='");
  EXPECT_EQ(again.out, gen.out);
}

TEST(CliTest, ConfigErrorsNameFileLineAndKey) {
  const std::string dir = testing::TestTempDir();
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/gen.yaml", "model: default\nsampling:\n  temprature: 0.5\n")
          .ok());
  auto typo = RunCommand(Bin() + " generate --config " + dir + "/gen.yaml x");
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_THAT(typo.err, HasSubstr("gen.yaml:3: key 'sampling.temprature': unknown key"));
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/gen.json", "{\"sampling\": {\"max_new_tokens\": \"many\"}}")
          .ok());
  auto type = RunCommand(Bin() + " generate --config " + dir + "/gen.json x");
  EXPECT_THAT(type.err, HasSubstr("'sampling.max_new_tokens': expected an integer, got 'many'"));
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/ok.yaml", "sampling:\n  temperature: 0\n  max_new_tokens: 3\n")
          .ok());
  auto ok = RunCommand(Bin() + " generate --config " + dir + "/ok.yaml 1+1=");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(JsonLines(ok.out)[0]["token_ids"].size(), 3u);
}

TEST(CliTest, BadModelDirectoryIsAClearError) {
  const std::string dir = testing::TestTempDir();
  auto r = RunCommand(Bin() + " generate --model " + dir + " x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("seamless generate: error: " + dir + "/config.json"));
  // 1,000,000 layers took 14 GB in generate before any check, and inspect-model accepted it.
  const std::string huge = dir + "/huge";
  auto init = RunCommand(Bin() + " init-model --out " + huge);
  ASSERT_EQ(init.exit_code, 0) << init.err;
  auto config = nlohmann::json::parse(*ReadFileToString(huge + "/config.json"));
  config["num_hidden_layers"] = 1000000;
  ASSERT_TRUE(WriteFileAtomically(huge + "/config.json", config.dump()).ok());
  for (const std::string& command :
       {" generate --model " + huge + " x", " inspect-model --model " + huge}) {
    auto refused = RunCommand(Bin() + command);
    EXPECT_EQ(refused.exit_code, 1) << command;
    EXPECT_THAT(refused.err, HasSubstr(huge + "/config.json: model config: num_hidden_layers is "
                                              "1000000; valid range [1, 1024]"));
  }
}

TEST(CliTest, BenchModelPrintsJson) {
  auto r = RunCommand(Bin() + " bench model --batch 4 --seq-len 32 --decode-steps 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string last = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1);
  auto j = nlohmann::json::parse(last);
  for (const char* key : {"matmul_gflops", "forward_tokens_per_s", "decode_tokens_per_s_b1",
                          "decode_tokens_per_s_b64", "model_flops_vs_matmul_peak"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_GT(j[key].get<double>(), 0) << key;
  }
}

}  // namespace
}  // namespace seamless
