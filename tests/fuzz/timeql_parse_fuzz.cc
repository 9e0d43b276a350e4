// libFuzzer target for the TimeQL front end. For any input:
//  - Parse() returns a statement or an InvalidArgument "line:col: ..."
//    message, and never crashes, hangs or overflows the stack;
//  - a parsed statement prints to text that parses again and prints the
//    same (the printer is idempotent);
//  - the time and duration literal parsers never crash, and a duration
//    that parses formats canonically to text that reads back the same.
// Built and run by tests/fuzz/run.sh (scripts/test runs it for 60 s).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "timeql/parser.h"
#include "timeql/printer.h"
#include "timeql/time_literal.h"

namespace {

[[noreturn]] void Fail(const char* what, absl::string_view input,
                       absl::string_view detail) {
  std::fprintf(stderr, "timeql_parse_fuzz: %s\ninput: %.*s\ndetail: %.*s\n",
               what, static_cast<int>(input.size()), input.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void CheckError(const absl::Status& status, absl::string_view input) {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    Fail("an error that is not InvalidArgument", input, status.ToString());
  }
  // "query too long" is the one error reported without a position.
  absl::string_view message = status.message();
  if (message.empty() || (!(message[0] >= '1' && message[0] <= '9') &&
                          message.substr(0, 14) != "query too long")) {
    Fail("an error message without line:col", input, message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<traversion::timeql::Statement> statement =
      traversion::timeql::Parse(text);
  if (!statement.ok()) {
    CheckError(statement.status(), text);
  } else {
    std::string printed = traversion::timeql::Print(*statement);
    absl::StatusOr<traversion::timeql::Statement> again =
        traversion::timeql::Parse(printed);
    if (!again.ok()) {
      Fail("the printed statement does not parse", text,
           std::string(again.status().message()) + "\nprinted: " + printed);
    }
    std::string reprinted = traversion::timeql::Print(*again);
    if (reprinted != printed) {
      Fail("printing is not idempotent", text,
           "first:  " + printed + "\nsecond: " + reprinted);
    }
  }

  if (size <= 256) {
    (void)traversion::timeql::ParseTimeLiteral(text, 1'700'000'000'000'000'000);
    absl::StatusOr<int64_t> duration =
        traversion::timeql::ParseDurationText(text);
    if (duration.ok()) {
      std::string canonical = traversion::timeql::FormatDuration(*duration);
      absl::StatusOr<int64_t> back =
          traversion::timeql::ParseDurationText(canonical);
      if (!back.ok() || *back != *duration) {
        Fail("a canonical duration does not read back", text, canonical);
      }
    }
  }
  return 0;
}
