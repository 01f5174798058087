#include "core/metrics/http_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "core/base/address.h"
#include "core/metrics/metrics.h"

namespace seamless {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// What a connection asks its server for; the server outlives every connection's handlers.
class RequestRouter {
 public:
  virtual ~RequestRouter() = default;
  virtual HttpResponse Respond(const std::string& method, const std::string& path) = 0;
};

std::string RenderHead(const HttpResponse& response) {
  const char* reason = response.status == 200   ? "OK"
                       : response.status == 404 ? "Not Found"
                       : response.status == 503 ? "Service Unavailable"
                                                : "Error";
  return absl::StrCat(
      "HTTP/1.1 ", response.status, " ", reason, "\r\nContent-Type: ", response.content_type,
      "\r\nContent-Length: ", response.body.size(), "\r\nConnection: close\r\n\r\n");
}

// One accepted client: read the request head, answer, close; all of it before a deadline, so
// a client that sends nothing (or never reads) gives its slot back. Lives in the handlers
// it has pending (shared_from_this) and holds one count of `open` while it exists.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(tcp::socket socket, RequestRouter* router, std::shared_ptr<std::atomic<int>> open)
      : socket_(std::move(socket)),
        deadline_(socket_.get_executor()),
        router_(router),
        open_(std::move(open)) {
    ++*open_;
  }
  ~HttpConnection() { --*open_; }

  void Start(absl::Duration timeout) {
    deadline_.expires_after(absl::ToChronoNanoseconds(timeout));
    deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      boost::system::error_code ignored;
      if (!ec) self->socket_.close(ignored);  // fails the pending read or write
    });
    asio::async_read_until(socket_, request_, "\r\n\r\n",
                           [self = shared_from_this()](boost::system::error_code ec, size_t) {
                             if (!ec)
                               self->Answer();
                             else
                               self->deadline_.cancel();
                           });
  }

 private:
  void Answer() {
    std::istream stream(&request_);
    std::string method, target;
    stream >> method >> target;
    HttpResponse response = router_->Respond(method, target.substr(0, target.find('?')));
    head_ = RenderHead(response);
    body_ = std::move(response.body);
    std::vector<asio::const_buffer> parts{asio::buffer(head_), asio::buffer(body_)};
    asio::async_write(socket_, parts,
                      [self = shared_from_this()](boost::system::error_code, size_t) {
                        boost::system::error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
                        self->deadline_.cancel();
                      });
  }

  tcp::socket socket_;
  asio::steady_timer deadline_;
  // A request head is a line and a Host header; a client streaming more is cut off.
  asio::streambuf request_{size_t{64} * 1024};
  std::string head_, body_;  // kept alive for the asynchronous write
  RequestRouter* router_;
  std::shared_ptr<std::atomic<int>> open_;
};

class AsioHttpServer : public HttpServer, private RequestRouter {
 public:
  explicit AsioHttpServer(HttpServerOptions options) : options_(options), acceptor_(io_) {}
  ~AsioHttpServer() override { Stop(); }

  absl::Status Bind(const std::string& host, int port) {
    boost::system::error_code ec;
    tcp::resolver resolver(io_);
    auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec || endpoints.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot resolve '", host, "': ", ec.message()));
    }
    tcp::endpoint endpoint = *endpoints.begin();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", host, ":", port, ": ", ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return absl::OkStatus();
  }

  void Handle(const std::string& path, Handler handler) override {
    absl::MutexLock lock(&mu_);
    handlers_[path] = std::move(handler);
  }
  int port() const override { return port_; }

  void Stop() override {
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (!ec && *open_ >= options_.max_connections) {
        Refuse(std::move(socket));
      } else if (!ec) {
        std::make_shared<HttpConnection>(std::move(socket), static_cast<RequestRouter*>(this),
                                         open_)
            ->Start(options_.io_timeout);
      }
      if (acceptor_.is_open()) Accept();
    });
  }

  // A fresh socket's send buffer is empty, so this short non-blocking write cannot stall the
  // server thread; if it fails the client just sees the close.
  static void Refuse(tcp::socket socket) {
    HttpResponse busy{503, "text/plain", "too many connections\n"};
    std::string reply = RenderHead(busy) + busy.body;
    boost::system::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(reply), ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }

  HttpResponse Respond(const std::string& method, const std::string& path) override {
    Handler handler;
    {
      absl::MutexLock lock(&mu_);
      auto it = handlers_.find(path);
      if (it != handlers_.end()) handler = it->second;
    }
    if (method != "GET") return {405, "text/plain", "only GET is supported\n"};
    if (!handler) return {404, "text/plain", absl::StrCat("no handler for ", path, "\n")};
    return handler();
  }

  const HttpServerOptions options_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  int port_ = 0;
  // Open connections; touched on the server thread, atomic because connections still queued
  // in io_ at Stop are destroyed with it, after this server's other fields.
  std::shared_ptr<std::atomic<int>> open_ = std::make_shared<std::atomic<int>>(0);
  absl::Mutex mu_;
  std::map<std::string, Handler> handlers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address,
                                                              HttpServerOptions options) {
  if (options.max_connections < 1 || options.io_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("HTTP server needs max_connections >= 1 and a timeout > 0");
  }
  auto parsed = ParseHostPort(address);
  if (!parsed.ok()) return parsed.status();
  auto server = std::make_unique<AsioHttpServer>(options);
  absl::Status status = server->Bind(parsed->host, parsed->port);
  if (!status.ok()) return status;
  return std::unique_ptr<HttpServer>(std::move(server));
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::StartMetrics(
    const std::string& address, const MetricsRegistry* registry, HttpServerOptions options) {
  auto server = Start(address, options);
  if (!server.ok()) return server.status();
  (*server)->Handle("/metrics", [registry] {
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                        registry->RenderPrometheus()};
  });
  (*server)->Handle("/healthz", [] { return HttpResponse{200, "text/plain", "ok\n"}; });
  return server;
}

absl::StatusOr<std::string> HttpGet(const std::string& host, int port, const std::string& path) {
  asio::io_context io;
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return absl::UnavailableError(absl::StrCat("resolve ", host, ": ", ec.message()));
  tcp::socket socket(io);
  asio::connect(socket, endpoints, ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("connect ", host, ":", port, ": ", ec.message()));
  std::string request = absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", host, "\r\n\r\n");
  asio::write(socket, asio::buffer(request), ec);
  std::string response;
  asio::streambuf buffer;
  asio::read(socket, buffer, ec);  // until the server closes (Connection: close)
  response.assign(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
  size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return absl::DataLossError("malformed HTTP response");
  if (response.compare(0, 12, "HTTP/1.1 200") != 0) {
    return absl::NotFoundError(response.substr(0, response.find("\r\n")));
  }
  return response.substr(body + 4);
}

}  // namespace seamless
