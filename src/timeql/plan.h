// The planner: which part of a WHERE (and the time range) the store can
// answer from an index, as an EventFilter, and whether the full condition
// must still be applied to each event the store returns.
//
// Only top-level AND terms restrict the scan. A term restricts only when it
// is a plain condition on an indexed field:
//   service = 'a' | service IN (...) | service = 'a' OR service = 'b'
//   type = 'error' | type IN (...) | OR of those
//   severity >= 'warn' | severity > ... | severity_number >= n
//   trace_id = '<32 hex>'          entity = 'name'
//   time >= t | time > t | time < t | time <= t | time BETWEEN a AND b
// Anything under NOT, or an OR mixing fields, never restricts: the planned
// filter always returns a superset of the matching events. The WHERE is
// kept as a residual unless every term was answered exactly by the filter.
//
// The store picks the narrowest index among what the filter sets: trace,
// then entity, then service, else a time-ordered scan filtered on the
// event header (type, severity, service).
#ifndef TRAVERSION_TIMEQL_PLAN_H_
#define TRAVERSION_TIMEQL_PLAN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "timeql/ast.h"
#include "timeql/evaluator.h"
#include "traversion/store.h"

namespace traversion::timeql {

struct ScanPlan {
  EventFilter filter;
  // The WHERE must still be evaluated on each event.
  bool residual = true;
  // The WHERE can never hold (e.g. service = 'a' AND service = 'b').
  bool nothing = false;
  // "service index: a, b; types: error; residual filter", for QueryStats.
  std::string description;
};

// Plans a scan for `where` (may be null) within `bounds`. Never fails on a
// condition it does not understand: it just does not use it.
ScanPlan PlanScan(const Expr* where, const TimeBounds& bounds,
                  absl::string_view text, int64_t now_ns);

// The description of a filter, as ScanPlan::description.
std::string DescribeFilter(const EventFilter& filter, bool residual);

}  // namespace traversion::timeql

#endif  // TRAVERSION_TIMEQL_PLAN_H_
