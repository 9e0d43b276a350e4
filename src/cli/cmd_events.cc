// `traversion events <store>`: a table of events in a time range.
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "cli/common.h"
#include "cli/event_text.h"
#include "cli/flags.h"
#include "traversion/clock.h"
#include "traversion/event.h"
#include "traversion/event_codec.h"
#include "traversion/store.h"

namespace traversion::cli {
namespace {

constexpr CommandHelp kHelp = {
    "events",
    "[--from T] [--to T] [filters] [--limit N] [--json]",
    "Lists events in time order (or newest first) as a table: time (UTC),\n"
    "id, service, type, severity, name and a short detail (a span's duration,\n"
    "call and status; a log's body; an error's type and message; a metric's\n"
    "value; an entity's fields). With --json, prints JSON lines instead (the\n"
    "format of `traversion export`).\n"
    "\n"
    "Times T: 2024-01-15T15:47:23Z, '2024-01-15 15:47:23' (UTC), a Unix time\n"
    "in nanoseconds, now, or relative to now: -30s, -10m, -2h, -1d.",
    "  traversion events ./traversion-demo --type error\n"
    "  traversion events ./traversion-demo --from -5m --service "
    "payments-service\n"
    "  traversion events ./store --from '2024-01-15 15:45:00' --to "
    "'2024-01-15 15:50:00' --min-severity warn\n"
    "  traversion events ./store --trace 4bf92f3577b34da6a3ce929d0e0e4736\n",
};

// Display widths of the variable columns, from the rows seen first.
struct Columns {
  size_t service = 7;
  size_t type = 4;
  size_t severity = 8;
  size_t name = 4;
};

constexpr size_t kMaxServiceWidth = 24;
constexpr size_t kMaxNameWidth = 36;
constexpr size_t kMinNameWidth = 12;
constexpr size_t kMinDetailWidth = 24;
// Rows buffered to size the columns before printing starts.
constexpr size_t kSizingRows = 1000;

struct Row {
  std::string time;
  std::string id;
  std::string service;
  std::string type;
  std::string severity;
  std::string name;
  std::string detail;
};

Row MakeRow(const Event& event) {
  std::string detail = EventDetail(event);
  // An error's detail starts with its type, which is usually its name too.
  if (!event.name.empty() && absl::StartsWith(detail, event.name + ": ")) {
    detail.erase(0, event.name.size() + 2);
  }
  return Row{FormatTimeMs(event.time_ns),
             event.id.ToString(),
             event.service.name.empty() ? "-" : event.service.name,
             std::string(EventTypeName(event.effective_type())),
             SeverityLabel(event.severity),
             event.name.empty() ? "-" : event.name,
             std::move(detail)};
}

size_t TerminalWidth() {
  if (isatty(STDOUT_FILENO)) {
    winsize size{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
      return size.ws_col;
    }
  }
  if (const char* columns = std::getenv("COLUMNS")) {
    size_t width = 0;
    if (absl::SimpleAtoi(columns, &width)) return width;
  }
  return 0;
}

class TablePrinter {
 public:
  TablePrinter(OutputFile& out, size_t width) : out_(out), width_(width) {}

  void Add(Row row) {
    if (!sized_) {
      pending_.push_back(std::move(row));
      if (pending_.size() >= kSizingRows) Flush();
      return;
    }
    Print(row);
  }

  void Flush() {
    if (!sized_) {
      for (const Row& row : pending_) {
        columns_.service =
            std::max(columns_.service,
                     std::min(DisplayWidth(row.service), kMaxServiceWidth));
        columns_.type = std::max(columns_.type, DisplayWidth(row.type));
        columns_.severity =
            std::max(columns_.severity, DisplayWidth(row.severity));
        columns_.name = std::max(
            columns_.name, std::min(DisplayWidth(row.name), kMaxNameWidth));
      }
      // On a narrow screen the name column gives way to the detail, down to
      // kMinNameWidth.
      if (width_ > 0) {
        const size_t fixed = 24 + 2 + 32 + 2 + columns_.service + 2 +
                             columns_.type + 2 + columns_.severity + 2;
        const size_t rest = width_ > fixed ? width_ - fixed : 0;
        if (rest < columns_.name + 2 + kMinDetailWidth) {
          columns_.name =
              std::max(kMinNameWidth, rest > 2 + kMinDetailWidth
                                          ? rest - 2 - kMinDetailWidth
                                          : size_t{0});
        }
      }
      sized_ = true;
      out_.Write(Line(
          Row{"TIME", "ID", "SERVICE", "TYPE", "SEVERITY", "NAME", "DETAIL"}));
      for (const Row& row : pending_) Print(row);
      pending_.clear();
    }
  }

 private:
  void Print(const Row& row) { out_.Write(Line(row)); }

