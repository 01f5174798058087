#include "reward/math_verifier.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "reward/answer_extraction.h"
#include "reward/math_expression.h"
#include "tests/testing/subprocess.h"

namespace seamless {
namespace {

using testing::SourceDir;

struct Pair {
  int line;
  bool equivalent;
  std::string truth, response;
};

std::vector<Pair> LoadCorpus() {
  std::ifstream in(SourceDir() + "/reward/testdata/math_pairs.tsv");
  std::vector<Pair> pairs;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    const size_t t1 = line.find('\t');
    const size_t t2 = line.find('\t', t1 + 1);
    if (t1 == std::string::npos || t2 == std::string::npos) {
      ADD_FAILURE() << "math_pairs.tsv:" << n << ": expected three tab-separated fields";
      continue;
    }
    pairs.push_back(
        {n, line.substr(0, t1) == "1", line.substr(t1 + 1, t2 - t1 - 1), line.substr(t2 + 1)});
  }
  return pairs;
}

TEST(MathVerifierTest, LabelledCorpus) {
  const std::vector<Pair> pairs = LoadCorpus();
  ASSERT_GE(pairs.size(), 300u) << "corpus missing or too small";
  int positives = 0, negatives = 0;
  MathVerifier verifier;
  for (const Pair& p : pairs) {
    const MathVerdict v = verifier.Verify(p.response, p.truth);
    EXPECT_EQ(v.equivalent, p.equivalent)
        << "math_pairs.tsv:" << p.line << " truth=[" << p.truth << "] response=[" << p.response
        << "] extracted=[" << v.answer << "] normalised=[" << NormalizeMathAnswer(v.answer)
        << "] vs [" << NormalizeMathAnswer(p.truth) << "]";
    (p.equivalent ? positives : negatives)++;
  }
  EXPECT_GE(positives, 100);
  EXPECT_GE(negatives, 80);
}

TEST(AnswerExtractionTest, BoxedNestedAndLast) {
  EXPECT_EQ(*ExtractBoxed("a \\boxed{\\frac{1}{2}} b"), "\\frac{1}{2}");
  EXPECT_EQ(*ExtractBoxed("\\boxed{1} then \\boxed{{2}}"), "{2}");
  EXPECT_FALSE(ExtractBoxed("\\boxed{1} then \\boxed{2"));
  EXPECT_FALSE(ExtractBoxed("no box"));
  EXPECT_EQ(*ExtractBoxed("\\boxed{\\{1\\}}"), "\\{1\\}");
  bool found = false;
  EXPECT_FALSE(ExtractBoxed("\\boxed{", &found));
  EXPECT_TRUE(found);
}

TEST(AnswerExtractionTest, ConfigurableMarkers) {
  MathVerifierOptions options;
  options.answer_markers = {"Final:"};
  MathVerifier verifier(options);
  EXPECT_TRUE(verifier.Verify("work... Final: 12", "12").equivalent);
  EXPECT_FALSE(verifier.Verify("work... #### 12", "12").extracted);
  EXPECT_TRUE(MathVerifier().Verify("work... #### 12", "12").equivalent);
}

TEST(MathExpressionTest, Evaluates) {
  auto v = [](const char* s) {
    auto e = MathExpression::Parse(NormalizeMathAnswer(s));
    return e ? e->Evaluate() : -12345.0;
  };
  EXPECT_DOUBLE_EQ(v("2+3*4"), 14);
  EXPECT_DOUBLE_EQ(v("2^3^2"), 512);
  EXPECT_DOUBLE_EQ(v("-2^2"), -4);
  EXPECT_DOUBLE_EQ(v("\\frac{3}{4}"), 0.75);
  EXPECT_DOUBLE_EQ(v("3\\frac{1}{2}"), 3.5);
  EXPECT_DOUBLE_EQ(v("2(3+1)"), 8);
  EXPECT_DOUBLE_EQ(v("\\sqrt[3]{27}"), 3);
  EXPECT_DOUBLE_EQ(v("5!"), 120);
  EXPECT_FALSE(MathExpression::Parse("2+"));
  EXPECT_FALSE(MathExpression::Parse("yes"));
  EXPECT_FALSE(MathExpression::Parse(std::string(500, '(') + "1" + std::string(500, ')')));
}

TEST(MathVerifierTest, NormalizesLatex) {
  EXPECT_EQ(NormalizeMathAnswer("\\left( \\dfrac{1}{2}, 3 \\right)"), "(\\frac{1}{2},3)");
  EXPECT_EQ(NormalizeMathAnswer("\\$1{,}000.50"), "1000.50");
  bool percent = false;
  EXPECT_EQ(NormalizeMathAnswer("12.5\\%", &percent), "12.5");
  EXPECT_TRUE(percent);
  EXPECT_EQ(NormalizeMathAnswer("30^\\circ"), "30");
  EXPECT_EQ(NormalizeMathAnswer("5\\text{ cm}^2"), "5");
}

// Garbage must give reward 0 quickly: never a crash, hang or exception.
TEST(MathVerifierTest, GarbageIsZeroAndFast) {
  MathVerifier verifier;
  std::vector<std::string> garbage = {
      std::string(1 << 20, '{'),
      "\\boxed{" + std::string(1 << 20, '{'),
      "\\boxed{" + std::string(1 << 20, '}'),
      std::string(1 << 20, '\\'),
      "\\boxed{" + std::string(5000, '1') + "}",
      "\\boxed{" + std::string(900, '(') + "1" + std::string(900, ')') + "}",
      "\\boxed{" + std::string(999, '-') + "1}",
      "\\boxed{" + std::string(999, '^') + "}",
      "\\boxed{\\frac\\frac\\frac\\frac}",
      "\\boxed{\\sqrt[}",
      "\\boxed{1,,,,,,}",
  };
  std::string big;
  for (int i = 0; i < (1 << 20); ++i) big += "\\boxed{";
  garbage.push_back(big);
  std::mt19937 rng(7);
  for (int k = 0; k < 50; ++k) {
    std::string bytes(4096 + k, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    garbage.push_back(bytes);
    garbage.push_back("\\boxed{" + bytes.substr(0, 200) + "}");
  }
  for (const std::string& g : garbage) {
    const auto start = std::chrono::steady_clock::now();
    const MathVerdict v = verifier.Verify(g, "42");
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_FALSE(v.equivalent);
    // "Quickly, never a hang": a bound far above any sane run (speed is bench reward's).
    EXPECT_LT(seconds, 10.0) << "input of " << g.size() << " bytes";
    EXPECT_FALSE(verifier.Verify("\\boxed{42}", g).equivalent);
  }
}

}  // namespace
}  // namespace seamless
