#include "core/base/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seamless {
namespace {

using ::testing::HasSubstr;

struct Inner {
  double rate = 0.5;
  std::vector<int32_t> ids = {1, 2};
  template <typename V>
  void VisitFields(V& v) {
    v("rate", rate, "A rate");
    v("ids", ids, "Some ids");
  }
};

struct Outer {
  std::string name = "x";
  int64_t count = 3;
  bool enabled = false;
  Inner inner;
  template <typename V>
  void VisitFields(V& v) {
    v("name", name, "The name");
    v("count", count, "How many");
    v("enabled", enabled, "Switch");
    v("inner", inner, "Nested options");
  }
};

TEST(ConfigTest, KeepsDefaultsForMissingKeys) {
  Outer c;
  ASSERT_TRUE(LoadConfigString("count: 7\n", "c.yaml", &c).ok());
  EXPECT_EQ(c.count, 7);
  EXPECT_EQ(c.name, "x");
  EXPECT_DOUBLE_EQ(c.inner.rate, 0.5);
}

TEST(ConfigTest, ReadsNestedYamlAndJson) {
  Outer yaml, json;
  ASSERT_TRUE(LoadConfigString("name: a\ninner:\n  rate: 0.25\n  ids: [4, 5, 6]\nenabled: true\n",
                               "c.yaml", &yaml)
                  .ok());
  ASSERT_TRUE(LoadConfigString(R"({"name": "a", "inner": {"rate": 0.25, "ids": [4, 5, 6]},
                                   "enabled": true})",
                               "c.json", &json)
                  .ok());
  for (const Outer* c : {&yaml, &json}) {
    EXPECT_EQ(c->name, "a");
    EXPECT_TRUE(c->enabled);
    EXPECT_DOUBLE_EQ(c->inner.rate, 0.25);
    EXPECT_EQ(c->inner.ids, (std::vector<int32_t>{4, 5, 6}));
  }
}

// Found by fuzz/config_fuzz.cc: a key that is itself a map (`&"samp": {...}` anchors one)
// threw out of the reader (abort) instead of an error.
TEST(ConfigTest, AKeyThatIsNotAStringIsAnError) {
  Outer c;
  absl::Status s =
      LoadConfigString(R"({"name": "a", &"samp": {"top_kmax_new_tokens": 16}})", "run.yaml", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("a key must be a plain string"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("run.yaml:1"), std::string::npos) << s.message();
  EXPECT_FALSE(LoadConfigString("name: a\n? [1, 2]\n: 3\n", "run.yaml", &c).ok());
}

TEST(ConfigTest, UnknownKeyNamesFileLineAndPath) {
  Outer c;
  absl::Status s = LoadConfigString("name: a\ninner:\n  rate: 1\n  speed: 2\n", "run.yaml", &c);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("run.yaml:4"));
  EXPECT_THAT(s.message(), HasSubstr("'inner.speed'"));
  EXPECT_THAT(s.message(), HasSubstr("unknown key"));
}

TEST(ConfigTest, WrongTypeNamesKeyAndValue) {
  Outer c;
  absl::Status s = LoadConfigString("count: lots\n", "run.yaml", &c);
  EXPECT_THAT(s.message(), HasSubstr("run.yaml:1: key 'count': expected an integer, got 'lots'"));
  s = LoadConfigString("inner:\n  ids: [1, x]\n", "run.yaml", &c);
  EXPECT_THAT(s.message(), HasSubstr("'inner.ids[1]'"));
  s = LoadConfigString("enabled: maybe\n", "run.yaml", &c);
  EXPECT_THAT(s.message(), HasSubstr("'enabled': expected true or false"));
  s = LoadConfigString("inner: 3\n", "run.yaml", &c);
  EXPECT_THAT(s.message(), HasSubstr("'inner': expected a mapping"));
}

TEST(ConfigTest, SyntaxErrorNamesFileAndLine) {
  Outer c;
  absl::Status s = LoadConfigString("name: [unclosed\ncount: 1\n", "bad.yaml", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("bad.yaml:"));
}

