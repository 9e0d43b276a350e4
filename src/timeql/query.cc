// traversion::Query and Result: parse, run, stream, enforce the limits of
// QueryOptions; the text forms of values.
#include "traversion/query.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <exception>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "timeql/evaluator.h"
#include "timeql/parser.h"
#include "timeql/time_literal.h"
#include "traversion/causality.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace traversion {
namespace {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string FormatDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  if (ec != std::errc()) return absl::StrCat(d);
  return std::string(buf, end);
}

// "1.5s", "250ms", "1m30s", "2h0m0s": the largest fitting unit, with a
// fraction where the value is not whole.
std::string FormatDurationShort(int64_t ns) {
  if (ns == 0) return "0s";
  std::string sign;
  uint64_t u = static_cast<uint64_t>(ns);
  if (ns < 0) {
    sign = "-";
    u = ~u + 1;
  }
  auto frac = [](uint64_t v, uint64_t unit, const char* suffix) {
    std::string s = absl::StrCat(v / unit);
    uint64_t rest = v % unit;
    if (rest != 0) {
      std::string digits = absl::StrFormat(
          "%0*d", static_cast<int>(std::log10(static_cast<double>(unit)) + 0.5),
          rest);
      while (!digits.empty() && digits.back() == '0') digits.pop_back();
      absl::StrAppend(&s, ".", digits);
    }
    return absl::StrCat(s, suffix);
  };
  constexpr uint64_t kUs = 1000, kMs = 1000000, kS = 1000000000;
  if (u < kUs) return absl::StrCat(sign, u, "ns");
  if (u < kMs) return sign + frac(u, kUs, "us");
  if (u < kS) return sign + frac(u, kMs, "ms");
  if (u < 60 * kS) return sign + frac(u, kS, "s");
  const uint64_t hours = u / (3600 * kS);
  const uint64_t minutes = u / (60 * kS) % 60;
  const uint64_t rest = u % (60 * kS);
  std::string out = sign;
  if (hours > 0) absl::StrAppend(&out, hours, "h");
  absl::StrAppend(&out, minutes, "m", frac(rest, kS, "s"));
  return out;
}

}  // namespace

absl::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kBool:
      return "bool";
    case ColumnType::kInt64:
      return "int64";
    case ColumnType::kDouble:
      return "double";
    case ColumnType::kString:
      return "string";
    case ColumnType::kTime:
      return "time";
    case ColumnType::kDuration:
      return "duration";
  }
  return "unknown";
}

std::string ValueToString(const Value& value) {
  switch (value.index()) {
    case 0:
      return "";
    case 1:
      return std::get<bool>(value) ? "true" : "false";
    case 2:
      return absl::StrCat(std::get<int64_t>(value));
    case 3:
      return FormatDouble(std::get<double>(value));
    case 4:
      return std::get<std::string>(value);
    case 5:
      return timeql::FormatTime(std::get<TimeValue>(value).unix_ns);
    case 6:
      return FormatDurationShort(std::get<DurationValue>(value).ns);
  }
  return "";
}

// --- Result
// --------------------------------------------------------------------

struct Result::State {
  std::string kind;
  std::vector<Column> columns;
  std::unique_ptr<Source> source;
  Row row;
  absl::Status status;
  bool done = false;
  QueryStats stats;
  int64_t started_ns = 0;
};

Result::Result(std::vector<Column> columns, std::unique_ptr<Source> source,
               std::string kind)
    : state_(std::make_unique<State>()) {
  state_->columns = std::move(columns);
  state_->source = std::move(source);
  state_->kind = std::move(kind);
  state_->started_ns = SteadyNowNs();
  if (state_->source != nullptr)
    state_->stats.plan = state_->source->stats.plan;
}
Result::Result(Result&&) noexcept = default;
Result& Result::operator=(Result&&) noexcept = default;
Result::~Result() = default;

const std::string& Result::kind() const { return state_->kind; }
const std::vector<Column>& Result::columns() const { return state_->columns; }
const Row& Result::row() const { return state_->row; }
absl::Status Result::status() const { return state_->status; }
const QueryStats& Result::stats() const { return state_->stats; }

const std::string& Result::structured_json() const {
  static const std::string* empty = new std::string();
  if (state_->source == nullptr) return *empty;
  return state_->source->structured_json();
}

bool Result::Next() {
  State& s = *state_;
  if (s.done || s.source == nullptr) return false;
  auto finish = [&](absl::Status status) {
    s.done = true;
    s.status = std::move(status);
    s.row.clear();
    s.stats.plan = s.source->stats.plan;
    s.stats.events_examined = s.source->stats.events_examined;
    s.stats.elapsed_ns = SteadyNowNs() - s.started_ns;
    return false;
  };
  bool more = false;
  try {
    more = s.source->Next(&s.row);
  } catch (const std::exception& e) {
    return finish(
        absl::InternalError(absl::StrCat("query failed: ", e.what())));
  }
  s.stats.events_examined = s.source->stats.events_examined;
  if (!more) return finish(s.source->status());
  ++s.stats.rows;
  timeql::Budget* budget = s.source->budget.get();
  const uint64_t max_rows = budget != nullptr ? budget->max_rows() : 0;
  if (max_rows != 0 && s.stats.rows > max_rows) {
    return finish(absl::ResourceExhaustedError(absl::StrCat(
        "the query returned more than ", max_rows,
        " rows (QueryOptions::max_rows); add a LIMIT, narrow the query, or "
        "raise max_rows")));
  }
  if (budget != nullptr && (s.stats.rows & 255) == 0) {
    if (absl::Status d = budget->CheckDeadline(); !d.ok()) {
      return finish(std::move(d));
    }
  }
  return true;
}

