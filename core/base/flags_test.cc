#include "core/base/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seamless {
namespace {

using ::testing::HasSubstr;

struct Parsed {
  std::string name = "n";
  int64_t count = 1;
  double rate = 0.5;
  bool verbose = false;
};

FlagSet MakeFlags(Parsed* p) {
  FlagSet flags("tool [flags] FILE", "Does things.");
  flags.AddString("name", &p->name, "A name");
  flags.AddInt("count", &p->count, "A count");
  flags.AddDouble("rate", &p->rate, "A rate");
  flags.AddBool("verbose", &p->verbose, "Talk more");
  return flags;
}

TEST(FlagsTest, ParsesAllForms) {
  Parsed p;
  FlagSet flags = MakeFlags(&p);
  ASSERT_TRUE(
      flags.Parse({"--name=x", "--count", "5", "file.txt", "--rate=0.25", "--verbose"}).ok());
  EXPECT_EQ(p.name, "x");
  EXPECT_EQ(p.count, 5);
  EXPECT_DOUBLE_EQ(p.rate, 0.25);
  EXPECT_TRUE(p.verbose);
  EXPECT_EQ(flags.positional(), std::vector<std::string>{"file.txt"});
  EXPECT_TRUE(flags.WasSet("count"));
  Parsed q;
  q.verbose = true;
  FlagSet negated = MakeFlags(&q);
  ASSERT_TRUE(negated.Parse({"--no-verbose"}).ok());
  EXPECT_FALSE(q.verbose);
  EXPECT_FALSE(negated.WasSet("count"));
}

TEST(FlagsTest, ErrorsNameTheFlag) {
  Parsed p;
  FlagSet flags = MakeFlags(&p);
  EXPECT_THAT(flags.Parse({"--colour=red"}).message(), HasSubstr("unknown flag --colour"));
  FlagSet f2 = MakeFlags(&p);
  EXPECT_THAT(f2.Parse({"--count=many"}).message(), HasSubstr("--count: expected an integer"));
  FlagSet f3 = MakeFlags(&p);
  EXPECT_THAT(f3.Parse({"--name"}).message(), HasSubstr("--name needs a value"));
}

TEST(FlagsTest, HelpListsFlagsAndDefaults) {
  Parsed p;
  FlagSet flags = MakeFlags(&p);
  ASSERT_TRUE(flags.Parse({"--help"}).ok());
  EXPECT_TRUE(flags.help_requested());
  EXPECT_THAT(flags.Help(), HasSubstr("usage: tool [flags] FILE"));
  EXPECT_THAT(flags.Help(), HasSubstr("--count=VALUE"));
  EXPECT_THAT(flags.Help(), HasSubstr("(default: 1)"));
}

}  // namespace
}  // namespace seamless
