#include "learner/sft.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/base/file_util.h"
#include "core/model/test_models.h"
#include "core/tokenizer/char_tokenizer.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

ModelConfig CharConfig() {
  ModelConfig c = TinyTestConfig();
  c.vocab_size = CharTokenizer().vocab_size();
  return c;
}

std::string WriteData() {
  std::string text;
  for (int a = 0; a < 4; ++a) {
    for (int b = 0; b < 4; ++b) {
      text += "{\"prompt\": \"" + std::to_string(a) + "+" + std::to_string(b) +
              "=\", \"response\": \"" + std::to_string(a + b) + "\"}\n";
    }
  }
  std::string path = testing::TestTempDir() + "/sft.jsonl";
  EXPECT_TRUE(WriteFileAtomically(path, text).ok());
  return path;
}

TEST(SftTest, LoadsExamplesWithEosAndNamesBadLines) {
  CharTokenizer tok;
  auto data = LoadSftExamples(WriteData(), tok, 64);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->size(), 16u);
  EXPECT_EQ((*data)[0].prompt_ids, *tok.Encode("0+0="));
  EXPECT_EQ((*data)[0].response_ids, std::vector<int32_t>({(*tok.Encode("0"))[0], tok.eos_id()}));
  const std::string bad = testing::TestTempDir() + "/bad.jsonl";
  ASSERT_TRUE(
      WriteFileAtomically(bad, "{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": 1}\n").ok());
  auto failed = LoadSftExamples(bad, tok, 64);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("bad.jsonl:2"), std::string::npos) << failed.status();
}

TEST(SftTest, ABatchThatCannotFitIsRefusedWithTheNumbers) {
  const ModelConfig model = TinyTestConfig();
  SftConfig config;
  config.batch_size = 100000;  // took 23 GB before the check
  const uint64_t gib = uint64_t{1} << 30;
  const absl::Status refused = CheckSftFits(model, config, 64, 1, gib);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("batch_size 100000: a micro-batch of 100000 sequence(s) x 64 "
                                   "tokens (the longest) needs"),
            std::string::npos)
      << refused;
  EXPECT_NE(refused.message().find("1.0 GiB available (MemAvailable); micro_batch_size "),
            std::string::npos)
      << refused;
  // The micro-batch it names does fit; two ranks halve each one's share; 0 bytes: unknown.
  const std::string message(refused.message());
  const size_t at = message.rfind("micro_batch_size ") + 17;
  config.micro_batch_size = std::stoll(message.substr(at));
  EXPECT_TRUE(CheckSftFits(model, config, 64, 1, gib).ok());
  config.micro_batch_size = 0;
  config.batch_size = 16;
  EXPECT_TRUE(CheckSftFits(model, config, 64, 2, gib).ok());
  EXPECT_TRUE(CheckSftFits(model, SftConfig(), 64, 1, 0).ok());
}

TEST(SftTest, LossAndMtpLossFall) {
  CharTokenizer tok;
  auto data = LoadSftExamples(WriteData(), tok, 64);
  ASSERT_TRUE(data.ok());
  SftConfig config;
  config.optim.lr = 3e-3;
  config.optim.warmup_steps = 0;
  config.batch_size = 8;
  config.micro_batch_size = 4;
  auto single = SingleRankCollective();
  auto trainer = SftTrainer::Create(TinyTestModel(CharConfig(), 1), config, single.get(), *data);
  ASSERT_TRUE(trainer.ok());
  auto first = (*trainer)->Step();
  ASSERT_TRUE(first.ok()) << first.status();
  StepOutcome last;
  for (int i = 0; i < 40; ++i) {
    auto s = (*trainer)->Step();
    ASSERT_TRUE(s.ok());
    last = *s;
  }
  EXPECT_LT(last.metrics["sft/lm_loss"], 0.5 * first->metrics["sft/lm_loss"]);
  EXPECT_LT(last.metrics["sft/mtp_loss"], 0.7 * first->metrics["sft/mtp_loss"]);
  EXPECT_EQ((*trainer)->consumed(), 41 * 8);
}

TEST(SftTest, TwoRanksMatchOneRank) {
  CharTokenizer tok;
  auto data = LoadSftExamples(WriteData(), tok, 64);
  ASSERT_TRUE(data.ok());
  SftConfig config;
  config.batch_size = 6;
  auto run = [&](Collective* c, MimoModel* out) {
    auto t = SftTrainer::Create(TinyTestModel(CharConfig(), 1), config, c, *data);
    ASSERT_TRUE(t.ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*t)->Step().ok());
    *out = (*t)->model();
  };
  MimoModel alone{nullptr}, r0{nullptr}, r1{nullptr};
  auto single = SingleRankCollective();
  run(single.get(), &alone);
  InProcessRendezvous rendezvous;
  std::thread t1([&] {
    auto c = rendezvous.Join(1, 2);
    ASSERT_TRUE(c.ok());
    run(c->get(), &r1);
  });
  auto c0 = rendezvous.Join(0, 2);
  ASSERT_TRUE(c0.ok());
  run(c0->get(), &r0);
  t1.join();
  auto p0 = r0->parameters(), p1 = r1->parameters(), pa = alone->parameters();
  for (size_t i = 0; i < p0.size(); ++i) {
    EXPECT_TRUE(p0[i].equal(p1[i]));
    EXPECT_TRUE(p0[i].allclose(pa[i], 1e-4, 1e-6));
  }
}

}  // namespace
}  // namespace seamless
