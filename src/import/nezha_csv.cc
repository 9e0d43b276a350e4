#include "import/nezha_csv.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "event/utf8.h"
#include "import/json_value.h"
#include "traversion/event_codec.h"
#include "util/coding.h"
#include "util/status_macros.h"

namespace traversion::import {

namespace {

// A log body longer than this is cut (at a UTF-8 boundary): the store
// refuses events over 1 MiB, and no log line of the corpus comes close.
constexpr size_t kMaxLogBodyBytes = 256 * 1024;

constexpr uint64_t kNanosPerSecond = 1'000'000'000;

// Seeds of the id hashes, one per kind of row, so that a span and a log
// with the same bytes never share an id.
constexpr uint64_t kSpanIdSeed = 0x5350414e;    // "SPAN"
constexpr uint64_t kLogIdSeed = 0x4c4f4753;     // "LOGS"
constexpr uint64_t kMetricIdSeed = 0x4d455452;  // "METR"

// `text` with every ill-formed UTF-8 sequence replaced by U+FFFD: the store
// accepts only valid UTF-8, and one bad byte in a log line should not cost
// the line.
std::string ValidUtf8(absl::string_view text) {
  size_t bad = internal::FindInvalidUtf8(text);
  if (bad == absl::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  while (bad != absl::string_view::npos) {
    out.append(text.data(), bad);
    out.append("\xEF\xBF\xBD");
    text.remove_prefix(bad + 1);
    bad = internal::FindInvalidUtf8(text);
  }
  out.append(text.data(), text.size());
  return out;
}

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence.
void TruncateUtf8(std::string* text, size_t max) {
  if (text->size() <= max) return;
  size_t cut = max;
  while (cut > 0 && (static_cast<uint8_t>((*text)[cut]) & 0xC0) == 0x80) --cut;
  text->resize(cut);
}

std::optional<size_t> FindColumn(absl::Span<const absl::string_view> header,
                                 absl::string_view name) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (absl::StripAsciiWhitespace(header[i]) == name) return i;
  }
  return std::nullopt;
}

absl::StatusOr<uint64_t> ParseUnsigned(absl::string_view text,
                                       absl::string_view column) {
  uint64_t value = 0;
  if (text.empty() || !absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        column, " is not an unsigned integer: '", text.substr(0, 40), "'"));
  }
  return value;
}

// Unix seconds, integral or not, as nanoseconds.
absl::StatusOr<uint64_t> ParseUnixSeconds(absl::string_view text,
                                          absl::string_view column) {
  uint64_t whole = 0;
  if (!text.empty() && absl::SimpleAtoi(text, &whole)) {
    if (whole > std::numeric_limits<uint64_t>::max() / kNanosPerSecond) {
      return absl::InvalidArgumentError(
          absl::StrCat(column, " is out of range: '", text, "'"));
    }
    return whole * kNanosPerSecond;
  }
  double seconds = 0;
  if (text.empty() || !absl::SimpleAtod(text, &seconds) ||
      !std::isfinite(seconds) || seconds < 0 || seconds > 1.8e10) {
    return absl::InvalidArgumentError(absl::StrCat(
        column, " is not a Unix time in seconds: '", text.substr(0, 40), "'"));
  }
  return static_cast<uint64_t>(std::llround(seconds * 1e9));
}

// "2023-01-29T08:48:42.425293566Z"; without an offset the time is UTC.
absl::StatusOr<uint64_t> ParseRfc3339(absl::string_view text) {
  absl::Time when;
  std::string error;
  if (!absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*S%Ez", text, &when, &error) &&
      !absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*S", text, absl::UTCTimeZone(),
                       &when, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an RFC 3339 time: '", text.substr(0, 40), "'"));
  }
  if (when <= absl::UnixEpoch() ||
      when > absl::FromUnixSeconds(int64_t{1} << 34)) {
    return absl::InvalidArgumentError(
        absl::StrCat("time out of range: '", text.substr(0, 40), "'"));
  }
  return static_cast<uint64_t>(absl::ToUnixNanos(when));
}

absl::StatusOr<TraceId> ParseTraceIdColumn(absl::string_view text) {
  std::optional<TraceId> id = ParseTraceId(text);
  if (!id ||
      std::all_of(id->begin(), id->end(), [](uint8_t b) { return b == 0; })) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TraceID is not 32 hex digits (nonzero): '", text.substr(0, 40), "'"));
  }
  return *id;
}

