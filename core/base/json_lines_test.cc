#include "core/base/json_lines.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace seamless {
namespace {

TEST(JsonLinesTest, VisitsEachNonBlankLineWithItsPlace) {
  std::vector<std::string> seen;
  const absl::Status status = ForEachJsonLine(
      "{\"a\": 1}\n\n  \n[2]\n", "f.jsonl", [&](const std::string& where, const nlohmann::json& j) {
        seen.push_back(where + " " + j.dump());
        return absl::OkStatus();
      });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(seen, (std::vector<std::string>{"f.jsonl:1 {\"a\":1}", "f.jsonl:4 [2]"}));
}

TEST(JsonLinesTest, StopsAtALineThatIsNotJsonOrARowThatFails) {
  int rows = 0;
  auto count = [&](const std::string&, const nlohmann::json&) {
    ++rows;
    return absl::OkStatus();
  };
  const absl::Status broken = ForEachJsonLine("1\n{oops\n2\n", "f.jsonl", count);
  EXPECT_EQ(broken.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(broken.message().rfind("f.jsonl:2: not JSON: ", 0), 0u) << broken;
  EXPECT_EQ(rows, 1);
  const absl::Status refused =
      ForEachJsonLine("1\n2\n", "f.jsonl", [](const std::string& where, const nlohmann::json&) {
        return absl::FailedPreconditionError(where);
      });
  EXPECT_EQ(refused, absl::FailedPreconditionError("f.jsonl:1"));
}

TEST(JsonLinesTest, RefusesADeeplyNestedLineWithItsPlace) {
  // 150,000 levels in a data line's ground_truth crashed `reward score` and the scheduler.
  const std::string deep =
      "{\"ground_truth\": " + std::string(150000, '[') + std::string(150000, ']') + "}";
  int rows = 0;
  const absl::Status s =
      ForEachJsonLine("{}\n" + deep + "\n", "train.jsonl", [&](const std::string&, const auto&) {
        ++rows;
        return absl::OkStatus();
      });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "train.jsonl:2: nested 150001 levels deep; at most 512");
  EXPECT_EQ(rows, 1);
}

}  // namespace
}  // namespace seamless
