#include "core/metrics/metrics.h"

#include <boost/asio.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
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

// A client that connects and sends nothing must not hold /metrics for anyone else: connections
// are served concurrently, and the idle one is dropped after the read timeout.
TEST(HttpServerTest, AnIdleConnectionDoesNotBlockOthers) {
  MetricsRegistry registry;
  registry.GetGauge("seamless_weight_version", "Version.")->Set(4);
  HttpServerOptions options;
  options.io_timeout = absl::Milliseconds(300);
  auto server = HttpServer::StartMetrics("127.0.0.1:0", &registry, options);
  ASSERT_TRUE(server.ok()) << server.status();
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket idle(io);
  idle.connect(
      {boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>((*server)->port())});

  absl::Notification fetched;
  absl::StatusOr<std::string> body;
  std::thread fetch([&] {
    body = HttpGet("127.0.0.1", (*server)->port(), "/metrics");
    fetched.Notify();
  });
  bool in_time = fetched.WaitForNotificationWithTimeout(absl::Seconds(60));
  if (!in_time) idle.close();  // unblocks a server that reads one client at a time
  fetch.join();
  ASSERT_TRUE(in_time) << "an idle connection blocked /metrics";
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_TRUE(absl::StrContains(*body, "seamless_weight_version 4")) << *body;

  // The idle client is disconnected by the server (EOF) once its timeout passes.
  char byte;
  boost::system::error_code ec;
  idle.read_some(boost::asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, boost::asio::error::eof) << ec.message();
}

// Past max_connections, a new connection is closed at once rather than queued behind the rest;
// once they are gone, scrapes succeed again.
TEST(HttpServerTest, ConnectionsPastTheLimitAreRefused) {
  MetricsRegistry registry;
  HttpServerOptions options;
  options.max_connections = 2;
  options.io_timeout = absl::Seconds(30);
  auto server = HttpServer::StartMetrics("127.0.0.1:0", &registry, options);
  ASSERT_TRUE(server.ok()) << server.status();
  boost::asio::io_context io;
  boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                          static_cast<unsigned short>((*server)->port()));
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> idle;
  for (int i = 0; i < 2; ++i) {
    idle.push_back(std::make_unique<boost::asio::ip::tcp::socket>(io));
    idle.back()->connect(endpoint);
  }
  EXPECT_FALSE(HttpGet("127.0.0.1", (*server)->port(), "/healthz").ok());
  idle.clear();
  // The server notices the closes asynchronously; give it a generous bound.
  absl::StatusOr<std::string> health;
  for (int attempt = 0; attempt < 600; ++attempt) {
    health = HttpGet("127.0.0.1", (*server)->port(), "/healthz");
    if (health.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, "ok\n");
}

TEST(HttpServerTest, BadAddressIsAClearError) {
  auto server = HttpServer::Start("nonsense");
  ASSERT_FALSE(server.ok());
  EXPECT_TRUE(absl::StrContains(server.status().message(), "HOST:PORT"));
}

}  // namespace
}  // namespace seamless
