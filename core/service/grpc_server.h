// Starts a gRPC server with the standard health service, on "HOST:PORT" (port 0 picks one).
// Every role's `main` uses it, and loopback tests start real servers with it on port 0.
#ifndef SEAMLESS_CORE_SERVICE_GRPC_SERVER_H_
#define SEAMLESS_CORE_SERVICE_GRPC_SERVER_H_

#include <grpcpp/server.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace grpc {
class Service;
class Channel;
}  // namespace grpc

namespace seamless {

// Messages carry chunked tensors and batches (each chunk ≤ a few MiB), so 64 MiB is headroom,
// not a design point.
inline constexpr int kMaxGrpcMessageBytes = 64 << 20;

class GrpcServer {
 public:
  // `services` must outlive the server.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const std::string& address, const std::vector<grpc::Service*>& services);
  ~GrpcServer();

  int port() const { return port_; }
  // grpc.health.v1 status of the whole server ("" service) and of `service_name`.
  void SetServing(const std::string& service_name, bool serving);
  void Shutdown();

 private:
  GrpcServer() = default;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// A client channel with our message size limits.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

// Blocks until SIGINT or SIGTERM arrives (installs the handlers on first use). Returns the signal.
int WaitForTerminationSignal();
// True once SIGINT/SIGTERM arrived (after WaitForTerminationSignal or InstallTerminationHandlers).
void InstallTerminationHandlers();
bool TerminationRequested();

}  // namespace seamless

#endif  // SEAMLESS_CORE_SERVICE_GRPC_SERVER_H_
