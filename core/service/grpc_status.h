// absl::Status <-> grpc::Status. The codes are numerically identical (both follow
// google.rpc.Code); grpc_status.cc proves it with static_asserts, so conversion is a cast.
#ifndef SEAMLESS_CORE_SERVICE_GRPC_STATUS_H_
#define SEAMLESS_CORE_SERVICE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace seamless {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace seamless

#endif  // SEAMLESS_CORE_SERVICE_GRPC_STATUS_H_