absl::StatusOr<SpanId> ParseSpanIdColumn(absl::string_view text,
                                         absl::string_view column) {
  std::optional<SpanId> id = ParseSpanId(text);
  if (!id ||
      std::all_of(id->begin(), id->end(), [](uint8_t b) { return b == 0; })) {
    return absl::InvalidArgumentError(absl::StrCat(
        column, " is not 16 hex digits (nonzero): '", text.substr(0, 40), "'"));
  }
  return *id;
}

uint64_t HashParts(uint64_t seed,
                   std::initializer_list<absl::string_view> parts) {
  uint64_t h = seed;
  for (absl::string_view part : parts) {
    h = coding::StableHash64(part, h);
  }
  return h;
}

absl::string_view Bytes(const TraceId& id) {
  return absl::string_view(reinterpret_cast<const char*>(id.data()), id.size());
}
absl::string_view Bytes(const SpanId& id) {
  return absl::string_view(reinterpret_cast<const char*>(id.data()), id.size());
}

bool IsIdentChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '$' || c == '.';
}

std::optional<Severity> LevelSeverity(absl::string_view word) {
  if (word == "INFO") return Severity::kInfo;
  if (word == "WARN" || word == "WARNING") return Severity::kWarn;
  if (word == "ERROR") return Severity::kError;
  if (word == "DEBUG") return Severity::kDebug;
  if (word == "TRACE") return Severity::kTrace;
  if (word == "FATAL") return Severity::kFatal;
  return std::nullopt;
}

// The next space-delimited token of `*rest`, which loses it and the spaces
// after it.
absl::string_view TakeToken(absl::string_view* rest) {
  size_t end = 0;
  while (end < rest->size() && (*rest)[end] != ' ' && (*rest)[end] != '\t') {
    ++end;
  }
  absl::string_view token = rest->substr(0, end);
  rest->remove_prefix(end);
  *rest = absl::StripLeadingAsciiWhitespace(*rest);
  return token;
}

bool LooksLikeClock(absl::string_view token) {
  // "16:48:42.424", "16:48:42,424" or a date-time "2023-01-29T16:48:42.424".
  return !token.empty() && absl::ascii_isdigit(token[0]) &&
         absl::StrContains(token, ':');
}

}  // namespace

absl::string_view NezhaFileKindName(NezhaFileKind kind) {
  switch (kind) {
    case NezhaFileKind::kTrace:
      return "trace";
    case NezhaFileKind::kLog:
      return "log";
    case NezhaFileKind::kPodMetric:
      return "pod metric";
    case NezhaFileKind::kFrontMetric:
      return "front-end metric";
  }
  return "unknown";
}

void NezhaImportStats::Merge(const NezhaImportStats& other,
                             size_t max_reasons) {
  rows += other.rows;
  events += other.events;
  out_of_range += other.out_of_range;
  skipped += other.skipped;
  error_logs += other.error_logs;
  bytes += other.bytes;
  if (other.min_time_ns != 0 &&
      (min_time_ns == 0 || other.min_time_ns < min_time_ns)) {
    min_time_ns = other.min_time_ns;
  }
  max_time_ns = std::max(max_time_ns, other.max_time_ns);
  for (const std::string& reason : other.skip_reasons) {
    if (skip_reasons.size() >= max_reasons) break;
    skip_reasons.push_back(reason);
  }
}

// --- naming
// -------------------------------------------------------------------

std::string ServiceOfPod(absl::string_view pod) {
  std::vector<absl::string_view> parts = absl::StrSplit(pod, '-');
  if (parts.size() < 3) return std::string(pod);
  const size_t keep = pod.size() - parts[parts.size() - 1].size() -
                      parts[parts.size() - 2].size() - 2;
  return std::string(pod.substr(0, keep));
}

