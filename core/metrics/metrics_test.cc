#include "core/metrics/metrics.h"

#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "core/metrics/http_server.h"
#include "gtest/gtest.h"

namespace seamless {
namespace {

TEST(MetricsTest, RendersCountersGaugesAndLabels) {
  MetricsRegistry registry;
  registry.GetCounter("seamless_test_requests_total", "Requests.", {{"kind", "math"}})
      ->Increment(3);
  registry.GetCounter("seamless_test_requests_total", "Requests.", {{"kind", "code"}})->Increment();
  registry.GetGauge("seamless_test_queue_depth", "Queue.")->Set(7);
  std::string text = registry.RenderPrometheus();
  EXPECT_TRUE(absl::StrContains(text, "# TYPE seamless_test_requests_total counter\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "seamless_test_requests_total{kind=\"math\"} 3\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "seamless_test_requests_total{kind=\"code\"} 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "seamless_test_queue_depth 7\n")) << text;
}

TEST(MetricsTest, SameNameAndLabelsIsTheSameObject) {
  MetricsRegistry registry;
  Counter* a = registry.GetCounter("seamless_x_total", "x", {{"a", "1"}});
  EXPECT_EQ(a, registry.GetCounter("seamless_x_total", "x", {{"a", "1"}}));
  EXPECT_NE(a, registry.GetCounter("seamless_x_total", "x", {{"a", "2"}}));
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  MetricsRegistry registry;
  Histogram* h = registry.GetHistogram("seamless_lat_seconds", "Latency.", {0.1, 1.0});
  h->Observe(0.05);
  h->Observe(0.5);
  h->Observe(0.5);
  h->Observe(5);
  EXPECT_EQ(h->CumulativeCounts(), (std::vector<uint64_t>{1, 3, 4}));
  std::string text = registry.RenderPrometheus();
  EXPECT_TRUE(absl::StrContains(text, "seamless_lat_seconds_bucket{le=\"0.1\"} 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "seamless_lat_seconds_bucket{le=\"+Inf\"} 4\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "seamless_lat_seconds_sum 6.05\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "seamless_lat_seconds_count 4\n")) << text;
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  MetricsRegistry registry;
  Counter* c = registry.GetCounter("seamless_c_total", "c");
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([c] {
      for (int i = 0; i < 10000; ++i) c->Increment(0.5);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->value(), 20000.0);
}

TEST(HttpServerTest, ServesMetricsAndHealthOnAPickedPort) {
  MetricsRegistry registry;
  registry.GetGauge("seamless_weight_version", "Version.")->Set(4);
  auto server = HttpServer::StartMetrics("127.0.0.1:0", &registry);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  auto body = HttpGet("127.0.0.1", (*server)->port(), "/metrics");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_TRUE(absl::StrContains(*body, "seamless_weight_version 4")) << *body;
  auto health = HttpGet("127.0.0.1", (*server)->port(), "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(*health, "ok\n");
  EXPECT_FALSE(HttpGet("127.0.0.1", (*server)->port(), "/nope").ok());
}

TEST(HttpServerTest, BadAddressIsAClearError) {
  auto server = HttpServer::Start("nonsense");
  ASSERT_FALSE(server.ok());
  EXPECT_TRUE(absl::StrContains(server.status().message(), "HOST:PORT"));
}

}  // namespace
}  // namespace seamless
