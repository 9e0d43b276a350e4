// The Train Ticket fault-injection corpus published with the Nezha paper
// (FSE 2023): its trace, log and metric CSV files as Traversion events, and
// its fault lists. docs/nezha.md has the mapping, field by field, and the
// rule that marks a log line as an error.
//
//   trace CSV  -> span events   (one per row)
//   log CSV    -> log events    (one per row; the JSON envelope unwrapped)
//   metric CSV -> gauge metrics (one per row and numeric column; NaN skipped)
//
// Every event gets a deterministic id (its time and a stable hash of what
// identifies the row), so importing the same file twice, or two files that
// share rows (the corpus has such overlaps), stores each row once.
//
// Rows that cannot be converted are skipped and counted, with the first few
// reasons kept as "file:line: why"; past `max_skipped_rows` in one file the
// import fails with InvalidArgument naming the file and line.
//
// Thread safety: the functions are reentrant; a NezhaCsvConverter belongs to
// one thread at a time.
#ifndef TRAVERSION_IMPORT_NEZHA_CSV_H_
#define TRAVERSION_IMPORT_NEZHA_CSV_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "import/csv_reader.h"
#include "traversion/event.h"
#include "traversion/store.h"

namespace traversion::import {

// What kind of file a header names. Recognised by its columns, not its name.
enum class NezhaFileKind {
  kTrace,        // TraceID,SpanID,ParentID,PodName,OperationName,...
  kLog,          // Timestamp,TimeUnixNano,Node,PodName,Container,...,Log
  kPodMetric,    // Time,TimeStamp,PodName,<metric columns...>
  kFrontMetric,  // Time,TimeStamp,ServiceName,<metric columns...>
};
absl::string_view NezhaFileKindName(NezhaFileKind kind);  // "trace", ...

struct NezhaImportOptions {
  // Only rows whose event time lies in [from_ns, to_ns) become events; the
  // others are counted as out of range. Defaults: everything.
  uint64_t from_ns = 0;
  uint64_t to_ns = std::numeric_limits<uint64_t>::max();
  // Malformed rows skipped in one file before the file fails. Default 1000.
  uint64_t max_skipped_rows = 1000;
  // Reasons kept in NezhaImportStats::skip_reasons. Default 10.
  size_t max_reasons = 10;
  // Events per Store::Write in ImportNezhaCsvFile. Default 20000.
  size_t batch_size = 20000;
  // The value of Event::source on every event. Default "import".
  std::string source = "import";
};

struct NezhaImportStats {
  uint64_t rows = 0;          // data rows read (header excluded)
  uint64_t events = 0;        // events produced
  uint64_t out_of_range = 0;  // rows outside [from_ns, to_ns)
  uint64_t skipped = 0;       // malformed rows skipped
  uint64_t error_logs = 0;    // log events marked as errors
  uint64_t bytes = 0;         // CSV bytes read
  uint64_t min_time_ns = 0;   // earliest row time seen (in range or not)
  uint64_t max_time_ns = 0;   // latest; both 0 if no row had a time
  std::vector<std::string> skip_reasons;  // "file:line: why", the first few

  // Adds another file's counts to these.
  void Merge(const NezhaImportStats& other, size_t max_reasons = 10);
};

// Receives each event produced; an error stops the import and is returned.
using EventSink = std::function<absl::Status(Event&&)>;

// Converts the rows of one file. Construct it from the header record, then
// feed it each data row.
class NezhaCsvConverter {
 public:
  // InvalidArgument if the header is of no known kind or lacks a column its
  // kind needs.
  static absl::StatusOr<NezhaCsvConverter> FromHeader(
      absl::Span<const absl::string_view> header,
      std::string source = "import");

  NezhaFileKind kind() const { return kind_; }

  // The time of a row (the span's start, the log's time, the metric sample's
  // time), without converting it. InvalidArgument if it has none.
  absl::StatusOr<uint64_t> RowTime(
      absl::Span<const absl::string_view> row) const;

  // Appends the events of one row to `out` (one for a span or log, one per
  // numeric column for a metric row). InvalidArgument with the reason if the
  // row is malformed; then nothing is appended.
  absl::Status Convert(absl::Span<const absl::string_view> row,
                       std::vector<Event>* out) const;

 private:
  NezhaCsvConverter() = default;
  absl::Status ConvertSpan(absl::Span<const absl::string_view> row,
                           std::vector<Event>* out) const;
  absl::Status ConvertLog(absl::Span<const absl::string_view> row,
                          std::vector<Event>* out) const;
  absl::Status ConvertMetric(absl::Span<const absl::string_view> row,
                             std::vector<Event>* out) const;
  // A log row's time: TimeUnixNano, or else the Timestamp column.
  absl::StatusOr<uint64_t> LogTime(
      absl::Span<const absl::string_view> row) const;

