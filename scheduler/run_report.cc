#include "scheduler/run_report.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/file_util.h"
#include "core/base/json_lines.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace seamless {

namespace {
// One line of metrics.jsonl, {"step": n, "data": {...}}: the numbers (booleans as 0 or 1).
absl::StatusOr<MetricsRow> MetricsRowFrom(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": expected {\"step\": integer, \"data\": {...}}"));
  }
  if (!j.contains("data") || !j["data"].is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": \"data\" must be an object"));
  }
  MetricsRow row;
  row.step = j["step"].get<int64_t>();
  for (const auto& [key, value] : j["data"].items()) {
    if (value.is_number()) {
      const double v = value.get<double>();
      if (std::isfinite(v)) row.data[key] = v;
    } else if (value.is_boolean()) {
      row.data[key] = value.get<bool>() ? 1.0 : 0.0;
    }
  }
  return row;
}
}  // namespace

absl::StatusOr<std::vector<MetricsRow>> ParseMetricsJsonl(const std::string& text,
                                                          const std::string& file) {
  std::vector<MetricsRow> rows;
  RETURN_IF_ERROR(ForEachJsonLine(
      text, file, [&](const std::string& where, const nlohmann::json& j) -> absl::Status {
        ASSIGN_OR_RETURN(MetricsRow row, MetricsRowFrom(j, where));
        rows.push_back(std::move(row));
        return absl::OkStatus();
      }));
  return rows;
}

absl::StatusOr<std::vector<MetricsRow>> ReadMetricsJsonl(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseMetricsJsonl(text, path);
}

RunSummary SummarizeRun(const std::vector<MetricsRow>& rows) {
  RunSummary s;
  s.rows = int64_t(rows.size());
  double step_time = 0, last_elapsed = -1;
  bool any_step_time = false;
  for (const MetricsRow& row : rows) {
    s.steps = std::max(s.steps, row.step);
    if (auto it = row.data.find("val/accuracy"); it != row.data.end()) {
      if (s.start_accuracy < 0) s.start_accuracy = it->second;
      s.final_accuracy = it->second;
      s.best_accuracy = std::max(s.best_accuracy, it->second);
    }
    if (auto it = row.data.find("timing_s/step"); it != row.data.end()) {
      step_time += it->second;
      any_step_time = true;
    }
    if (auto it = row.data.find("time/elapsed_s"); it != row.data.end()) last_elapsed = it->second;
  }
  s.wall_time_s = any_step_time ? step_time : last_elapsed;
  return s;
}