  std::string Line(const Row& row) const {
    std::string line = absl::StrCat(
        PadRight(row.time, 24), "  ", PadRight(row.id, 32), "  ",
        PadRight(Truncate(row.service, columns_.service), columns_.service),
        "  ", PadRight(row.type, columns_.type), "  ",
        PadRight(row.severity, columns_.severity), "  ",
        PadRight(Truncate(row.name, columns_.name), columns_.name), "  ");
    size_t used = DisplayWidth(line);
    size_t room = 0;  // no limit
    if (width_ > 0) {
      room = width_ > used + kMinDetailWidth ? width_ - used : kMinDetailWidth;
    }
    absl::StrAppend(&line, Truncate(row.detail, room));
    while (!line.empty() && line.back() == ' ') line.pop_back();
    line += '\n';
    return line;
  }

  OutputFile& out_;
  size_t width_;
  Columns columns_;
  bool sized_ = false;
  std::vector<Row> pending_;
};

}  // namespace

int RunEvents(absl::Span<const std::string> args) {
  std::string path;
  RangeFlags range;
  std::string min_severity;
  std::string trace;
  std::string entity;
  uint64_t limit = 100;
  uint64_t width = 0;
  bool newest_first = false;
  bool json = false;
  FlagSet flags;
  flags.AddPositional("store", &path, /*required=*/true, "the store directory");
  range.Register(&flags);
  flags.AddString("min-severity", "LEVEL", &min_severity,
                  "only events at least this severe: trace, debug, info,\n"
                  "warn, error, fatal");
  flags.AddString("trace", "HEX", &trace,
                  "only events of this trace (32 hex digits)");
  flags.AddString("entity", "NAME", &entity,
                  "only events about this entity (its state observations\n"
                  "and events that refer to it)");
  flags.AddUint64("limit", "N", &limit,
                  "print at most N events (default 100; 0: no limit)");
  flags.AddBool("newest-first", &newest_first, "newest events first");
  flags.AddBool("json", &json, "print JSON lines instead of a table");
  flags.AddUint64("width", "N", &width,
                  "cut lines to N columns (default: the terminal's width,\n"
                  "else $COLUMNS, else no limit)");
  if (std::optional<int> exit = ParseCommandLine(kHelp, flags, args)) {
    return *exit;
  }

  EventFilter filter;
  if (std::optional<int> exit = range.ApplyTo("events", &filter)) return *exit;
  if (filter.from_ns >= filter.to_ns) {
    return UsageError("events",
                      absl::StrFormat("--from (%s) must be before --to (%s)",
                                      FormatTimeNs(filter.from_ns),
                                      FormatTimeNs(filter.to_ns)));
  }
  if (!min_severity.empty()) {
    std::optional<Severity> severity = ParseSeverity(min_severity);
    if (!severity.has_value()) {
      return UsageError("events",
                        absl::StrFormat("--min-severity: unknown level '%s' "
                                        "(trace, debug, info, warn, error, "
                                        "fatal)",
                                        min_severity));
    }
    filter.min_severity = *severity;
  }
  if (!trace.empty()) {
    std::optional<TraceId> trace_id = ParseTraceId(trace);
    if (!trace_id.has_value()) {
      return UsageError(
          "events",
          absl::StrFormat("--trace: '%s' is not 32 hex digits", trace));
    }
    filter.trace_id = *trace_id;
  }
  filter.entity = entity;
  filter.newest_first = newest_first;
  // One more than asked, to tell the user that more events match.
  filter.limit = limit == 0 ? 0 : static_cast<size_t>(limit) + 1;

  absl::StatusOr<std::unique_ptr<Store>> store = OpenStoreForReading(path);
  if (!store.ok()) return Fail("events", store.status());
  absl::StatusOr<std::unique_ptr<OutputFile>> out = OutputFile::Open("-");
  if (!out.ok()) return Fail("events", out.status());

  TablePrinter table(**out, width != 0 ? width : TerminalWidth());
  uint64_t shown = 0;
  bool more = false;
  EventCursor cursor = (*store)->Scan(filter);
  while (cursor.Next()) {
    if (limit != 0 && shown == limit) {
      more = true;
      break;
    }
    const Event& event = cursor.event();
    if (json) {
      absl::StatusOr<std::string> line = EventToJson(event);
      if (!line.ok()) {
        return Fail("events",
                    absl::StrFormat("event %s: %s", event.id.ToString(),
                                    line.status().message()));
      }
      line->push_back('\n');
      (*out)->Write(*line);
    } else {
      table.Add(MakeRow(event));
    }
    ++shown;
  }
  if (!cursor.status().ok()) return Fail("events", cursor.status());
  if (!json && shown > 0) table.Flush();
  absl::Status closed = (*out)->Close();
  if (!closed.ok()) return Fail("events", closed);
  if (shown == 0) {
    absl::FPrintF(stderr, "no events match\n");
  } else if (more) {
    absl::FPrintF(stderr,
                  "(%d events shown; more match: raise --limit or narrow the "
                  "range)\n",
                  shown);
  }
  return kExitOk;
}

}  // namespace traversion::cli