MetricName NormaliseMetricHeader(absl::string_view header) {
  header = absl::StripAsciiWhitespace(header);
  MetricName result;
  const size_t open = header.find('(');
  if (open != absl::string_view::npos && absl::EndsWith(header, ")")) {
    result.unit = std::string(absl::StripAsciiWhitespace(
        header.substr(open + 1, header.size() - open - 2)));
    header = absl::StripAsciiWhitespace(header.substr(0, open));
  }
  // CamelCase to snake_case: a word starts at an upper-case letter that
  // follows a lower-case letter or a digit, or that begins a capitalised
  // word after an acronym (the P of "HTTPPort" stays with "HTTP" only if
  // no lower-case letter follows). Digits stay with what precedes them
  // ("LatencyP90" -> "latency_p90"). Any other character separates words.
  std::string& name = result.name;
  for (size_t i = 0; i < header.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(header[i]);
    if (!absl::ascii_isalnum(c)) {
      if (!name.empty() && name.back() != '_') name.push_back('_');
      continue;
    }
    if (absl::ascii_isupper(c) && i > 0) {
      const unsigned char prev = static_cast<unsigned char>(header[i - 1]);
      const bool next_lower =
          i + 1 < header.size() &&
          absl::ascii_islower(static_cast<unsigned char>(header[i + 1]));
      if (absl::ascii_islower(prev) || absl::ascii_isdigit(prev) ||
          (absl::ascii_isupper(prev) && next_lower)) {
        if (!name.empty() && name.back() != '_') name.push_back('_');
      }
    }
    name.push_back(absl::ascii_tolower(c));
  }
  while (!name.empty() && name.back() == '_') name.pop_back();
  return result;
}

// --- log lines
// ----------------------------------------------------------------

