#include "scheduler/run_report.h"

#include <fstream>
#include <string>

#include "core/base/file_util.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace seamless {
namespace {

const char kMetrics[] =
    R"({"step": 0, "data": {"val/accuracy": 0.2}})"
    "\n"
    R"({"step": 1, "data": {"critic/score/mean": 0.41, "response_length/mean": 12.5, "actor/pg_clipfrac": 0.01, "perf/throughput": 900, "timing_s/step": 2.0, "note": "text is skipped"}})"
    "\n\n"
    R"({"step": 2, "data": {"critic/score/mean": 0.55, "response_length/mean": 11.0, "actor/pg_clipfrac": 0.02, "perf/throughput": 1100, "timing_s/step": 3.0, "val/accuracy": 0.5}})"
    "\n";

TEST(RunReportTest, ParsesVerlLinesAndSummarizes) {
  auto rows = ParseMetricsJsonl(kMetrics, "m.jsonl");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[1].data.count("note"), 0u);
  EXPECT_DOUBLE_EQ((*rows)[2].data.at("perf/throughput"), 1100);
  const RunSummary s = SummarizeRun(*rows);
  EXPECT_EQ(s.steps, 2);
  EXPECT_DOUBLE_EQ(s.start_accuracy, 0.2);
  EXPECT_DOUBLE_EQ(s.final_accuracy, 0.5);
  EXPECT_DOUBLE_EQ(s.wall_time_s, 5.0);
}

TEST(RunReportTest, MalformedLineIsNamed) {
  const std::string text = std::string(kMetrics) + "{\"step\": 3, \"data\": [1]}\n";
  auto rows = ParseMetricsJsonl(text, "run/metrics.jsonl");
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(rows.status().message().find("run/metrics.jsonl:5:"), std::string::npos)
      << rows.status();
  auto broken = ParseMetricsJsonl("{\"step\": 1, \"data\": {}}\n{not json\n", "x.jsonl");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("x.jsonl:2: not JSON"), std::string::npos)
      << broken.status();
  EXPECT_FALSE(ParseMetricsJsonl("{\"data\": {}}\n", "y").ok());  // no step
}

TEST(RunReportTest, ReportHasPlotsValuesAndConfig) {
  const std::string dir = testing::TestTempDir();
  ASSERT_TRUE(WriteFileAtomically(dir + "/metrics.jsonl", kMetrics).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/config.yaml", "trainer:\n  lr: 3e-4 # <a&b>\n").ok());
  auto path = WriteRunReport(dir);
  ASSERT_TRUE(path.ok()) << path.status();
  auto html = ReadFileToString(*path);
  ASSERT_TRUE(html.ok());
  for (const char* want : {"<svg", "Reward", "Held-out accuracy", "Response length",
                           "Clip fraction", "Throughput", "data-key=\"val/accuracy\"",
                           "data-key=\"critic/score/mean\"", "data-key=\"perf/throughput\"",
                           "0.200", "0.500", "+30.0", "5.0 s", "lr: 3e-4 # &lt;a&amp;b&gt;"}) {
    EXPECT_NE(html->find(want), std::string::npos) << "missing " << want;
  }
  // Self-contained: nothing fetched from elsewhere.
  EXPECT_EQ(html->find("<script"), std::string::npos);
  EXPECT_EQ(html->find("href="), std::string::npos);
  EXPECT_EQ(html->find("src="), std::string::npos);
}

TEST(RunReportTest, MissingKeysAreSkipped) {
  auto rows = ParseMetricsJsonl(R"({"step": 1, "data": {"other": 1}})", "m");
  ASSERT_TRUE(rows.ok());
  const std::string html = RenderRunReport(*rows, {});
  EXPECT_EQ(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("No plotted metric"), std::string::npos);
  EXPECT_NE(html.find("n/a"), std::string::npos);
  // Only the logged series of a plot is drawn.
  auto some = ParseMetricsJsonl(R"({"step": 1, "data": {"response_length/mean": 9}})", "m");
  ASSERT_TRUE(some.ok());
  const std::string one = RenderRunReport(*some, {});
  EXPECT_NE(one.find("Response length"), std::string::npos);
  EXPECT_EQ(one.find("Held-out accuracy"), std::string::npos);
}

TEST(RunReportTest, MissingMetricsFileIsAnError) {
  const std::string dir = testing::TestTempDir();
  EXPECT_FALSE(WriteRunReport(dir).ok());
}

}  // namespace
}  // namespace seamless