  struct MetricColumn {
    size_t index = 0;
    std::string name;  // normalised: cpu_usage_rate
    std::string unit;  // from the header's parentheses: %
  };

  NezhaFileKind kind_ = NezhaFileKind::kTrace;
  std::string source_;
  size_t columns_ = 0;
  // Column indexes by role; which are used depends on the kind.
  size_t trace_id_ = 0, span_id_ = 0, parent_id_ = 0, pod_ = 0, operation_ = 0,
         start_ = 0, end_ = 0;
  size_t time_ = 0, node_ = 0, container_ = 0, log_ = 0, timestamp_ = 0;
  size_t service_ = 0;
  std::vector<MetricColumn> metrics_;
};

// Reads every row of `reader` (its first record is the header) and passes
// the events to `sink`. Malformed rows are skipped and counted in `stats`
// (which accumulates; it may be shared by several files).
absl::Status ReadNezhaCsv(CsvReader& reader, const NezhaImportOptions& options,
                          const EventSink& sink, NezhaImportStats* stats);
absl::Status ReadNezhaCsvFile(const std::string& path,
                              const NezhaImportOptions& options,
                              const EventSink& sink, NezhaImportStats* stats);

// Imports one file into `store`, in batches of options.batch_size. On an
// error (a malformed file, a failed write) the events of the rows before it
// are written and kept, and the error names the file and line.
absl::StatusOr<NezhaImportStats> ImportNezhaCsvFile(
    const std::string& path, Store& store,
    const NezhaImportOptions& options = {});

// The time span of a file's rows, read without converting them: the
// earliest and latest row time. Rows without a valid time are skipped.
struct NezhaTimeRange {
  uint64_t first_ns = 0;
  uint64_t last_ns = 0;
  uint64_t rows = 0;
  NezhaFileKind kind = NezhaFileKind::kTrace;
};
absl::StatusOr<NezhaTimeRange> ScanNezhaTimeRange(const std::string& path);

// --- naming
// -------------------------------------------------------------------

// The service of a Kubernetes pod: the name without its two trailing
// '-'-separated parts (ReplicaSet hash, pod suffix). A name of fewer than
// three parts is returned as it is.
std::string ServiceOfPod(absl::string_view pod);

// A metric column header as a name and unit: "CpuUsageRate(%)" ->
// {"cpu_usage_rate", "%"}; "PodClientLatencyP90(s)" ->
// {"pod_client_latency_p90", "s"}; "SyscallRead" -> {"syscall_read", ""}.
struct MetricName {
  std::string name;
  std::string unit;
};
MetricName NormaliseMetricHeader(absl::string_view header);

// --- log lines
// ----------------------------------------------------------------

// One Java log line of the corpus, taken apart:
//   "16:48:42.424 INFO  t.s.TravelServiceImpl#532 TraceID: <32 hex> SpanID:
//    <16 hex> [getRouteByRouteId][...]"
struct JavaLogLine {
  Severity severity = Severity::kUnspecified;  // from the level word
  std::string logger;                          // "t.s.TravelServiceImpl"
  int32_t line = 0;                            // 532
  std::string message;                         // after the ids, trimmed
  // Set when the message shows an exception or a stack trace.
  bool exception = false;
  std::string exception_type;  // "java.lang.IllegalStateException", or ""
};
// A line that does not follow the layout keeps everything in `message`.
JavaLogLine ParseJavaLogLine(absl::string_view line);

// True if `message` shows a Java exception or stack trace: a qualified class
// name ending in Exception, Error or Throwable (java.lang.RuntimeException);
// any name ending in Exception followed by ':'; a stack frame line
// ("\tat com.x.Y.method(Y.java:12)"); or "Caused by:". The exception's class
// goes to `type` when one is named.
bool DetectException(absl::string_view message, std::string* type);

// --- labels
// -------------------------------------------------------------------

// One labelled fault of a fault-list file.
struct NezhaFault {
  uint64_t inject_ns = 0;   // inject_time, read as UTC
  std::string inject_time;  // as written: "2023-01-29 08:43:04"
  std::string pod;          // inject_pod
  std::string service;      // ServiceOfPod(pod)
  std::string type;         // inject_type: "return", "cpu_contention", ...
};

// Parses a `<day>-fault_list.json` text: an object keyed by hour, each a
// list of {inject_time, inject_pod, inject_type, ...}. The faults come back
// sorted by time. `name` is used in error messages.
absl::StatusOr<std::vector<NezhaFault>> ParseNezhaFaults(
    absl::string_view json, absl::string_view name);
absl::StatusOr<std::vector<NezhaFault>> LoadNezhaFaults(
    const std::string& path);

}  // namespace traversion::import

#endif  // TRAVERSION_IMPORT_NEZHA_CSV_H_
