// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status, which Debian's Abseil 20220623 lacks.
#ifndef SEAMLESS_CORE_BASE_STATUS_MACROS_H_
#define SEAMLESS_CORE_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SEAMLESS_STATUS_CONCAT_INNER(a, b) a##b
#define SEAMLESS_STATUS_CONCAT(a, b) SEAMLESS_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the caller if it is not OK.
#define RETURN_IF_ERROR(expr)                            \
  do {                                                   \
    ::absl::Status seamless_status_ = (expr);            \
    if (!seamless_status_.ok()) return seamless_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, MakeX());` declares/assigns x from an absl::StatusOr or returns
// its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  SEAMLESS_ASSIGN_OR_RETURN_IMPL(SEAMLESS_STATUS_CONCAT(seamless_statusor_, __LINE__), lhs, expr)

#define SEAMLESS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()

namespace seamless {

// Prefixes a non-OK status's message with context ("loading model.safetensors: ...").
inline absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), std::string(context) + ": " + std::string(status.message()));
}

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_STATUS_MACROS_H_
