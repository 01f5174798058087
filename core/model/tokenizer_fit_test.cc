#include "core/model/tokenizer_fit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/model/model_loading.h"
#include "core/model/random_model_writer.h"
#include "core/model/test_models.h"
#include "core/tokenizer/char_tokenizer.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

using ::testing::HasSubstr;

TEST(TokenizerFitTest, FittingTokenizerIsOk) {
  CharTokenizer chars;
  EXPECT_TRUE(CheckTokenizerFitsModel(chars, "t.json", chars.vocab_size(), "c.json").ok());
}

TEST(TokenizerFitTest, TooManyIdsNamesTheFilesLineKeyAndRange) {
  const std::string dir = testing::TestTempDir();
  ModelConfig c = TinyTestConfig();  // vocab 50; the character tokenizer has 100 ids
  RandomModelOptions o;
  ASSERT_TRUE(WriteRandomModelDir(c, dir, o).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/seamless_tokenizer.json", CharTokenizer().ToJson()).ok());
  EXPECT_EQ(TokenizerFileIn(dir), dir + "/seamless_tokenizer.json");
  CharTokenizer chars;
  absl::Status s =
      CheckTokenizerFitsModel(chars, TokenizerFileIn(dir), c.vocab_size, dir + "/config.json");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(dir + "/seamless_tokenizer.json: ids go up to 99"));
  const std::string text = *ReadFileToString(dir + "/config.json");
  const int line = 1 + std::count(text.begin(), text.begin() + text.find("\"vocab_size\""), '\n');
  EXPECT_GT(line, 1);
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat(dir, "/config.json:", line,
                                                  ": key 'vocab_size' is 50, so ids must be "
                                                  "in [0, 49]")));
}

TEST(TokenizerFitTest, LoadingTheModelDirectoryChecksIt) {
  const std::string dir = testing::TestTempDir();
  ASSERT_TRUE(WriteRandomModelDir(TinyTestConfig(), dir, RandomModelOptions()).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/seamless_tokenizer.json", CharTokenizer().ToJson()).ok());
  auto loaded = LoadModelOrDefault(dir);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr(dir + "/seamless_tokenizer.json: ids go up to 99"));
  EXPECT_TRUE(LoadModelOrDefault("default").ok());
}

TEST(TokenizerFitTest, EmptyDirectoryNamesAPlainTokenizerJson) {
  EXPECT_EQ(TokenizerFileIn("/nonexistent"), "/nonexistent/tokenizer.json");
}

}  // namespace
}  // namespace seamless
