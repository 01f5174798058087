// A minimal HTTP/1.1 server for Prometheus scrapes and probes: GET only, one handler per path,
// `Connection: close`. It runs on its own thread (Boost.Asio), so a slow scrape never touches
// the gRPC reactors or the engine. Connections are served concurrently (asynchronous reads on
// that thread), each with a deadline and up to a limit, so an idle or slow client cannot block
// /healthz for the kubelet or /metrics for Prometheus.
#ifndef SEAMLESS_CORE_METRICS_HTTP_SERVER_H_
#define SEAMLESS_CORE_METRICS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace seamless {

class MetricsRegistry;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; version=0.0.4; charset=utf-8";
  std::string body;
};

struct HttpServerOptions {
  // A connection that has not sent its request and taken its response by then is closed.
  absl::Duration io_timeout = absl::Seconds(5);
  // Connections served at once; one past it gets a 503 and is closed (scrapers retry).
  int max_connections = 64;
};

class HttpServer {
 public:
  // Runs on the server thread: keep it quick (it delays other connections' reads).
  using Handler = std::function<HttpResponse()>;

  // Binds `address` ("HOST:PORT"; port 0 picks a free one) and starts serving at once.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& address,
                                                           HttpServerOptions options = {});
  // Serves `registry` on /metrics and "ok" on /healthz.
  static absl::StatusOr<std::unique_ptr<HttpServer>> StartMetrics(const std::string& address,
                                                                  const MetricsRegistry* registry,
                                                                  HttpServerOptions options = {});
  virtual ~HttpServer() = default;

  // Register before requests arrive for that path; safe to call while serving.
  virtual void Handle(const std::string& path, Handler handler) = 0;
  virtual int port() const = 0;
  virtual void Stop() = 0;
};

// Fetches http://host:port/path with a plain blocking GET (for tests and probes).
absl::StatusOr<std::string> HttpGet(const std::string& host, int port, const std::string& path);

}  // namespace seamless

#endif  // SEAMLESS_CORE_METRICS_HTTP_SERVER_H_