bool DetectException(absl::string_view message, std::string* type) {
  bool found = false;
  std::string first_type;
  // Stack frames and "Caused by:" are judged line by line.
  for (absl::string_view line : absl::StrSplit(message, '\n')) {
    absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(line);
    if (absl::StartsWith(trimmed, "Caused by:")) found = true;
    if (absl::StartsWith(trimmed, "at ") && absl::StrContains(trimmed, '(') &&
        absl::EndsWith(absl::StripTrailingAsciiWhitespace(trimmed), ")")) {
      found = true;
    }
  }
  // Exception class names anywhere in the text.
  size_t i = 0;
  while (i < message.size()) {
    if (!IsIdentChar(message[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < message.size() && IsIdentChar(message[end])) ++end;
    absl::string_view token = message.substr(i, end - i);
    while (absl::EndsWith(token, ".")) token.remove_suffix(1);
    i = end;
    const size_t dot = token.rfind('.');
    const absl::string_view last =
        dot == absl::string_view::npos ? token : token.substr(dot + 1);
    if (last.empty() ||
        !absl::ascii_isupper(static_cast<unsigned char>(last[0]))) {
      continue;
    }
    const bool qualified = dot != absl::string_view::npos && dot > 0;
    const bool colon_follows = end < message.size() && message[end] == ':';
    bool is_exception = false;
    if (qualified) {
      for (absl::string_view suffix : {"Exception", "Error", "Throwable"}) {
        if (absl::EndsWith(last, suffix)) is_exception = true;
      }
    } else if (absl::EndsWith(last, "Exception") && colon_follows) {
      is_exception = true;
    }
    if (is_exception) {
      first_type = std::string(token);
      found = true;
      break;
    }
  }
  if (found && type != nullptr) *type = std::move(first_type);
  return found;
}

JavaLogLine ParseJavaLogLine(absl::string_view line) {
  JavaLogLine result;
  absl::string_view text = absl::StripTrailingAsciiWhitespace(line);
  absl::string_view rest = absl::StripLeadingAsciiWhitespace(text);
  bool laid_out = false;
  absl::string_view clock = TakeToken(&rest);
  if (LooksLikeClock(clock)) {
    absl::string_view level = TakeToken(&rest);
    if (std::optional<Severity> severity = LevelSeverity(level)) {
      laid_out = true;
      result.severity = *severity;
      // The code location "logger#line", when the layout has one.
      absl::string_view peek = rest;
      absl::string_view location = TakeToken(&peek);
      const size_t hash = location.rfind('#');
      int32_t line_number = 0;
      if (hash != absl::string_view::npos && hash > 0 &&
          absl::SimpleAtoi(location.substr(hash + 1), &line_number) &&
          line_number >= 0) {
        result.logger = std::string(location.substr(0, hash));
        result.line = line_number;
        rest = peek;
      }
      // The ids the layout repeats; the event carries them already.
      if (absl::StartsWith(rest, "TraceID:")) {
        rest.remove_prefix(8);
        rest = absl::StripLeadingAsciiWhitespace(rest);
        TakeToken(&rest);
        if (absl::StartsWith(rest, "SpanID:")) {
          rest.remove_prefix(7);
          rest = absl::StripLeadingAsciiWhitespace(rest);
          TakeToken(&rest);
        }
      }
    }
  }
  result.message = std::string(laid_out ? rest : text);
  result.exception = DetectException(result.message, &result.exception_type);
  return result;
}

// --- the converter
// ------------------------------------------------------------

absl::StatusOr<NezhaCsvConverter> NezhaCsvConverter::FromHeader(
    absl::Span<const absl::string_view> header, std::string source) {
  NezhaCsvConverter c;
  c.source_ = std::move(source);
  c.columns_ = header.size();
  auto need = [&](absl::string_view name, size_t* index) -> absl::Status {
    std::optional<size_t> found = FindColumn(header, name);
    if (!found) {
      return absl::InvalidArgumentError(
          absl::StrCat("a ", NezhaFileKindName(c.kind_),
                       " file needs the column '", name, "'"));
    }
    *index = *found;
    return absl::OkStatus();
  };
  if (FindColumn(header, "StartTimeUnixNano")) {
    c.kind_ = NezhaFileKind::kTrace;
    TV_RETURN_IF_ERROR(need("TraceID", &c.trace_id_));
    TV_RETURN_IF_ERROR(need("SpanID", &c.span_id_));
    TV_RETURN_IF_ERROR(need("ParentID", &c.parent_id_));
    TV_RETURN_IF_ERROR(need("PodName", &c.pod_));
    TV_RETURN_IF_ERROR(need("OperationName", &c.operation_));
    TV_RETURN_IF_ERROR(need("StartTimeUnixNano", &c.start_));
    TV_RETURN_IF_ERROR(need("EndTimeUnixNano", &c.end_));
    return c;
  }
  if (FindColumn(header, "TimeUnixNano")) {
    c.kind_ = NezhaFileKind::kLog;
    TV_RETURN_IF_ERROR(need("TimeUnixNano", &c.time_));
    TV_RETURN_IF_ERROR(need("PodName", &c.pod_));
    TV_RETURN_IF_ERROR(need("Log", &c.log_));
    // Optional columns: absent ones point past the row (never read).
    c.trace_id_ = FindColumn(header, "TraceID").value_or(c.columns_);
    c.span_id_ = FindColumn(header, "SpanID").value_or(c.columns_);
    c.node_ = FindColumn(header, "Node").value_or(c.columns_);
    c.container_ = FindColumn(header, "Container").value_or(c.columns_);
    c.timestamp_ = FindColumn(header, "Timestamp").value_or(c.columns_);
    return c;
  }
  if (FindColumn(header, "TimeStamp")) {
    const bool pod = FindColumn(header, "PodName").has_value();
    c.kind_ = pod ? NezhaFileKind::kPodMetric : NezhaFileKind::kFrontMetric;
    TV_RETURN_IF_ERROR(need("TimeStamp", &c.time_));
    if (pod) {
      TV_RETURN_IF_ERROR(need("PodName", &c.pod_));
    } else {
      TV_RETURN_IF_ERROR(need("ServiceName", &c.service_));
    }
    // Every other column is a metric, except the human-readable time.
    for (size_t i = 0; i < header.size(); ++i) {
      absl::string_view name = absl::StripAsciiWhitespace(header[i]);
      if (name == "Time" || name == "TimeStamp" || name == "PodName" ||
          name == "ServiceName" || name.empty()) {
        continue;
      }
      MetricName normalised = NormaliseMetricHeader(name);
      if (normalised.name.empty()) continue;
      c.metrics_.push_back(
          {i, std::move(normalised.name), std::move(normalised.unit)});
    }
    return c;
  }
  return absl::InvalidArgumentError(
      "not a trace, log or metric file of the corpus: the header has none of "
      "StartTimeUnixNano, TimeUnixNano, TimeStamp");
}

absl::StatusOr<uint64_t> NezhaCsvConverter::RowTime(
    absl::Span<const absl::string_view> row) const {
  if (row.size() != columns_) {
    return absl::InvalidArgumentError(
        absl::StrCat(row.size(), " fields where the header has ", columns_));
  }
  switch (kind_) {
    case NezhaFileKind::kTrace:
      return ParseUnsigned(row[start_], "StartTimeUnixNano");
    case NezhaFileKind::kLog:
      return LogTime(row);
    case NezhaFileKind::kPodMetric:
    case NezhaFileKind::kFrontMetric:
      return ParseUnixSeconds(row[time_], "TimeStamp");
  }
  return absl::InternalError("unknown file kind");
}

absl::Status NezhaCsvConverter::Convert(absl::Span<const absl::string_view> row,
                                        std::vector<Event>* out) const {
  if (row.size() != columns_) {
    return absl::InvalidArgumentError(
        absl::StrCat(row.size(), " fields where the header has ", columns_));
  }
  switch (kind_) {
    case NezhaFileKind::kTrace:
      return ConvertSpan(row, out);
    case NezhaFileKind::kLog:
      return ConvertLog(row, out);
    case NezhaFileKind::kPodMetric:
    case NezhaFileKind::kFrontMetric:
      return ConvertMetric(row, out);
  }
  return absl::InternalError("unknown file kind");
}

absl::Status NezhaCsvConverter::ConvertSpan(
    absl::Span<const absl::string_view> row, std::vector<Event>* out) const {
  TV_ASSIGN_OR_RETURN(TraceId trace_id, ParseTraceIdColumn(row[trace_id_]));
  TV_ASSIGN_OR_RETURN(SpanId span_id,
                      ParseSpanIdColumn(row[span_id_], "SpanID"));
  SpanId parent{};
  const absl::string_view parent_text = row[parent_id_];
  if (parent_text != "root" && !parent_text.empty()) {
    TV_ASSIGN_OR_RETURN(parent, ParseSpanIdColumn(parent_text, "ParentID"));
  }
  if (row[pod_].empty()) return absl::InvalidArgumentError("PodName is empty");
  TV_ASSIGN_OR_RETURN(uint64_t start,
                      ParseUnsigned(row[start_], "StartTimeUnixNano"));
  TV_ASSIGN_OR_RETURN(uint64_t end,
                      ParseUnsigned(row[end_], "EndTimeUnixNano"));
  if (start == 0) {
    return absl::InvalidArgumentError("StartTimeUnixNano is 0");
  }
  if (end < start) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EndTimeUnixNano ", end, " is before StartTimeUnixNano ", start));
  }
  Event event;
  event.id =
      EventId{start, HashParts(kSpanIdSeed, {Bytes(trace_id), Bytes(span_id)})};
  event.time_ns = start;
  event.type = EventType::kSpan;
  event.source = source_;
  event.service.instance = ValidUtf8(row[pod_]);
  event.service.name = ServiceOfPod(event.service.instance);
  event.trace.trace_id = trace_id;
  event.trace.span_id = span_id;
  event.trace.parent_span_id = parent;
  event.name = ValidUtf8(row[operation_]);
  SpanData span;
  span.duration_ns = end - start;
  event.payload = std::move(span);
  out->push_back(std::move(event));
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> NezhaCsvConverter::LogTime(
    absl::Span<const absl::string_view> row) const {
  absl::StatusOr<uint64_t> nanos = ParseUnsigned(row[time_], "TimeUnixNano");
  if (nanos.ok() && *nanos != 0) return nanos;
  // Some rows of the corpus (multi-line ERROR entries) carry a garbage
  // TimeUnixNano (-6795364578871345152) beside a good Timestamp.
  if (timestamp_ < row.size() && !row[timestamp_].empty()) {
    absl::StatusOr<uint64_t> parsed = ParseRfc3339(row[timestamp_]);
    if (parsed.ok()) return parsed;
    return absl::InvalidArgumentError(absl::StrCat(
        "neither TimeUnixNano nor Timestamp is a time: '",
        row[time_].substr(0, 40), "', '", row[timestamp_].substr(0, 40), "'"));
  }
  if (nanos.ok()) return absl::InvalidArgumentError("TimeUnixNano is 0");
  return nanos.status();
}

absl::Status NezhaCsvConverter::ConvertLog(
    absl::Span<const absl::string_view> row, std::vector<Event>* out) const {
  TV_ASSIGN_OR_RETURN(uint64_t time, LogTime(row));
  if (row[pod_].empty()) return absl::InvalidArgumentError("PodName is empty");
  Event event;
  const absl::string_view trace_text =
      trace_id_ < row.size() ? row[trace_id_] : absl::string_view();
  const absl::string_view span_text =
      span_id_ < row.size() ? row[span_id_] : absl::string_view();
  if (!trace_text.empty()) {
    TV_ASSIGN_OR_RETURN(event.trace.trace_id, ParseTraceIdColumn(trace_text));
    if (!span_text.empty()) {
      TV_ASSIGN_OR_RETURN(event.trace.span_id,
                          ParseSpanIdColumn(span_text, "SpanID"));
    }
  } else if (!span_text.empty()) {
    return absl::InvalidArgumentError("SpanID without a TraceID");
  }
  absl::StatusOr<JsonValue> envelope = JsonValue::Parse(row[log_]);
  if (!envelope.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Log is not JSON: ", envelope.status().message()));
  }
  const JsonValue* text = envelope->Find("log");
  if (text == nullptr || !text->is_string()) {
    return absl::InvalidArgumentError(
        "Log is not the runtime's envelope: no string member \"log\"");
  }
  JavaLogLine line = ParseJavaLogLine(text->string());

  event.id = EventId{time, HashParts(kLogIdSeed, {row[pod_], row[log_]})};
  event.time_ns = time;
  event.type = EventType::kLog;
  event.source = source_;
  event.service.instance = ValidUtf8(row[pod_]);
  event.service.name = ServiceOfPod(event.service.instance);
  if (node_ < row.size()) event.service.host = ValidUtf8(row[node_]);
  event.severity = line.severity;
  if (line.exception &&
      static_cast<int>(event.severity) < static_cast<int>(Severity::kError)) {
    event.severity = Severity::kError;
  }
  if (!line.logger.empty()) {
    event.name = ValidUtf8(absl::StrCat(line.logger, "#", line.line));
  }
  if (container_ < row.size() && !row[container_].empty()) {
    event.attributes.push_back(
        {"k8s.container.name", ValidUtf8(row[container_])});
  }
  if (const JsonValue* stream = envelope->Find("stream");
      stream != nullptr && stream->is_string()) {
    event.attributes.push_back({"log.iostream", ValidUtf8(stream->string())});
  }
  if (!line.exception_type.empty()) {
    event.attributes.push_back(
        {"exception.type", ValidUtf8(line.exception_type)});
  }
  LogData log;
  log.body = ValidUtf8(line.message);
  TruncateUtf8(&log.body, kMaxLogBodyBytes);
  log.logger = ValidUtf8(line.logger);
  log.code_line = line.line;
  event.payload = std::move(log);
  out->push_back(std::move(event));
  return absl::OkStatus();
}

absl::Status NezhaCsvConverter::ConvertMetric(
    absl::Span<const absl::string_view> row, std::vector<Event>* out) const {
  TV_ASSIGN_OR_RETURN(uint64_t time, ParseUnixSeconds(row[time_], "TimeStamp"));
  if (time == 0) return absl::InvalidArgumentError("TimeStamp is 0");
  ServiceRef service;
  bool customer_facing = false;
  if (kind_ == NezhaFileKind::kPodMetric) {
    if (row[pod_].empty()) {
      return absl::InvalidArgumentError("PodName is empty");
    }
    service.instance = ValidUtf8(row[pod_]);
    service.name = ServiceOfPod(service.instance);
  } else {
    if (row[service_].empty()) {
      return absl::InvalidArgumentError("ServiceName is empty");
    }
    // The front end's figures are what users saw.
    service.name = ValidUtf8(absl::AsciiStrToLower(row[service_]));
    customer_facing = true;
  }
  const size_t first = out->size();
  for (const MetricColumn& column : metrics_) {
    const absl::string_view text =
        absl::StripAsciiWhitespace(row[column.index]);
    if (text.empty() || absl::EqualsIgnoreCase(text, "nan")) continue;
    double value = 0;
    if (!absl::SimpleAtod(text, &value)) {
      out->resize(first);
      return absl::InvalidArgumentError(
          absl::StrCat("column ", column.index + 1, " (", column.name,
                       ") is not a number: '", text.substr(0, 40), "'"));
    }
    if (!std::isfinite(value)) continue;
    Event event;
    event.id =
        EventId{time, HashParts(kMetricIdSeed,
                                {service.instance, service.name, column.name})};
    event.time_ns = time;
    event.type = EventType::kMetric;
    event.source = source_;
    event.service = service;
    event.name = column.name;
    event.impact.customer_facing = customer_facing;
    MetricData metric;
    metric.kind = MetricKind::kGauge;
    metric.value = value;
    metric.unit = column.unit;
    event.payload = std::move(metric);
    out->push_back(std::move(event));
  }
  return absl::OkStatus();
}

// --- reading files
// ------------------------------------------------------------

namespace {

// Counts a malformed row; fails once the file has too many. `reason`
// names the file and line.
absl::Status SkipRow(std::string reason, const NezhaImportOptions& options,
                     NezhaImportStats* stats) {
  ++stats->skipped;
  if (stats->skipped > options.max_skipped_rows) {
    return absl::InvalidArgumentError(
        absl::StrCat(reason, " (more than ", options.max_skipped_rows,
                     " malformed rows; giving up on the file)"));
  }
  if (stats->skip_reasons.size() < options.max_reasons) {
    stats->skip_reasons.push_back(std::move(reason));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadNezhaCsv(CsvReader& reader, const NezhaImportOptions& options,
                          const EventSink& sink, NezhaImportStats* stats) {
  // This file's counts: the skip limit applies per file.
  NezhaImportStats counts;
  const uint64_t bytes_before = reader.bytes_read();
  auto finish = [&](absl::Status status) {
    counts.bytes = reader.bytes_read() - bytes_before;
    stats->Merge(counts, options.max_reasons);
    return status;
  };
  // The header: a malformed one fails the file.
  absl::StatusOr<bool> got = reader.Next();
  if (!got.ok()) return finish(got.status());
  if (!*got) {
    return finish(absl::InvalidArgumentError(
        absl::StrCat(reader.name(), ": empty file (no header)")));
  }
  absl::StatusOr<NezhaCsvConverter> converter =
      NezhaCsvConverter::FromHeader(reader.fields(), options.source);
  if (!converter.ok()) {
    return finish(absl::InvalidArgumentError(
        absl::StrCat(reader.Where(), ": ", converter.status().message())));
  }
  std::vector<Event> events;
  while (true) {
    got = reader.Next();
    if (!got.ok()) {
      if (got.status().code() != absl::StatusCode::kInvalidArgument) {
        return finish(got.status());
      }
      // A malformed record; the reader's message names file:line.
      ++counts.rows;
      absl::Status skip =
          SkipRow(std::string(got.status().message()), options, &counts);
      if (!skip.ok()) return finish(skip);
      continue;
    }
    if (!*got) break;
    ++counts.rows;
    absl::StatusOr<uint64_t> time = converter->RowTime(reader.fields());
    if (!time.ok()) {
      absl::Status skip =
          SkipRow(absl::StrCat(reader.Where(), ": ", time.status().message()),
                  options, &counts);
      if (!skip.ok()) return finish(skip);
      continue;
    }
    if (counts.min_time_ns == 0 || *time < counts.min_time_ns) {
      counts.min_time_ns = *time;
    }
    counts.max_time_ns = std::max(counts.max_time_ns, *time);
    if (*time < options.from_ns || *time >= options.to_ns) {
      ++counts.out_of_range;
      continue;
    }
    events.clear();
    absl::Status converted = converter->Convert(reader.fields(), &events);
    if (!converted.ok()) {
      absl::Status skip =
          SkipRow(absl::StrCat(reader.Where(), ": ", converted.message()),
                  options, &counts);
      if (!skip.ok()) return finish(skip);
      continue;
    }
    for (Event& event : events) {
      if (event.effective_type() == EventType::kLog &&
          static_cast<int>(event.severity) >=
              static_cast<int>(Severity::kError)) {
        ++counts.error_logs;
      }
      ++counts.events;
      absl::Status status = sink(std::move(event));
      if (!status.ok()) {
        return finish(
            absl::Status(status.code(),
                         absl::StrCat(reader.Where(), ": ", status.message())));
      }
    }
  }
  return finish(absl::OkStatus());
}

absl::Status ReadNezhaCsvFile(const std::string& path,
                              const NezhaImportOptions& options,
                              const EventSink& sink, NezhaImportStats* stats) {
  TV_ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> reader,
                      CsvReader::OpenFile(path));
  return ReadNezhaCsv(*reader, options, sink, stats);
}

absl::StatusOr<NezhaImportStats> ImportNezhaCsvFile(
    const std::string& path, Store& store, const NezhaImportOptions& options) {
  NezhaImportStats stats;
  std::vector<Event> batch;
  const size_t batch_size = std::max<size_t>(options.batch_size, 1);
  batch.reserve(std::min<size_t>(batch_size, 65536));
  auto flush = [&]() -> absl::Status {
    if (batch.empty()) return absl::OkStatus();
    absl::StatusOr<WriteResult> written = store.Write(batch);
    batch.clear();
    return written.status();
  };
  absl::Status status = ReadNezhaCsvFile(
      path, options,
      [&](Event&& event) -> absl::Status {
        batch.push_back(std::move(event));
        if (batch.size() >= batch_size) return flush();
        return absl::OkStatus();
      },
      &stats);
  // What was read before an error is kept.
  absl::Status flushed = flush();
  if (!status.ok()) return status;
  if (!flushed.ok()) {
    return absl::Status(flushed.code(),
                        absl::StrCat(path, ": ", flushed.message()));
  }
  return stats;
}

absl::StatusOr<NezhaTimeRange> ScanNezhaTimeRange(const std::string& path) {
  TV_ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> reader,
                      CsvReader::OpenFile(path));
  absl::StatusOr<bool> got = reader->Next();
  if (!got.ok()) return got.status();
  if (!*got) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": empty file (no header)"));
  }
  absl::StatusOr<NezhaCsvConverter> converter =
      NezhaCsvConverter::FromHeader(reader->fields());
  if (!converter.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(reader->Where(), ": ", converter.status().message()));
  }
  NezhaTimeRange range;
  range.kind = converter->kind();
  while (true) {
    got = reader->Next();
    if (!got.ok()) {
      if (got.status().code() == absl::StatusCode::kInvalidArgument) continue;
      return got.status();
    }
    if (!*got) break;
    absl::StatusOr<uint64_t> time = converter->RowTime(reader->fields());
    if (!time.ok() || *time == 0) continue;
    if (range.rows == 0 || *time < range.first_ns) range.first_ns = *time;
    range.last_ns = std::max(range.last_ns, *time);
    ++range.rows;
  }
  return range;
}

