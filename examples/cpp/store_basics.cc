// store_basics — the Traversion store from a C++ program, start to finish.
//
//   store_basics STORE_DIR
//
// Opens (or creates) a store in STORE_DIR and records one failed checkout
// request of a small shop at 2024-01-15 15:46 UTC: the server span, the
// database span under it, a warning log and the error, plus four
// observations of the orders database's connection pool. Then it reads that
// history back the ways a postmortem does: the whole trace, the errors of
// the minute, the pool's state as of the failure, and the pool's history.
//
// Every event carries an explicit id, so running the program again on the
// same store adds nothing (writes are idempotent by id) and prints the same.
// Ids are optional: an event written with an empty id gets a fresh one.
//
// Exits 0 and prints "store_basics: OK" when everything read back is what
// was written; exits 1 with the reason otherwise.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "traversion/event.h"
#include "traversion/store.h"

namespace tv = traversion;

namespace {

constexpr uint64_t kMs = 1'000'000;  // nanoseconds per millisecond
constexpr uint64_t kSecond = 1000 * kMs;
constexpr char kPool[] = "postgres://orders-db/pool";

// The instant everything below is relative to: 2024-01-15 15:46:00 UTC.
uint64_t BaseTime() {
  absl::Time t = absl::FromCivil(absl::CivilSecond(2024, 1, 15, 15, 46, 0),
                                 absl::UTCTimeZone());
  return static_cast<uint64_t>(absl::ToUnixNanos(t));
}

std::string FormatTime(uint64_t time_ns) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3S",
                          absl::FromUnixNanos(static_cast<int64_t>(time_ns)),
                          absl::UTCTimeZone());
}

std::string FormatFields(const std::vector<tv::EntityField>& fields) {
  return absl::StrJoin(fields, " ",
                       [](std::string* out, const tv::EntityField& f) {
                         absl::StrAppend(out, f.name, "=", f.value);
                       });
}

// The value of field `name`, or "" if absent.
std::string FieldValue(const tv::EntityRevision& revision,
                       const std::string& name) {
  for (const tv::EntityField& field : revision.fields) {
    if (field.name == name) return field.value;
  }
  return "";
}

tv::ServiceRef Checkout() {
  tv::ServiceRef service;
  service.name = "checkout";
  service.instance = "checkout-7f9c";
  service.host = "node-3";
  service.version = "2.4.1";
  return service;
}