absl::StatusOr<std::vector<Row>> Result::ReadAll() {
  std::vector<Row> rows;
  while (Next()) rows.push_back(state_->row);
  if (!state_->status.ok()) return state_->status;
  return rows;
}

namespace timeql {

// --- Budget
// ----------------------------------------------------------------------

Budget::Budget(uint64_t max_events, uint64_t max_rows, int64_t timeout_ns)
    : max_events_(max_events),
      max_rows_(max_rows),
      timeout_ns_(timeout_ns),
      deadline_ns_(timeout_ns > 0 ? SteadyNowNs() + timeout_ns : 0) {}

absl::Status Budget::Examine(uint64_t n) {
  examined_ += n;
  if (max_events_ != 0 && examined_ > max_events_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the query examined more than ", max_events_,
        " events (QueryOptions::max_events_examined); narrow the time range "
        "or the WHERE (service, type, trace_id and severity use indexes), or "
        "raise max_events_examined"));
  }
  // Reading the clock costs about as much as examining an event from the
  // header alone; look at it every 16 k events.
  if (examined_ < next_clock_check_) return absl::OkStatus();
  next_clock_check_ = examined_ + 16384;
  return CheckDeadline();
}

absl::Status Budget::CheckDeadline() const {
  if (deadline_ns_ != 0 && SteadyNowNs() > deadline_ns_) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the query ran longer than ", FormatDuration(timeout_ns_),
        " (QueryOptions::timeout_ns); narrow it or raise timeout_ns"));
  }
  return absl::OkStatus();
}

absl::Status Budget::CheckRows(uint64_t rows) const {
  if (max_rows_ != 0 && rows > max_rows_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the query needs more than ", max_rows_,
        " rows (QueryOptions::max_rows); add a LIMIT, narrow the query, or "
        "raise max_rows"));
  }
  return absl::OkStatus();
}

// --- sources
// -------------------------------------------------------------------------

VectorSource::VectorSource(std::vector<Row> rows, std::string plan,
                           std::string json)
    : rows_(std::move(rows)) {
  stats.plan = std::move(plan);
  json_ = std::move(json);
}

bool VectorSource::Next(Row* row) {
  if (next_ >= rows_.size()) return false;
  *row = std::move(rows_[next_++]);
  return true;
}

Result MakeResult(std::vector<Column> columns,
                  std::unique_ptr<Result::Source> source, std::string kind,
                  const Context& ctx) {
  source->budget = ctx.budget;
  source->stats.events_examined = ctx.budget->examined();
  return Result(std::move(columns), std::move(source), std::move(kind));
}

// --- JSON
// ----------------------------------------------------------------------------

std::string JsonString(absl::string_view s) { return text::JsonQuote(s); }

std::string JsonValue(const Value& v) {
  switch (v.index()) {
    case 0:
      return "null";
    case 1:
      return std::get<bool>(v) ? "true" : "false";
    case 2:
      return absl::StrCat(std::get<int64_t>(v));
    case 3: {
      const double d = std::get<double>(v);
      if (!std::isfinite(d)) return "null";
      return FormatDouble(d);
    }
    default:
      return JsonString(ValueToString(v));
  }
}

// --- statements
// --------------------------------------------------------------------

absl::StatusOr<Result> RunStatement(const Statement& statement,
                                    absl::string_view text,
                                    const Context& ctx) {
  return std::visit(
      [&](const auto& stmt) -> absl::StatusOr<Result> {
        using T = std::decay_t<decltype(stmt)>;
        if constexpr (std::is_same_v<T, EventsStmt>) {
          return RunEvents(stmt, text, ctx);
        } else if constexpr (std::is_same_v<T, StateStmt>) {
          return RunState(stmt, text, ctx);
        } else if constexpr (std::is_same_v<T, HistoryStmt>) {
          return RunHistory(stmt, text, ctx);
        } else if constexpr (std::is_same_v<T, ChangesStmt>) {
          return RunChanges(stmt, text, ctx);
        } else if constexpr (std::is_same_v<T, TraceStmt>) {
          return RunTrace(stmt, text, ctx);
        } else if constexpr (std::is_same_v<T, TraverseStmt>) {
          return RunTraverse(stmt, text, ctx);
        } else if constexpr (std::is_same_v<T, MatchStmt>) {
          return RunMatch(stmt, text, ctx);
        } else if constexpr (std::is_same_v<T, CompareStmt>) {
          return RunCompare(stmt, text, ctx);
        } else if constexpr (std::is_same_v<T, PredictStmt>) {
          return RunPredict(stmt, text, ctx);
        } else {
          return RunRootCause(stmt, text, ctx);
        }
      },
      statement.body);
}

}  // namespace timeql

absl::StatusOr<Result> Query(const Store& store, absl::string_view query,
                             const QueryOptions& options) {
  try {
    TV_ASSIGN_OR_RETURN(timeql::Statement statement, timeql::Parse(query));
    timeql::Context ctx;
    ctx.store = &store;
    const Clock* clock =
        options.clock != nullptr ? options.clock : Clock::Real();
    ctx.now_ns = static_cast<int64_t>(clock->NowNanos());
    ctx.budget = std::make_shared<timeql::Budget>(
        options.max_events_examined, options.max_rows, options.timeout_ns);
    // By default the causality engine answers both (causality.h).
    ctx.causality = options.causality != nullptr ? options.causality
                                                 : DefaultCausalityEngine();
    ctx.forecaster = options.forecaster != nullptr ? options.forecaster
                                                   : DefaultCausalityEngine();
    ctx.parameters = options.parameters;
    return timeql::RunStatement(statement, query, ctx);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        "out of memory while running the query; narrow it or add a LIMIT");
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("query failed: ", e.what()));
  }
}

}  // namespace traversion
