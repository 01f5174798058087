#include "core/service/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include "core/service/grpc_status.h"
#include "gtest/gtest.h"
#include "proto/health.grpc.pb.h"
#include "proto/scheduler.grpc.pb.h"

namespace seamless {
namespace {

// Any service will do: a server needs at least one besides health.
SchedulerService::CallbackService g_placeholder_service;
SchedulerService::CallbackService g_second_placeholder_service;  // a service joins one server

TEST(GrpcStatusTest, RoundTripsCodeAndMessage) {
  absl::Status in = absl::ResourceExhaustedError("queue full (64 requests)");
  grpc::Status g = ToGrpcStatus(in);
  EXPECT_EQ(g.error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_EQ(g.error_message(), "queue full (64 requests)");
  EXPECT_EQ(FromGrpcStatus(g), in);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(GrpcServerTest, HealthServiceFollowsSetServing) {
  auto server = GrpcServer::Start("127.0.0.1:0", {&g_placeholder_service});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = grpc::health::v1::Health::NewStub(
      MakeChannel("127.0.0.1:" + std::to_string((*server)->port())));
  auto check = [&](const std::string& service) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  };
  (*server)->SetServing("seamless.Test", false);
  EXPECT_EQ(check("seamless.Test"), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  (*server)->SetServing("seamless.Test", true);
  EXPECT_EQ(check("seamless.Test"), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(check(""), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST(GrpcServerTest, PortInUseIsAClearError) {
  SchedulerService::CallbackService first_service;
  auto first = GrpcServer::Start("127.0.0.1:0", {&first_service});
  ASSERT_TRUE(first.ok());
  auto second = GrpcServer::Start("127.0.0.1:" + std::to_string((*first)->port()),
                                  {&g_second_placeholder_service});
  EXPECT_FALSE(second.ok());
}

}  // namespace
}  // namespace seamless
