#include "core/service/grpc_status.h"

#include <string>

namespace seamless {

#define SEAMLESS_SAME_CODE(name, grpc_name)                                                    \
  static_assert(static_cast<int>(absl::StatusCode::name) == static_cast<int>(grpc::grpc_name), \
                #name " differs between absl and gRPC")
SEAMLESS_SAME_CODE(kOk, OK);
SEAMLESS_SAME_CODE(kCancelled, CANCELLED);
SEAMLESS_SAME_CODE(kUnknown, UNKNOWN);
SEAMLESS_SAME_CODE(kInvalidArgument, INVALID_ARGUMENT);
SEAMLESS_SAME_CODE(kDeadlineExceeded, DEADLINE_EXCEEDED);
SEAMLESS_SAME_CODE(kNotFound, NOT_FOUND);
SEAMLESS_SAME_CODE(kAlreadyExists, ALREADY_EXISTS);
SEAMLESS_SAME_CODE(kPermissionDenied, PERMISSION_DENIED);
SEAMLESS_SAME_CODE(kResourceExhausted, RESOURCE_EXHAUSTED);
SEAMLESS_SAME_CODE(kFailedPrecondition, FAILED_PRECONDITION);
SEAMLESS_SAME_CODE(kAborted, ABORTED);
SEAMLESS_SAME_CODE(kOutOfRange, OUT_OF_RANGE);
SEAMLESS_SAME_CODE(kUnimplemented, UNIMPLEMENTED);
SEAMLESS_SAME_CODE(kInternal, INTERNAL);
SEAMLESS_SAME_CODE(kUnavailable, UNAVAILABLE);
SEAMLESS_SAME_CODE(kDataLoss, DATA_LOSS);
SEAMLESS_SAME_CODE(kUnauthenticated, UNAUTHENTICATED);
#undef SEAMLESS_SAME_CODE

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace seamless