TEST(ConfigTest, DeeplyNestedValueIsRefusedNamingFileAndLimit) {
  // yaml-cpp recurses per level; 150,000 levels of a JSON config must not reach it.
  Outer c;
  const std::string deep =
      "{\"name\": " + std::string(150000, '[') + std::string(150000, ']') + "}";
  absl::Status s = LoadConfigString(deep, "deep.json", &c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "deep.json: nested 150001 levels deep; at most 512");
}

TEST(ConfigTest, MissingFileIsNotFound) {
  Outer c;
  absl::Status s = LoadConfigFile("/nonexistent/seamless.yaml", &c);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent/seamless.yaml"));
}

TEST(ConfigTest, IgnoreModeAcceptsUnknownKeys) {
  Outer c;
  EXPECT_TRUE(LoadConfigString("other: 1\ncount: 2\n", "c", &c, UnknownKeys::kIgnore).ok());
  EXPECT_EQ(c.count, 2);
}

TEST(ConfigTest, YamlRoundTripKeepsEveryValue) {
  Outer c;
  c.name = "round trip";
  c.count = -9;
  c.enabled = true;
  c.inner.rate = 0.125;
  c.inner.ids = {7};
  Outer back;
  ASSERT_TRUE(LoadConfigString(ConfigToYaml(c), "resolved.yaml", &back).ok());
  EXPECT_EQ(back.name, c.name);
  EXPECT_EQ(back.count, c.count);
  EXPECT_EQ(back.enabled, c.enabled);
  EXPECT_DOUBLE_EQ(back.inner.rate, c.inner.rate);
  EXPECT_EQ(back.inner.ids, c.inner.ids);
}

TEST(ConfigTest, NumbersAreWrittenShortAndReadBackExactly) {
  for (double v : {0.1, 1e-4, 3e-3, 1.0 / 3.0, 2.5e-7, 123456789.125, -0.28}) {
    Outer c;
    c.inner.rate = v;
    const std::string yaml = ConfigToYaml(c);
    Outer back;
    ASSERT_TRUE(LoadConfigString(yaml, "resolved.yaml", &back).ok()) << yaml;
    EXPECT_EQ(back.inner.rate, v) << yaml;  // exactly, not approximately
  }
  EXPECT_EQ(internal::FormatShortest(0.1), "0.1");
  EXPECT_EQ(internal::FormatShortest(1e-4), "0.0001");
  EXPECT_EQ(internal::FormatShortest(0.1f),
            "0.1");  // a float's own shortest text, not its double's
  Outer c;
  c.inner.rate = 0.1;
  EXPECT_THAT(ConfigToYaml(c), HasSubstr("rate: 0.1\n"));
}

enum class Shape { kRound, kSquare, kFlatTop };
ConfigEnumTable<Shape> ConfigEnumNames(Shape) {
  static constexpr ConfigEnumName<Shape> kNames[] = {
      {Shape::kRound, "round"}, {Shape::kSquare, "square"}, {Shape::kFlatTop, "flat-top"}};
  return kNames;
}

struct Part {
  Shape shape = Shape::kRound;
  int64_t size = 1;
  template <typename V>
  void VisitFields(V& v) {
    v("shape", shape, "round | square | flat-top");
    v("size", size, "At least 1");
  }
  absl::Status Validate() const { return CheckRange("size", size, 1, 1000000); }
};

struct Machine {
  Part part;
  std::vector<Shape> spares;
  double speed = 1;
  template <typename V>
  void VisitFields(V& v) {
    v("part", part, "The part");
    v("spares", spares, "Spare shapes");
    v("speed", speed, "In (0, 10]");
  }
  absl::Status Validate() const {
    if (part.shape == Shape::kFlatTop && speed > 5) {
      return absl::InvalidArgumentError("speed above 5 needs part.shape round or square");
    }
    return CheckRange("speed", speed, 1e-3, 10);
  }
};

