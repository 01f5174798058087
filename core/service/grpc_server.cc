#include "core/service/grpc_server.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/base/address.h"

namespace seamless {

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const std::string& address, const std::vector<grpc::Service*>& services) {
  auto parsed = ParseHostPort(address);
  if (!parsed.ok()) return parsed.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &selected_port);
  // gRPC sets SO_REUSEPORT by default, so a second server on a busy port would "succeed".
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  builder.SetMaxSendMessageSize(kMaxGrpcMessageBytes);
  // Bulk streams (weights: a GiB in 1 MiB chunks) run at about half a plain TCP copy's speed
  // with gRPC's defaults on loopback: 16 KiB frames, reads of 8 KiB and up, and a receive
  // window that BDP probing grows slowly. A fixed 16 MiB window per stream (lookahead), frames
  // and reads of up to 4 MiB make a weight stream about twice as fast (bench learner).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 << 20);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, 4 << 20);
  builder.AddChannelArgument(GRPC_ARG_TCP_READ_CHUNK_SIZE, 1 << 20);
  builder.AddChannelArgument(GRPC_ARG_TCP_MIN_READ_CHUNK_SIZE, 256 << 10);
  builder.AddChannelArgument(GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE, 4 << 20);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<GrpcServer> out(new GrpcServer());
  out->server_ = builder.BuildAndStart();
  if (!out->server_ || selected_port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, " (port in use or address not local?)"));
  }
  out->port_ = selected_port;
  return out;
}

GrpcServer::~GrpcServer() { Shutdown(); }

void GrpcServer::SetServing(const std::string& service_name, bool serving) {
  if (!server_) return;
  if (auto* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(serving);
    if (!service_name.empty()) health->SetServingStatus(service_name, serving);
  }
}

void GrpcServer::Shutdown() {
  if (!server_) return;
  // Give in-flight RPCs a moment to finish, then cancel the rest.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
  server_.reset();
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  args.SetMaxSendMessageSize(kMaxGrpcMessageBytes);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

namespace {
std::atomic<int> g_signal{0};
void OnSignal(int sig) { g_signal.store(sig); }
}  // namespace

void InstallTerminationHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
  });
}

bool TerminationRequested() { return g_signal.load() != 0; }

int WaitForTerminationSignal() {
  InstallTerminationHandlers();
  while (g_signal.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return g_signal.load();
}

}  // namespace seamless
