// A client's unary RPC in one call: a fresh context (with the deadline), the gRPC failure
// converted to an absl::Status.
#ifndef SEAMLESS_CORE_SERVICE_UNARY_CALL_H_
#define SEAMLESS_CORE_SERVICE_UNARY_CALL_H_

#include <grpcpp/client_context.h>

#include <chrono>

#include "absl/status/statusor.h"
#include "core/service/grpc_status.h"

namespace seamless {

inline constexpr std::chrono::milliseconds kNoDeadline = std::chrono::milliseconds::max();

// `rpc` of `stub` (`&RewardService::Stub::Score`) on `request`, cancelled after `timeout`.
// `wait_for_ready`: a server not listening yet (restarting) is waited for, up to the
// deadline, instead of failing at once with UNAVAILABLE.
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> UnaryCall(
    Stub& stub, grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
    const Request& request, std::chrono::milliseconds timeout = kNoDeadline,
    bool wait_for_ready = false) {
  grpc::ClientContext context;
  if (timeout != kNoDeadline) context.set_deadline(std::chrono::system_clock::now() + timeout);
  context.set_wait_for_ready(wait_for_ready);
  Response response;
  const grpc::Status status = (stub.*rpc)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

}  // namespace seamless

#endif  // SEAMLESS_CORE_SERVICE_UNARY_CALL_H_