// The events of the failed request and the pool observations, in any order:
// the store keeps them in time order.
std::vector<tv::Event> MakeEvents(uint64_t t0, const tv::TraceId& trace,
                                  const tv::SpanId& server_span,
                                  const tv::SpanId& db_span) {
  std::vector<tv::Event> events;
  uint64_t next_suffix = 1;
  auto add = [&](uint64_t time_ns) -> tv::Event& {
    tv::Event& e = events.emplace_back();
    e.id = tv::EventId{time_ns, next_suffix++};
    e.time_ns = time_ns;
    e.source = "example";
    e.service = Checkout();
    return e;
  };

  {  // The server span: POST /checkout, answered 500 after 1.2 s.
    tv::Event& e = add(t0 + 500 * kMs);
    e.name = "POST /checkout";
    e.severity = tv::Severity::kError;
    e.trace.trace_id = trace;
    e.trace.span_id = server_span;
    e.semantic.intent = "checkout";
    e.impact.customer_facing = true;
    tv::SpanData span;
    span.kind = tv::SpanKind::kServer;
    span.duration_ns = 1200 * kMs;
    span.status = tv::SpanStatus::kError;
    span.http = tv::HttpInfo{};
    span.http->method = "POST";
    span.http->route = "/checkout";
    span.http->status_code = 500;
    e.payload = span;
  }
  {  // The database call that waited for a connection.
    tv::Event& e = add(t0 + 510 * kMs);
    e.name = "INSERT orders";
    e.trace.trace_id = trace;
    e.trace.span_id = db_span;
    e.trace.parent_span_id = server_span;
    e.entity_refs.push_back(kPool);
    tv::SpanData span;
    span.kind = tv::SpanKind::kClient;
    span.duration_ns = 1100 * kMs;
    span.status = tv::SpanStatus::kError;
    span.db = tv::DbInfo{};
    span.db->system = "postgresql";
    span.db->operation = "INSERT";
    span.db->table = "orders";
    span.peer_service = "orders-db";
    e.payload = span;
  }
  {  // A warning logged inside the database span.
    tv::Event& e = add(t0 + 520 * kMs);
    e.severity = tv::Severity::kWarn;
    e.trace.trace_id = trace;
    e.trace.span_id = db_span;
    tv::LogData log;
    log.body = "connection pool exhausted, waiting";
    log.logger = "db.pool";
    e.payload = log;
  }
  {  // The error that ended the request.
    tv::Event& e = add(t0 + 1610 * kMs);
    e.severity = tv::Severity::kError;
    e.trace.trace_id = trace;
    e.trace.span_id = db_span;
    e.entity_refs.push_back(kPool);
    tv::ErrorData error;
    error.exception_type = "PoolTimeoutError";
    error.message = "no connection available within 1000 ms";
    error.escaped = true;
    e.payload = error;
  }
  // The pool, observed over time. The third observation repeats the second
  // state, so it makes no new revision.
  struct Observation {
    int64_t offset_ms;
    const char* in_use;
    const char* max;
  };
  const Observation observations[] = {
      {-60'000, "3", "20"},
      {400, "20", "20"},
      {450, "20", "20"},
      {60'000, "4", "40"},
  };
  for (const Observation& o : observations) {
    const int64_t offset_ns = o.offset_ms * int64_t{1'000'000};
    tv::Event& e =
        add(static_cast<uint64_t>(static_cast<int64_t>(t0) + offset_ns));
    tv::EntityStateData state;
    state.entity = kPool;
    state.entity_type = "connection_pool";
    state.fields = {{"in_use", o.in_use}, {"max", o.max}};
    e.payload = state;
  }
  return events;
}

// Collects the failures of the checks below; the program fails if any.
class Checker {
 public:
  void Expect(bool ok, const std::string& what) {
    if (!ok) {
      std::fprintf(stderr, "store_basics: check failed: %s\n", what.c_str());
      ++failures_;
    }
  }
  bool ok() const { return failures_ == 0; }

 private:
  int failures_ = 0;
};

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "store_basics: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s STORE_DIR\n", argv[0]);
    return 2;
  }
  Checker check;

  // --- open ---------------------------------------------------------------
  tv::StoreOptions options;
  options.initial_map_size = uint64_t{64} << 20;  // grows when needed
  absl::StatusOr<std::unique_ptr<tv::Store>> opened =
      tv::Store::Open(argv[1], options);
  if (!opened.ok()) return Fail("open", opened.status());
  tv::Store& store = **opened;

  // --- write --------------------------------------------------------------
  const uint64_t t0 = BaseTime();
  const tv::TraceId trace =
      *tv::ParseTraceId("4bf92f3577b34da6a3ce929d0e0e4736");
  const tv::SpanId server_span = *tv::ParseSpanId("00f067aa0ba902b7");
  const tv::SpanId db_span = *tv::ParseSpanId("53995c3f42cd8ad8");
  const std::vector<tv::Event> events =
      MakeEvents(t0, trace, server_span, db_span);

  absl::StatusOr<tv::WriteResult> written = store.Write(events);
  if (!written.ok()) return Fail("write", written.status());
  std::printf("wrote %zu events (%zu already stored), %llu new revisions\n",
              written->written, written->duplicates,
              static_cast<unsigned long long>(written->new_revisions));
  check.Expect(written->written + written->duplicates == events.size(),
               "every event is written or already stored");
  check.Expect(written->ids.size() == events.size(), "one id per event");
  if (written->duplicates == 0) {
    check.Expect(written->new_revisions == 3,
                 "4 pool observations make 3 revisions");
  }

  // A retried batch is stored once.
  absl::StatusOr<tv::WriteResult> again = store.Write(events);
  if (!again.ok()) return Fail("write again", again.status());
  check.Expect(again->written == 0 && again->duplicates == events.size(),
               "writing the same events again adds nothing");

  // --- the trace ----------------------------------------------------------
  absl::StatusOr<std::vector<tv::Event>> trace_events = store.GetTrace(trace);
  if (!trace_events.ok()) return Fail("trace", trace_events.status());
  std::printf("\ntrace %s: %zu events\n", tv::ToHex(trace).c_str(),
              trace_events->size());
  for (const tv::Event& e : *trace_events) {
    std::string what = e.name;
    if (const tv::LogData* log = e.log()) what = log->body;
    if (const tv::ErrorData* error = e.error()) {
      what = absl::StrCat(error->exception_type, ": ", error->message);
    }
    const std::string type(tv::EventTypeName(e.effective_type()));
    const std::string severity =
        e.severity == tv::Severity::kUnspecified
            ? "-"
            : std::string(tv::SeverityName(e.severity));
    std::printf("  %s  %-6s %-5s span %s  %s\n", FormatTime(e.time_ns).c_str(),
                type.c_str(), severity.c_str(),
                tv::ToHex(e.trace.span_id).c_str(), what.c_str());
  }
  check.Expect(trace_events->size() == 4, "the trace has 4 events");
  for (size_t i = 1; i < trace_events->size(); ++i) {
    check.Expect((*trace_events)[i - 1].time_ns <= (*trace_events)[i].time_ns,
                 "the trace is in time order");
  }
  if (trace_events->size() == 4) {
    const tv::Event& server = (*trace_events)[0];
    check.Expect(server.id == events[0].id && server.name == "POST /checkout" &&
                     server.span() != nullptr &&
                     server.span()->duration_ns == 1200 * kMs &&
                     server.span()->http.has_value() &&
                     server.span()->http->status_code == 500 &&
                     server.service.name == "checkout",
                 "the server span reads back as written");
    check.Expect((*trace_events)[1].trace.parent_span_id == server_span,
                 "the db span's parent is the server span");
  }

  // --- errors of the minute -----------------------------------------------
  tv::EventFilter errors;
  errors.from_ns = t0;
  errors.to_ns = t0 + 60 * kSecond;
  errors.services = {"checkout"};
  errors.types = {tv::EventType::kError};
  tv::EventCursor cursor = store.Scan(errors);
  std::printf("\nerrors of checkout in [%s, %s):\n", FormatTime(t0).c_str(),
              FormatTime(errors.to_ns).c_str());
  size_t error_count = 0;
  while (cursor.Next()) {
    const tv::Event& e = cursor.event();
    ++error_count;
    const tv::ErrorData* error = e.error();
    check.Expect(error != nullptr, "an error event has an error payload");
    if (error != nullptr) {
      std::printf("  %s  %s: %s (trace %s)\n", FormatTime(e.time_ns).c_str(),
                  error->exception_type.c_str(), error->message.c_str(),
                  tv::ToHex(e.trace.trace_id).c_str());
    }
  }
  if (!cursor.status().ok()) return Fail("scan", cursor.status());
  check.Expect(error_count == 1, "one error in that minute");

  // --- the pool as of an instant ------------------------------------------
  std::printf("\n%s\n", kPool);
  const uint64_t failure_time = t0 + 1610 * kMs;
  absl::StatusOr<std::optional<tv::EntityRevision>> at_failure =
      store.EntityAsOf(kPool, failure_time);
  if (!at_failure.ok()) return Fail("entity as of", at_failure.status());
  if (at_failure->has_value()) {
    const tv::EntityRevision& r = **at_failure;
    std::printf("  as of %s: revision %llu  %s\n",
                FormatTime(failure_time).c_str(),
                static_cast<unsigned long long>(r.revision),
                FormatFields(r.fields).c_str());
    check.Expect(
        FieldValue(r, "in_use") == "20" && FieldValue(r, "max") == "20",
        "at the failure the pool was full (20 of 20)");
    check.Expect(r.time_ns == t0 + 400 * kMs,
                 "that state was first observed at +400 ms");
  } else {
    check.Expect(false, "the pool has a state at the failure");
  }

  absl::StatusOr<std::optional<tv::EntityRevision>> before_first =
      store.EntityAsOf(kPool, t0 - 120 * kSecond);
  if (!before_first.ok()) return Fail("entity as of", before_first.status());
  check.Expect(!before_first->has_value(),
               "no state before the first observation");

  // --- the pool's history -------------------------------------------------
  absl::StatusOr<std::vector<tv::EntityRevision>> history =
      store.EntityHistory(kPool);
  if (!history.ok()) return Fail("entity history", history.status());
  std::printf("  history: %zu revisions\n", history->size());
  for (const tv::EntityRevision& r : *history) {
    std::printf("    revision %llu at %s  %s%s\n",
                static_cast<unsigned long long>(r.revision),
                FormatTime(r.time_ns).c_str(), FormatFields(r.fields).c_str(),
                r.deleted ? " (deleted)" : "");
  }
  check.Expect(history->size() == 3, "the pool has 3 revisions");
  for (size_t i = 1; i < history->size(); ++i) {
    check.Expect((*history)[i - 1].revision < (*history)[i].revision,
                 "revisions increase");
  }
  if (history->size() == 3) {
    check.Expect(FieldValue((*history)[2], "max") == "40",
                 "the pool was resized to 40 afterwards");
  }

  if (!check.ok()) {
    std::printf("\nstore_basics: FAILED\n");
    return 1;
  }
  std::printf("\nstore_basics: OK\n");
  return 0;
}
