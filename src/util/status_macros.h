// Status propagation helpers. Debian's Abseil ships no status macros, so we
// define the one pair the codebase uses.
#ifndef TRAVERSION_UTIL_STATUS_MACROS_H_
#define TRAVERSION_UTIL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TV_STATUS_CONCAT_INNER_(a, b) a##b
#define TV_STATUS_CONCAT_(a, b) TV_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` yields a non-OK status.
// The temporaries get unique names (__COUNTER__) so that a macro used inside
// a lambda within another macro's expression does not shadow it.
#define TV_RETURN_IF_ERROR(expr) \
  TV_RETURN_IF_ERROR_IMPL_(TV_STATUS_CONCAT_(tv_status_, __COUNTER__), expr)
#define TV_RETURN_IF_ERROR_IMPL_(status, expr) \
  do {                                         \
    ::absl::Status status = (expr);            \
    if (!status.ok()) return status;           \
  } while (0)

// `TV_ASSIGN_OR_RETURN(auto x, F());` declares/assigns x from the value of a
// StatusOr, or returns its status.
#define TV_ASSIGN_OR_RETURN(lhs, expr)                                         \
  TV_ASSIGN_OR_RETURN_IMPL_(TV_STATUS_CONCAT_(tv_statusor_, __COUNTER__), lhs, \
                            expr)
#define TV_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)     \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // TRAVERSION_UTIL_STATUS_MACROS_H_