TEST(ConfigEnumTest, ConvertsBothWays) {
  EXPECT_STREQ(EnumToString(Shape::kFlatTop), "flat-top");
  EXPECT_EQ(EnumFromString<Shape>("square"), Shape::kSquare);
  EXPECT_EQ(EnumFromString<Shape>("Square"), std::nullopt);
  EXPECT_EQ(EnumValidNames<Shape>(), "round | square | flat-top");
  auto parsed = ParseConfigEnum<Shape>("--shape", "oval");
  EXPECT_EQ(parsed.status().message(),
            "--shape is 'oval'; valid values: round | square | flat-top");
  EXPECT_EQ(*ParseConfigEnum<Shape>("--shape", "round"), Shape::kRound);
}

TEST(ConfigEnumTest, ReadsAndWritesNames) {
  Machine m;
  ASSERT_TRUE(
      LoadConfigString("part:\n  shape: flat-top\nspares: [square, round]\n", "m.yaml", &m).ok());
  EXPECT_EQ(m.part.shape, Shape::kFlatTop);
  EXPECT_EQ(m.spares, (std::vector<Shape>{Shape::kSquare, Shape::kRound}));
  const std::string yaml = ConfigToYaml(m);
  EXPECT_THAT(yaml, HasSubstr("shape: flat-top\n"));
  EXPECT_THAT(yaml, HasSubstr("spares: [square, round]"));
  Machine back;
  ASSERT_TRUE(LoadConfigString(yaml, "resolved.yaml", &back).ok()) << yaml;
  EXPECT_EQ(back.part.shape, Shape::kFlatTop);
  EXPECT_EQ(back.spares, m.spares);
  EXPECT_THAT(DescribeConfig(Machine()), HasSubstr("part.shape = round"));
}

TEST(ConfigEnumTest, BadNameNamesFileLineKeyAndValidNames) {
  Machine m;
  absl::Status s = LoadConfigString("speed: 2\npart:\n  shape: oval\n", "m.yaml", &m);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "m.yaml:3: part.shape is 'oval'; valid values: round | square | flat-top");
  s = LoadConfigString("spares: [round, 3]\n", "m.yaml", &m);
  EXPECT_THAT(s.message(), HasSubstr("m.yaml:1: spares[1] is '3'; valid values: round |"));
  s = LoadConfigString("part:\n  shape: [round]\n", "m.yaml", &m);
  EXPECT_THAT(s.message(), HasSubstr("m.yaml:2: part.shape is a list; valid values:"));
}

TEST(ConfigValidateTest, LoaderRefusesOutOfRangeNamingFileLineAndKeyPath) {
  Machine m;
  absl::Status s = LoadConfigString("speed: 2\npart:\n  shape: square\n  size: 0\n", "m.yaml", &m);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "m.yaml:4: part.size is 0; valid range [1, 1000000]");
  Machine fresh;
  s = LoadConfigString("speed: 0\n", "m.yaml", &fresh);
  EXPECT_EQ(s.message(), "m.yaml:1: speed is 0; valid range [0.001, 10]");
}

TEST(ConfigValidateTest, ValidateConfigChecksNestedStructsFirst) {
  Machine m;
  EXPECT_TRUE(ValidateConfig(m).ok());
  m.part.size = -1;
  m.speed = 100;  // the nested error comes first
  EXPECT_EQ(ValidateConfig(m).message(), "part.size is -1; valid range [1, 1000000]");
  m.part.size = 1;
  EXPECT_EQ(ValidateConfig(m).message(), "speed is 100; valid range [0.001, 10]");
  m.speed = std::nan("");
  EXPECT_THAT(ValidateConfig(m).message(), HasSubstr("speed is nan; valid range"));
}

TEST(ConfigValidateTest, CrossFieldErrorWithoutItsKeyInTheFileNamesTheFile) {
  Machine m;
  m.speed = 8;
  absl::Status s = LoadConfigString("part:\n  shape: flat-top\n", "m.yaml", &m);
  EXPECT_EQ(s.message(), "m.yaml: speed above 5 needs part.shape round or square")
      << "the message starts with 'speed', which is not in the file";
}

TEST(ConfigTest, DescribeListsEveryKeyWithHelp) {
  std::string text = DescribeConfig(Outer());
  EXPECT_THAT(text, HasSubstr("inner.rate = 0.5"));
  EXPECT_THAT(text, HasSubstr("How many"));
}

}  // namespace
}  // namespace seamless
