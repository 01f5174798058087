#include "core/metrics/http_server.h"

#include <boost/asio.hpp>
#include <map>
#include <thread>

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

class AsioHttpServer : public HttpServer {
 public:
  AsioHttpServer() : acceptor_(io_) {}
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
      if (!ec) Serve(std::move(socket));
      if (acceptor_.is_open()) Accept();
    });
  }

  // Requests are tiny and local; reading one synchronously on the server thread is simpler
  // than a state machine and cannot stall anything but other scrapes.
  void Serve(tcp::socket socket) {
    boost::system::error_code ec;
    asio::streambuf buffer;
    asio::read_until(socket, buffer, "\r\n\r\n", ec);
    if (ec) return;
    std::istream stream(&buffer);
    std::string method, target;
    stream >> method >> target;
    std::string path = target.substr(0, target.find('?'));
    HttpResponse response;
    Handler handler;
    {
      absl::MutexLock lock(&mu_);
      auto it = handlers_.find(path);
      if (it != handlers_.end()) handler = it->second;
    }
    if (method != "GET") {
      response = {405, "text/plain", "only GET is supported\n"};
    } else if (!handler) {
      response = {404, "text/plain", absl::StrCat("no handler for ", path, "\n")};
    } else {
      response = handler();
    }
    const char* reason = response.status == 200   ? "OK"
                         : response.status == 404 ? "Not Found"
                                                  : "Error";
    std::string head = absl::StrCat(
        "HTTP/1.1 ", response.status, " ", reason, "\r\nContent-Type: ", response.content_type,
        "\r\nContent-Length: ", response.body.size(), "\r\nConnection: close\r\n\r\n");
    std::vector<asio::const_buffer> parts{asio::buffer(head), asio::buffer(response.body)};
    asio::write(socket, parts, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  int port_ = 0;
  absl::Mutex mu_;
  std::map<std::string, Handler> handlers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address) {
  auto parsed = ParseHostPort(address);
  if (!parsed.ok()) return parsed.status();
  auto server = std::make_unique<AsioHttpServer>();
  absl::Status status = server->Bind(parsed->host, parsed->port);
  if (!status.ok()) return status;
  return std::unique_ptr<HttpServer>(std::move(server));
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::StartMetrics(
    const std::string& address, const MetricsRegistry* registry) {
  auto server = Start(address);
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
