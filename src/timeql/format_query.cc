// traversion::FormatQuery: the canonical text of a query (parse, then print).
#include <string>

#include "timeql/parser.h"
#include "timeql/printer.h"
#include "traversion/query.h"
#include "util/status_macros.h"

namespace traversion {

absl::StatusOr<std::string> FormatQuery(absl::string_view query) {
  TV_ASSIGN_OR_RETURN(timeql::Statement statement, timeql::Parse(query));
  return timeql::Print(statement);
}

}  // namespace traversion