namespace {

std::string Escape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Num(double v) { return absl::StrFormat("%.4g", v); }

struct Series {
  std::string key;
  std::string label;
};

struct PlotSpec {
  std::string title;
  std::string y_label;
  std::vector<Series> series;
  bool unit_range = false;  // a share: the y axis spans [0, 1] when the values fit
};

const std::vector<PlotSpec>& Plots() {
  static const auto* plots = new std::vector<PlotSpec>{
      {"Reward",
       "mean score",
       {{"critic/score/mean", "training batch (critic/score/mean)"},
        {"rollout/score_all", "all rollouts (rollout/score_all)"}}},
      {"Held-out accuracy",
       "accuracy",
       {{"val/accuracy", "val/accuracy"}, {"val/accuracy_sampled", "val/accuracy_sampled"}},
       true},
      {"Response length", "tokens", {{"response_length/mean", "response_length/mean"}}},
      {"Clip fraction",
       "share of tokens",
       {{"actor/pg_clipfrac", "actor/pg_clipfrac"},
        {"actor/pg_clipfrac_lower", "actor/pg_clipfrac_lower"}}},
      {"Throughput",
       "tokens/s",
       {{"perf/throughput", "perf/throughput"},
        {"perf/rollout_tokens_per_s", "perf/rollout_tokens_per_s"}}},
  };
  return *plots;
}

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

// "Nice" tick spacing (1, 2 or 5 times a power of ten) for about `count` intervals.
double TickStep(double span, int count) {
  const double raw = span / count;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

// One plot as inline SVG, or an empty string when none of its series was logged.
std::string RenderPlot(const PlotSpec& spec, const std::vector<MetricsRow>& rows) {
  std::vector<std::pair<const Series*, std::vector<std::pair<double, double>>>> lines;
  for (const Series& s : spec.series) {
    std::vector<std::pair<double, double>> points;
    for (const MetricsRow& row : rows) {
      if (auto it = row.data.find(s.key); it != row.data.end()) {
        points.emplace_back(double(row.step), it->second);
      }
    }
    if (!points.empty()) lines.emplace_back(&s, std::move(points));
  }
  if (lines.empty()) return "";
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto& [s, points] : lines) {
    for (const auto& [x, y] : points) {
      x0 = std::min(x0, x), x1 = std::max(x1, x);
      y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  if (spec.unit_range && y0 >= 0 && y1 <= 1) {
    y0 = 0, y1 = 1;
  } else {
    if (y0 > 0 && y0 < 0.5 * y1) y0 = 0;  // start at zero unless that flattens the curve
    if (y1 == y0) y0 -= 1, y1 += 1;
    const double step = TickStep(y1 - y0, 4);
    y0 = std::floor(y0 / step) * step;
    y1 = std::ceil(y1 / step) * step;
  }
  if (x1 == x0) x0 -= 1, x1 += 1;
  constexpr double kW = 640, kH = 250, kLeft = 64, kRight = 16, kTop = 28, kBottom = 40;
  auto px = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * (kW - kLeft - kRight); };
  auto py = [&](double y) { return kH - kBottom - (y - y0) / (y1 - y0) * (kH - kTop - kBottom); };

  std::string svg = absl::StrFormat(
      "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
      "viewBox=\"0 0 %g %g\" role=\"img\" aria-label=\"%s\">\n",
      kW, kH, kW, kH, Escape(spec.title));
  absl::StrAppendFormat(&svg, "<text x=\"%g\" y=\"18\" class=\"title\">%s</text>\n", kLeft,
                        Escape(spec.title));
  // Grid and y ticks.
  const double ystep = TickStep(y1 - y0, 4);
  for (double y = y0; y <= y1 + 1e-9 * (y1 - y0); y += ystep) {
    absl::StrAppendFormat(
        &svg,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
        "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>\n",
        kLeft, py(y), kW - kRight, py(y), kLeft - 6, py(y) + 4, Num(y));
  }
  const double xstep = std::max(1.0, TickStep(x1 - x0, 6));
  for (double x = std::ceil(x0 / xstep) * xstep; x <= x1 + 1e-9; x += xstep) {
    absl::StrAppendFormat(
        &svg, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">%s</text>\n",
        px(x), kH - kBottom + 16, Num(x));
  }
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" class=\"axis\"/>"
                        "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" class=\"axis\"/>\n",
                        kLeft, kTop, kLeft, kH - kBottom, kLeft, kH - kBottom, kW - kRight,
                        kH - kBottom);
  absl::StrAppendFormat(
      &svg, "<text x=\"%g\" y=\"%g\" class=\"tick\" text-anchor=\"middle\">step</text>\n",
      (kLeft + kW - kRight) / 2, kH - 6);
  absl::StrAppendFormat(&svg,
                        "<text x=\"14\" y=\"%g\" class=\"tick\" text-anchor=\"middle\" "
                        "transform=\"rotate(-90 14 %g)\">%s</text>\n",
                        (kTop + kH - kBottom) / 2, (kTop + kH - kBottom) / 2, Escape(spec.y_label));
  int color = 0;
  double legend_x = kLeft + 200;
  for (const auto& [series, points] : lines) {
    const char* c = kColors[color++ % 4];
    std::string path;
    for (const auto& [x, y] : points) absl::StrAppendFormat(&path, "%.1f,%.1f ", px(x), py(y));
    absl::StrAppendFormat(&svg,
                          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" "
                          "points=\"%s\" data-key=\"%s\"/>\n",
                          c, path, Escape(series->key));
    if (points.size() <= 80) {
      for (const auto& [x, y] : points) {
        absl::StrAppendFormat(&svg,
                              "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\"><title>%s "
                              "step %s: %s</title></circle>\n",
                              px(x), py(y), c, Escape(series->key), Num(x), Num(y));
      }
    }
    absl::StrAppendFormat(&svg,
                          "<rect x=\"%.1f\" y=\"9\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                          "<text x=\"%.1f\" y=\"18\" class=\"legend\">%s</text>\n",
                          legend_x, c, legend_x + 14, Escape(series->label));
    legend_x += 14 + 6.2 * double(series->label.size()) + 16;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace

std::string RenderRunReport(const std::vector<MetricsRow>& rows, const ReportInputs& inputs) {
  const RunSummary s = SummarizeRun(rows);
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>",
      Escape(inputs.title), "</title>\n<style>\n",
      "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1340px}\n"
      "h1{font-size:22px}h2{font-size:17px;margin-top:28px}\n"
      "table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #ccc;padding:4px 10px;"
      "text-align:left}th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:"
      "tabular-nums}\n"
      ".plots{display:flex;flex-wrap:wrap;gap:12px}.plot{border:1px solid #ddd;background:#fff}\n"
      ".title{font-size:14px;font-weight:600}.tick{font-size:11px;fill:#555}"
      ".legend{font-size:11px;fill:#333}\n"
      ".grid{stroke:#eee}.axis{stroke:#888}\n"
      "pre{background:#f7f7f7;border:1px solid #ddd;padding:10px;font-size:12px;overflow:auto}\n"
      "</style>\n</head>\n<body>\n<h1>",
      Escape(inputs.title), "</h1>\n");
  if (!inputs.run_dir.empty()) {
    absl::StrAppend(&html, "<p>Run directory: <code>", Escape(inputs.run_dir), "</code></p>\n");
  }
  auto acc = [](double v) { return v < 0 ? std::string("n/a") : absl::StrFormat("%.3f", v); };
  html += "<h2>Summary</h2>\n<table id=\"summary\">\n";
  auto row = [&](const std::string& name, const std::string& value) {
    absl::StrAppend(&html, "<tr><th>", Escape(name), "</th><td class=\"num\">", Escape(value),
                    "</td></tr>\n");
  };
  row("start accuracy (val/accuracy)", acc(s.start_accuracy));
  row("final accuracy", acc(s.final_accuracy));
  row("best accuracy", acc(s.best_accuracy));
  row("rise (points)", s.start_accuracy < 0
                           ? "n/a"
                           : absl::StrFormat("%+.1f", 100 * (s.final_accuracy - s.start_accuracy)));
  row("steps", absl::StrCat(s.steps));
  row("metrics lines", absl::StrCat(s.rows));
  row("wall time", s.wall_time_s < 0 ? "n/a" : absl::StrFormat("%.1f s", s.wall_time_s));
  html += "</table>\n<h2>Curves</h2>\n<div class=\"plots\">\n";
  int shown = 0;
  for (const PlotSpec& spec : Plots()) {
    std::string svg = RenderPlot(spec, rows);
    if (svg.empty()) continue;
    html += svg;
    ++shown;
  }
  if (shown == 0) html += "<p>No plotted metric was logged.</p>\n";
  html += "</div>\n";
  // Every metric's last logged value.
  std::map<std::string, std::pair<int64_t, double>> last;
  for (const MetricsRow& r : rows) {
    for (const auto& [k, v] : r.data) last[k] = {r.step, v};
  }
  if (!last.empty()) {
    html +=
        "<h2>Last logged values</h2>\n<table id=\"last\">\n<tr><th>metric</th><th>step</th>"
        "<th>value</th></tr>\n";
    for (const auto& [k, sv] : last) {
      absl::StrAppend(&html, "<tr><td>", Escape(k), "</td><td class=\"num\">", sv.first,
                      "</td><td class=\"num\">", Num(sv.second), "</td></tr>\n");
    }
    html += "</table>\n";
  }
  if (!inputs.config_yaml.empty()) {
    absl::StrAppend(&html, "<h2>Configuration (config.yaml)</h2>\n<pre id=\"config\">",
                    Escape(inputs.config_yaml), "</pre>\n");
  }
  html += "</body>\n</html>\n";
  return html;
}

absl::StatusOr<std::string> WriteRunReport(const std::string& run_dir) {
  ASSIGN_OR_RETURN(std::vector<MetricsRow> rows, ReadMetricsJsonl(run_dir + "/metrics.jsonl"));
  ReportInputs inputs;
  inputs.run_dir = run_dir;
  if (FileExists(run_dir + "/config.yaml")) {
    ASSIGN_OR_RETURN(inputs.config_yaml, ReadFileToString(run_dir + "/config.yaml"));
  }
  const std::string path = run_dir + "/report.html";
  RETURN_IF_ERROR(WriteFileAtomically(path, RenderRunReport(rows, inputs)));
  return path;
}

}  // namespace seamless
