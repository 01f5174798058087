#include "core/base/json_limits.h"

#include <gtest/gtest.h>

#include <string>

#include "nlohmann/json.hpp"

namespace seamless {
namespace {

std::string Nested(int levels) { return std::string(levels, '[') + std::string(levels, ']'); }

TEST(JsonLimitsTest, RefusesDeepNestingWithoutRecursingAndNamesTheLimit) {
  // 150,000 levels overflowed the stack of `seamless reward score` (exit 139).
  const absl::Status s = CheckJsonLimits(Nested(150000));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "nested 150000 levels deep; at most 512");
  std::string objects;
  for (int i = 0; i < 600; ++i) objects += "{\"a\":";
  objects += "1" + std::string(600, '}');
  EXPECT_EQ(ParseJson(objects).status().message(), "nested 600 levels deep; at most 512");
}

TEST(JsonLimitsTest, AcceptsTheLimitAndCountsNoBracketsInsideStrings) {
  EXPECT_TRUE(CheckJsonLimits(Nested(kMaxJsonDepth)).ok());
  EXPECT_FALSE(CheckJsonLimits(Nested(kMaxJsonDepth + 1)).ok());
  // Brackets and an escaped quote inside a string are text, not nesting.
  const std::string text = "{\"s\": \"\\\"" + std::string(1000, '[') + "\"}";
  auto j = ParseJson(text);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)["s"].get<std::string>().size(), 1001u);
}

TEST(JsonLimitsTest, RefusesOversizedTextAndReportsParseErrors) {
  JsonLimits small;
  small.max_bytes = 4;
  const absl::Status big = CheckJsonLimits("[1, 2, 3]", small);
  EXPECT_EQ(big.message(), "9 bytes; at most 4");
  const auto broken = ParseJson("{oops");
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(broken.status().message().rfind("not JSON: ", 0), 0u) << broken.status();
}

}  // namespace
}  // namespace seamless
