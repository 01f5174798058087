// The HTML report of a training run: reads the run directory's metrics.jsonl (verl's file
// format, one `{"step": N, "data": {"name": value, ...}}` per line) and writes report.html, a
// self-contained page (no external scripts or styles) with inline SVG line plots of reward,
// held-out accuracy, response length, clip fraction and throughput, and a summary table.
// `seamless train` writes it at the end of a run; `seamless report RUN_DIR` regenerates it.
#ifndef SEAMLESS_SCHEDULER_RUN_REPORT_H_
#define SEAMLESS_SCHEDULER_RUN_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace seamless {

struct MetricsRow {
  int64_t step = 0;
  // Numeric values only: booleans count as 0/1; strings, nulls and nested values are skipped.
  std::map<std::string, double> data;
};

// Parses metrics.jsonl text; `file` names it in errors ("FILE:LINE: ..."). Blank lines are
// skipped; a line that is not a JSON object with an integer "step" and an object "data" is
// an error.
absl::StatusOr<std::vector<MetricsRow>> ParseMetricsJsonl(const std::string& text,
                                                          const std::string& file);
absl::StatusOr<std::vector<MetricsRow>> ReadMetricsJsonl(const std::string& path);

struct RunSummary {
  int64_t steps = 0;  // the largest step
  int64_t rows = 0;
  double start_accuracy = -1;  // first val/accuracy (-1: none logged)
  double final_accuracy = -1;  // last val/accuracy
  double best_accuracy = -1;
  double wall_time_s = -1;  // sum of timing_s/step, else the last time/elapsed_s (-1: none)
};
RunSummary SummarizeRun(const std::vector<MetricsRow>& rows);

struct ReportInputs {
  std::string title = "Seamless run";
  std::string run_dir;
  std::string config_yaml;  // shown verbatim when non-empty
};

// The whole page.
std::string RenderRunReport(const std::vector<MetricsRow>& rows, const ReportInputs& inputs);

// Reads RUN_DIR/metrics.jsonl (and RUN_DIR/config.yaml when present) and writes
// RUN_DIR/report.html; returns its path.
absl::StatusOr<std::string> WriteRunReport(const std::string& run_dir);

}  // namespace seamless

#endif  // SEAMLESS_SCHEDULER_RUN_REPORT_H_