// --- labels
// -------------------------------------------------------------------

absl::StatusOr<std::vector<NezhaFault>> ParseNezhaFaults(
    absl::string_view json, absl::string_view name) {
  absl::StatusOr<JsonValue> root = JsonValue::Parse(json);
  if (!root.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", root.status().message()));
  }
  if (!root->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": expected an object keyed by hour, got ",
                     JsonKindName(root->kind())));
  }
  std::vector<NezhaFault> faults;
  for (const auto& [hour, list] : root->object()) {
    if (!list.is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": hour \"", hour, "\": expected a list, got ",
                       JsonKindName(list.kind())));
    }
    for (size_t i = 0; i < list.array().size(); ++i) {
      const JsonValue& entry = list.array()[i];
      const std::string where =
          absl::StrCat(name, ": hour \"", hour, "\", entry ", i + 1);
      if (!entry.is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": expected an object"));
      }
      auto text = [&](absl::string_view member) -> absl::StatusOr<std::string> {
        const JsonValue* value = entry.Find(member);
        if (value == nullptr || !value->is_string() ||
            value->string().empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, ": \"", member,
                           "\" is missing or not a non-empty string"));
        }
        return ValidUtf8(value->string());
      };
      NezhaFault fault;
      TV_ASSIGN_OR_RETURN(fault.inject_time, text("inject_time"));
      TV_ASSIGN_OR_RETURN(fault.pod, text("inject_pod"));
      TV_ASSIGN_OR_RETURN(fault.type, text("inject_type"));
      absl::Time when;
      std::string error;
      if (!absl::ParseTime("%Y-%m-%d %H:%M:%S", fault.inject_time,
                           absl::UTCTimeZone(), &when, &error) ||
          when < absl::UnixEpoch()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": inject_time \"", fault.inject_time,
                         "\" is not YYYY-MM-DD HH:MM:SS (", error, ")"));
      }
      fault.inject_ns = static_cast<uint64_t>(absl::ToUnixNanos(when));
      fault.service = ServiceOfPod(fault.pod);
      faults.push_back(std::move(fault));
    }
  }
  std::stable_sort(faults.begin(), faults.end(),
                   [](const NezhaFault& a, const NezhaFault& b) {
                     return a.inject_ns < b.inject_ns;
                   });
  return faults;
}

absl::StatusOr<std::vector<NezhaFault>> LoadNezhaFaults(
    const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int err = errno;
    std::string message = absl::StrCat(path, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(message);
    return absl::PermissionDeniedError(message);
  }
  std::string text;
  char chunk[65536];
  size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof(chunk), file)) > 0) {
    text.append(chunk, n);
    if (text.size() > (size_t{64} << 20)) {
      std::fclose(file);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": larger than 64 MiB; not a fault list"));
    }
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return absl::DataLossError(absl::StrCat(path, ": read failed"));
  return ParseNezhaFaults(text, path);
}

}  // namespace traversion::import
