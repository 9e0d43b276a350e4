// The Train Ticket (Nezha) corpus importer: the CSV reader, the JSON parser,
// the row converters, the file and store import with its skip-and-count
// rule, the fault-list loader, and randomized mutations of valid rows that
// must never crash and must yield Status errors or counted skips. Seeds are
// fixed (and printed on failure) so a failure replays.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "import/csv_reader.h"
#include "import/json_value.h"
#include "import/nezha_csv.h"
#include "support/test_support.h"
#include "traversion/event_codec.h"
#include "traversion/store.h"

namespace traversion::import {
namespace {

// --- fixtures
// -----------------------------------------------------------------

constexpr char kTraceHeader[] =
    "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,"
    "EndTimeUnixNano,Duration\n";
constexpr char kRootSpan[] =
    "898fbabdd1894463575af052c4cd7982,233d5101e107e112,root,"
    "ts-gateway-service-6f6cfc45b-h5m2n,/*,1674982159219000000,"
    "1674982159247160439,28160\n";
constexpr char kChildSpan[] =
    "898fbabdd1894463575af052c4cd7982,f613c6a34f920926,233d5101e107e112,"
    "ts-gateway-service-6f6cfc45b-h5m2n,FilteringWebHandler.handle,"
    "1674982159219813595,1674982159246951110,27137\n";

constexpr char kLogHeader[] =
    "Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log\n";
// An INFO line as the corpus has it: the runtime's JSON envelope, CSV-quoted.
constexpr char kInfoLog[] =
    "2023-01-29T08:48:42.425293566Z,1674982122425293566,33.33.33.116,"
    "ts-travel-service-64469b5b48-25zj6,server,"
    "49a51828322183eb20bfe4ace3060000,083e5d40259e7999,"
    "\"{\"\"log\"\":\"\"16:48:42.424 INFO  t.s.TravelServiceImpl#532 TraceID: "
    "49a51828322183eb20bfe4ace3060000 SpanID: 083e5d40259e7999 "
    "[getRouteByRouteId][Get Route By Id][Route is: Route(id=f3d4, "
    "stations=[shanghai, suzhou])]\\n\"\",\"\"stream\"\":\"\"stdout\"\","
    "\"\"time\"\":\"\"2023-01-29T08:48:42.425293566Z\"\"}\"\n";
constexpr char kErrorLog[] =
    "2023-01-29T08:43:26.379473141Z,1674981806379473141,33.33.33.115,"
    "ts-preserve-service-b5ccf8557-j4txs,server,"
    "fbb1c2904ee397adaf90efb157db6791,66efc3be7e5d090c,"
    "\"{\"\"log\"\":\"\"16:43:26.379 ERROR "
    "o.a.c.c.C.[.[.[.[dispatcherServlet]#175 TraceID: "
    "fbb1c2904ee397adaf90efb157db6791 SpanID: 66efc3be7e5d090c "
    "Servlet.service() threw exception [Request processing failed; nested "
    "exception is java.lang.IllegalStateException: No instances available "
    "for ts-food-service] with root cause\\n\"\",\"\"stream\"\":"
    "\"\"stdout\"\"}\"\n";
// An INFO-level line that carries an exception: detected as an error.
constexpr char kInfoExceptionLog[] =
    "2023-01-29T09:00:00.000000001Z,1674982800000000001,33.33.33.1,"
    "ts-basic-service-5dc8d4f9fd-46997,server,"
    "0123456789abcdef0123456789abcdef,0123456789abcdef,"
    "\"{\"\"log\"\":\"\"17:00:00.000 INFO  f.m.s.BasicServiceImpl#100 "
    "TraceID: 0123456789abcdef0123456789abcdef SpanID: 0123456789abcdef "
    "[queryForTravel][caught java.lang.RuntimeException: boom]\\n\"\"}\"\n";
// A stack-frame line with no level: detected as an error.
constexpr char kStackFrameLog[] =
    "2023-01-29T09:00:00.000000002Z,1674982800000000002,33.33.33.1,"
    "ts-basic-service-5dc8d4f9fd-46997,server,,,"
    "\"{\"\"log\"\":\"\"\\tat "
    "fdse.microservice.service.BasicServiceImpl.queryForTravel("
    "BasicServiceImpl.java:119)\\n\"\",\"\"stream\"\":\"\"stderr\"\"}\"\n";

constexpr char kMetricHeader[] =
    "Time,TimeStamp,PodName,CpuUsage(m),CpuUsageRate(%),MemoryUsage(Mi),"
    "SyscallRead,PodClientLatencyP90(s),PodWorkload(Ops),"
    "NodeCpuUsageRate(%)\n";
constexpr char kMetricRow[] =
    "2023-01-29 08:41:10.395170792 +0000 UTC m=+1.471332652,1674981670,"
    "ts-route-service-b6c59fb57-zv8dt,16.48,3.29,435.59,396,NaN,1.06,8.96\n";

constexpr char kFrontHeader[] =
    "Time,TimeStamp,ServiceName,SuccessRate(%),LatencyP50(s),LatencyP90(s)\n";
constexpr char kFrontRow[] =
    "2023-01-29 08:41:09.043078357 +0000 UTC m=+0.119240217,1674981669,"
    "Frontend,0,0.0928,0.4874\n";

struct ReadResult {
  absl::Status status;
  NezhaImportStats stats;
  std::vector<Event> events;
};

ReadResult ReadText(const std::string& text,
                    const NezhaImportOptions& options = {},
                    const CsvReaderOptions& csv = {}) {
  ReadResult result;
  std::unique_ptr<CsvReader> reader =
      CsvReader::FromString(text, "mem.csv", csv);
  result.status = ReadNezhaCsv(
      *reader, options,
      [&](Event&& e) {
        result.events.push_back(std::move(e));
        return absl::OkStatus();
      },
      &result.stats);
  return result;
}

std::vector<std::vector<std::string>> ReadAll(
    const std::string& text, size_t chunk_bytes,
    std::vector<std::string>* errors) {
  CsvReaderOptions options;
  options.chunk_bytes = chunk_bytes;
  std::unique_ptr<CsvReader> reader =
      CsvReader::FromString(text, "t.csv", options);
  std::vector<std::vector<std::string>> records;
  while (true) {
    absl::StatusOr<bool> got = reader->Next();
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
      if (errors != nullptr) errors->emplace_back(got.status().message());
      continue;
    }
    if (!*got) break;
    records.emplace_back(reader->fields().begin(), reader->fields().end());
  }
  return records;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// --- the CSV reader
// -------------------------------------------------------------

TEST(CsvReader, QuotedFieldsCommasDoubledQuotesAndLineBreaks) {
  const std::string text =
      "a,b,c\n"
      "1,\"x, y\",\"say \"\"hi\"\"\"\n"
      "2,\"two\nlines\",\r\n"
      "\n"
      "3,,\"\"";
  std::unique_ptr<CsvReader> reader = CsvReader::FromString(text, "t.csv");
  std::vector<std::vector<std::string>> records;
  std::vector<uint64_t> lines;
  while (true) {
    absl::StatusOr<bool> got = reader->Next();
    ASSERT_TRUE(got.ok()) << got.status();
    if (!*got) break;
    records.emplace_back(reader->fields().begin(), reader->fields().end());
    lines.push_back(reader->line());
  }
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0], (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(records[1], (std::vector<std::string>{"1", "x, y", "say \"hi\""}));
  EXPECT_EQ(records[2], (std::vector<std::string>{"2", "two\nlines", ""}));
  EXPECT_EQ(records[3], (std::vector<std::string>{"3", "", ""}));
  // Physical lines: the quoted line break and the blank line count.
  EXPECT_EQ(lines, (std::vector<uint64_t>{1, 2, 3, 6}));
  EXPECT_EQ(reader->bytes_read(), text.size());
}

TEST(CsvReader, LoneCarriageReturnEndsARecord) {
  std::vector<std::string> errors;
  auto records = ReadAll("a,b\rc,d\r", 1 << 20, &errors);
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1], (std::vector<std::string>{"c", "d"}));
}

TEST(CsvReader, MalformedRecordsAreReportedWithLineAndSkipped) {
  const std::string text =
      "h1,h2\n"
      "ok,1\n"
      "bad\"quote,2\n"
      "\"closed\"junk,3\n"
      "ok,4\n"
      "\"never closed,5\n"
      "x,6\n";
  std::vector<std::string> errors;
  auto records = ReadAll(text, 1 << 20, &errors);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0], "t.csv:3: quote inside an unquoted field");
  EXPECT_EQ(errors[1], "t.csv:4: unexpected character after a closing quote");
  EXPECT_TRUE(absl::StartsWith(errors[2], "t.csv:6: unterminated quoted field"))
      << errors[2];
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2], (std::vector<std::string>{"ok", "4"}));
}

TEST(CsvReader, RecordLongerThanTheLimitIsMalformed) {
  CsvReaderOptions options;
  options.max_record_bytes = 16;
  std::unique_ptr<CsvReader> reader = CsvReader::FromString(
      "short,1\n" + std::string(100, 'x') + ",2\nshort,3\n", "t.csv", options);
  ASSERT_TRUE(*reader->Next());
  absl::StatusOr<bool> got = reader->Next();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(got.status().message(), "t.csv:2:"));
  ASSERT_TRUE(*reader->Next());
  EXPECT_EQ(reader->fields()[1], "3");
}

TEST(CsvReader, ChunkSizeDoesNotChangeTheRecords) {
  std::mt19937 rng(7);
  const std::string alphabet = "ab,\"\n\r x";
  for (int round = 0; round < 300; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::string text;
    const int n = std::uniform_int_distribution<int>(0, 80)(rng);
    for (int i = 0; i < n; ++i) {
      text.push_back(alphabet[std::uniform_int_distribution<size_t>(
          0, alphabet.size() - 1)(rng)]);
    }
    std::vector<std::string> errors_big, errors_small;
    auto big = ReadAll(text, 1 << 20, &errors_big);
    for (size_t chunk : {1, 2, 3, 7}) {
      errors_small.clear();
      EXPECT_EQ(ReadAll(text, chunk, &errors_small), big) << text;
      EXPECT_EQ(errors_small, errors_big) << text;
    }
  }
}

TEST(CsvReader, MissingFileIsNotFound) {
  auto reader = CsvReader::OpenFile("/nonexistent/nezha/trace.csv");
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
}

TEST(CsvReader, StreamsAFileInSmallChunks) {
  testing::ScratchDir dir;
  const std::string path = dir.Sub("t.csv");
  std::string text = "h\n";
  for (int i = 0; i < 1000; ++i) absl::StrAppend(&text, "\"row ", i, "\"\n");
  WriteFile(path, text);
  CsvReaderOptions options;
  options.chunk_bytes = 5;
  auto reader = CsvReader::OpenFile(path, options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  int rows = 0;
  while (*(*reader)->Next()) ++rows;
  EXPECT_EQ(rows, 1001);
  EXPECT_EQ((*reader)->fields().size(), 0u);
  EXPECT_EQ((*reader)->bytes_read(), text.size());
}

// --- JSON
// -----------------------------------------------------------------------

TEST(JsonValue, UnescapesStrings) {
  auto v = JsonValue::Parse(
      R"({"log":"a\"b\\c\/d\n\t\u00e9\ud83d\ude00","n":-1.5e2,"t":true,)"
      R"("z":null,"l":[1,[]]})");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_NE(v->Find("log"), nullptr);
  EXPECT_EQ(v->Find("log")->string(), "a\"b\\c/d\n\t\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(v->Find("n")->number(), -150);
  EXPECT_TRUE(v->Find("t")->boolean());
  EXPECT_EQ(v->Find("z")->kind(), JsonValue::Kind::kNull);
  EXPECT_EQ(v->Find("l")->array().size(), 2u);
  EXPECT_EQ(v->Find("missing"), nullptr);
}

TEST(JsonValue, RejectsWhatTheRfcRejects) {
  for (const char* bad :
       {"", "{", "{\"a\":1,}", "[1,]", "01", "\"\\ud800\"", "\"\\udc00\"",
        "\"\\ud800\\u0041\"", "\"a\nb\"", "\"\\x\"", "{\"a\" 1}", "tru", "1 2",
        "\"unterminated", "-", "1.", "1e", "{\"a\":1}x", "\"\\u12\""}) {
    SCOPED_TRACE(bad);
    auto v = JsonValue::Parse(bad);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(v.status().message(), "JSON at byte"));
  }
}

TEST(JsonValue, NestingIsBounded) {
  EXPECT_TRUE(
      JsonValue::Parse(std::string(60, '[') + std::string(60, ']')).ok());
  auto deep = JsonValue::Parse(std::string(100000, '['));
  ASSERT_FALSE(deep.ok());
  EXPECT_TRUE(absl::StrContains(deep.status().message(), "nested too deeply"));
}

// --- naming
// ---------------------------------------------------------------------

TEST(NezhaNaming, ServiceOfPodDropsTwoHashParts) {
  EXPECT_EQ(ServiceOfPod("ts-contacts-service-866bd68c97-xcqfx"),
            "ts-contacts-service");
  EXPECT_EQ(ServiceOfPod("ts-ui-dashboard-5477b965f-2chkr"), "ts-ui-dashboard");
  EXPECT_EQ(ServiceOfPod("a-b-c"), "a");
  EXPECT_EQ(ServiceOfPod("redis-0"), "redis-0");
  EXPECT_EQ(ServiceOfPod("frontend"), "frontend");
}

TEST(NezhaNaming, MetricHeadersBecomeSnakeCaseAndUnit) {
  auto check = [](absl::string_view header, absl::string_view name,
                  absl::string_view unit) {
    MetricName m = NormaliseMetricHeader(header);
    EXPECT_EQ(m.name, name) << header;
    EXPECT_EQ(m.unit, unit) << header;
  };
  check("CpuUsageRate(%)", "cpu_usage_rate", "%");
  check("CpuUsage(m)", "cpu_usage", "m");
  check("MemoryUsage(Mi)", "memory_usage", "Mi");
  check("PodClientLatencyP90(s)", "pod_client_latency_p90", "s");
  check("PodWorkload(Ops)", "pod_workload", "Ops");
  check("SyscallRead", "syscall_read", "");
  check("NetworkP90(ms)", "network_p90", "ms");
  check("NodeNetworkReceiveBytes", "node_network_receive_bytes", "");
  check("HTTPStatus2xx", "http_status2xx", "");
  check(" Latency P50 (s) ", "latency_p50", "s");
}

// --- log lines
// ------------------------------------------------------------------

TEST(NezhaLogLine, LayoutIsTakenApart) {
  JavaLogLine line = ParseJavaLogLine(
      "16:48:42.424 INFO  t.s.TravelServiceImpl#532 TraceID: "
      "49a51828322183eb20bfe4ace3060000 SpanID: 083e5d40259e7999 "
      "[getRouteByRouteId][Get Route By Id]\n");
  EXPECT_EQ(line.severity, Severity::kInfo);
  EXPECT_EQ(line.logger, "t.s.TravelServiceImpl");
  EXPECT_EQ(line.line, 532);
  EXPECT_EQ(line.message, "[getRouteByRouteId][Get Route By Id]");
  EXPECT_FALSE(line.exception);

  JavaLogLine warn =
      ParseJavaLogLine("23:43:09.599 WARN  o.s.OrderServiceImpl#68 [x][y]");
  EXPECT_EQ(warn.severity, Severity::kWarn);
  EXPECT_EQ(warn.message, "[x][y]");

  JavaLogLine plain = ParseJavaLogLine("Started application in 3.2 seconds");
  EXPECT_EQ(plain.severity, Severity::kUnspecified);
  EXPECT_EQ(plain.logger, "");
  EXPECT_EQ(plain.message, "Started application in 3.2 seconds");
}

TEST(NezhaLogLine, ExceptionsAndStackTracesAreDetected) {
  std::string type;
  EXPECT_TRUE(DetectException(
      "nested exception is java.lang.IllegalStateException: No instances",
      &type));
  EXPECT_EQ(type, "java.lang.IllegalStateException");
  EXPECT_TRUE(DetectException("RuntimeException: boom", &type));
  EXPECT_EQ(type, "RuntimeException");
  EXPECT_TRUE(DetectException("Exception: something", &type));
  EXPECT_TRUE(DetectException("java.lang.OutOfMemoryError", &type));
  type.clear();
  EXPECT_TRUE(
      DetectException("\tat com.x.Service.method(Service.java:12)", &type));
  EXPECT_EQ(type, "");
  EXPECT_TRUE(DetectException("Caused by: nothing named", &type));

  for (const char* clean :
       {"[getAllFood][Get the Get Food Request Failed!][result is null]",
        "Error code 5 returned", "ErrorHandler registered",
        "exception handled quietly", "the Exception list is empty",
        "at the station (shanghai) at noon", "fdse.ErrorPage loaded",
        "a.b.exception: lower case"}) {
    EXPECT_FALSE(DetectException(clean, nullptr)) << clean;
  }
}

// --- converters
// -----------------------------------------------------------------

TEST(NezhaConvert, TraceRowsBecomeSpans) {
  ReadResult r = ReadText(std::string(kTraceHeader) + kRootSpan + kChildSpan);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.events.size(), 2u);
  const Event& root = r.events[0];
  EXPECT_EQ(root.effective_type(), EventType::kSpan);
  EXPECT_EQ(root.service.name, "ts-gateway-service");
  EXPECT_EQ(root.service.instance, "ts-gateway-service-6f6cfc45b-h5m2n");
  EXPECT_EQ(root.name, "/*");
  EXPECT_EQ(root.time_ns, 1674982159219000000u);
  ASSERT_NE(root.span(), nullptr);
  EXPECT_EQ(root.span()->duration_ns, 28160439u);
  EXPECT_EQ(root.span()->kind, SpanKind::kUnspecified);
  EXPECT_EQ(ToHex(root.trace.trace_id), "898fbabdd1894463575af052c4cd7982");
  EXPECT_EQ(ToHex(root.trace.span_id), "233d5101e107e112");
  EXPECT_FALSE(root.trace.has_parent());
  EXPECT_EQ(root.id.time_ns, root.time_ns);
  EXPECT_NE(root.id.suffix, 0u);
  const Event& child = r.events[1];
  EXPECT_EQ(ToHex(child.trace.parent_span_id), "233d5101e107e112");
  EXPECT_EQ(child.name, "FilteringWebHandler.handle");
  EXPECT_NE(child.id, root.id);
  for (const Event& e : r.events) EXPECT_TRUE(ValidateEvent(e).ok());
  EXPECT_EQ(r.stats.rows, 2u);
  EXPECT_EQ(r.stats.events, 2u);
  EXPECT_EQ(r.stats.min_time_ns, 1674982159219000000u);
  EXPECT_EQ(r.stats.max_time_ns, 1674982159219813595u);
}

TEST(NezhaConvert, LogRowsBecomeLogsWithLevelLocationAndIds) {
  ReadResult r = ReadText(std::string(kLogHeader) + kInfoLog + kErrorLog +
                          kInfoExceptionLog + kStackFrameLog);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.events.size(), 4u);
  const Event& info = r.events[0];
  EXPECT_EQ(info.effective_type(), EventType::kLog);
  EXPECT_EQ(info.time_ns, 1674982122425293566u);
  EXPECT_EQ(info.severity, Severity::kInfo);
  EXPECT_EQ(info.service.name, "ts-travel-service");
  EXPECT_EQ(info.service.instance, "ts-travel-service-64469b5b48-25zj6");
  EXPECT_EQ(info.service.host, "33.33.33.116");
  EXPECT_EQ(info.name, "t.s.TravelServiceImpl#532");
  ASSERT_NE(info.log(), nullptr);
  EXPECT_EQ(info.log()->logger, "t.s.TravelServiceImpl");
  EXPECT_EQ(info.log()->code_line, 532);
  EXPECT_EQ(info.log()->body,
            "[getRouteByRouteId][Get Route By Id][Route is: Route(id=f3d4, "
            "stations=[shanghai, suzhou])]");
  EXPECT_EQ(ToHex(info.trace.trace_id), "49a51828322183eb20bfe4ace3060000");
  EXPECT_EQ(ToHex(info.trace.span_id), "083e5d40259e7999");
  const AttributeValue* stream = info.FindAttribute("log.iostream");
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(std::get<std::string>(*stream), "stdout");
  EXPECT_EQ(info.FindAttribute("exception.type"), nullptr);

  const Event& error = r.events[1];
  EXPECT_EQ(error.severity, Severity::kError);
  EXPECT_EQ(error.log()->logger, "o.a.c.c.C.[.[.[.[dispatcherServlet]");
  EXPECT_EQ(error.log()->code_line, 175);
  const AttributeValue* type = error.FindAttribute("exception.type");
  ASSERT_NE(type, nullptr);
  EXPECT_EQ(std::get<std::string>(*type), "java.lang.IllegalStateException");

  // INFO, but an exception in the message: an error.
  EXPECT_EQ(r.events[2].severity, Severity::kError);
  // No layout at all, but a stack frame: an error, with no trace context.
  const Event& frame = r.events[3];
  EXPECT_EQ(frame.severity, Severity::kError);
  EXPECT_FALSE(frame.trace.has_trace());
  EXPECT_TRUE(absl::StartsWith(frame.log()->body, "\tat fdse."));
  EXPECT_EQ(r.stats.error_logs, 3u);
  for (const Event& e : r.events) EXPECT_TRUE(ValidateEvent(e).ok());
}

TEST(NezhaConvert, LogTimeFallsBackToTimestamp) {
  // Rows of the corpus with a garbage TimeUnixNano and a Timestamp without
  // an offset (UTC).
  ReadResult r =
      ReadText(std::string(kLogHeader) +
               "2023-01-29T09:34:22.896,-6795364578871345152,n,p-a-b,c,,,"
               "\"{\"\"log\"\":\"\"x\"\"}\"\n"
               "2023-01-29T09:34:22.5+01:00,,n,p-a-b,c,,,"
               "\"{\"\"log\"\":\"\"y\"\"}\"\n"
               "yesterday,-1,n,p-a-b,c,,,\"{\"\"log\"\":\"\"z\"\"}\"\n");
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].time_ns, 1674984862896000000u);
  EXPECT_EQ(r.events[1].time_ns, 1674984862500000000u - 3600000000000u);
  ASSERT_EQ(r.stats.skip_reasons.size(), 1u);
  EXPECT_EQ(r.stats.skip_reasons[0],
            "mem.csv:4: neither TimeUnixNano nor Timestamp is a time: '-1', "
            "'yesterday'");
}

TEST(NezhaConvert, MetricRowsBecomeGaugesPerColumn) {
  ReadResult r = ReadText(std::string(kMetricHeader) + kMetricRow);
  ASSERT_TRUE(r.status.ok()) << r.status;
  // 7 metric columns, one NaN.
  ASSERT_EQ(r.events.size(), 6u);
  std::vector<std::string> names;
  for (const Event& e : r.events) {
    EXPECT_EQ(e.effective_type(), EventType::kMetric);
    EXPECT_EQ(e.time_ns, 1674981670000000000u);
    EXPECT_EQ(e.service.name, "ts-route-service");
    EXPECT_EQ(e.service.instance, "ts-route-service-b6c59fb57-zv8dt");
    EXPECT_EQ(e.metric()->kind, MetricKind::kGauge);
    EXPECT_TRUE(ValidateEvent(e).ok());
    names.push_back(e.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "cpu_usage", "cpu_usage_rate", "memory_usage",
                       "syscall_read", "pod_workload", "node_cpu_usage_rate"}));
  EXPECT_EQ(r.events[1].metric()->unit, "%");
  EXPECT_DOUBLE_EQ(r.events[1].metric()->value, 3.29);

  ReadResult front = ReadText(std::string(kFrontHeader) + kFrontRow);
  ASSERT_TRUE(front.status.ok()) << front.status;
  ASSERT_EQ(front.events.size(), 3u);
  EXPECT_EQ(front.events[0].service.name, "frontend");
  EXPECT_TRUE(front.events[0].impact.customer_facing);
  EXPECT_EQ(front.events[0].name, "success_rate");
  EXPECT_EQ(front.events[2].name, "latency_p90");
  EXPECT_EQ(front.events[2].metric()->unit, "s");
}

TEST(NezhaConvert, IdsAreDeterministic) {
  ReadResult a = ReadText(std::string(kLogHeader) + kInfoLog);
  ReadResult b = ReadText(std::string(kLogHeader) + kInfoLog);
  ASSERT_EQ(a.events.size(), 1u);
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(a.events[0].id, b.events[0].id);
}

TEST(NezhaConvert, MalformedRowsAreSkippedAndCountedWithFileAndLine) {
  const std::string text =
      std::string(kTraceHeader) + kRootSpan +
      // line 3: trace id too short
      "898fbabd,233d5101e107e113,root,p-a-b,/x,1674982159219000000,"
      "1674982159219000001,1\n"
      // line 4: ends before it starts
      "898fbabdd1894463575af052c4cd7982,233d5101e107e114,root,p-a-b,/x,"
      "1674982159219000009,1674982159219000001,1\n"
      // line 5: a field missing
      "898fbabdd1894463575af052c4cd7982,233d5101e107e115,root,p-a-b,/x,1\n"
      // line 6: a stray quote
      "898fbabdd1894463575af052c4cd7982,23\"3d,root,p-a-b,/x,1,2,3\n" +
      kChildSpan;
  ReadResult r = ReadText(text);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.stats.rows, 6u);
  EXPECT_EQ(r.stats.skipped, 4u);
  ASSERT_EQ(r.stats.skip_reasons.size(), 4u);
  EXPECT_TRUE(absl::StartsWith(r.stats.skip_reasons[0],
                               "mem.csv:3: TraceID is not 32 hex digits"))
      << r.stats.skip_reasons[0];
  EXPECT_TRUE(
      absl::StartsWith(r.stats.skip_reasons[1], "mem.csv:4: EndTimeUnixNano"))
      << r.stats.skip_reasons[1];
  EXPECT_EQ(r.stats.skip_reasons[2],
            "mem.csv:5: 6 fields where the header has 8");
  EXPECT_EQ(r.stats.skip_reasons[3],
            "mem.csv:6: quote inside an unquoted field");

  // Log rows whose envelope is not JSON, or lacks "log".
  ReadResult logs = ReadText(
      std::string(kLogHeader) +
      "t,1674982122425293566,n,p-a-b,c,,,not json\n"
      "t,1674982122425293566,n,p-a-b,c,,,\"{\"\"stream\"\":\"\"stdout\"\"}\"\n"
      "t,1674982122425293566,n,p-a-b,c,,0123456789abcdef,\"{\"\"log\"\":"
      "\"\"x\"\"}\"\n");
  ASSERT_TRUE(logs.status.ok()) << logs.status;
  EXPECT_EQ(logs.events.size(), 0u);
  ASSERT_EQ(logs.stats.skip_reasons.size(), 3u);
  EXPECT_TRUE(absl::StartsWith(logs.stats.skip_reasons[0],
                               "mem.csv:2: Log is not JSON"));
  EXPECT_TRUE(
      absl::StrContains(logs.stats.skip_reasons[1], "no string member"));
  EXPECT_TRUE(absl::StrContains(logs.stats.skip_reasons[2], "SpanID without"));

  // A metric value that is not a number fails the whole row.
  ReadResult metrics =
      ReadText(std::string(kFrontHeader) +
               "t,1674981669,Frontend,12,oops,0.4\n" + kFrontRow);
  ASSERT_TRUE(metrics.status.ok());
  EXPECT_EQ(metrics.events.size(), 3u);
  ASSERT_EQ(metrics.stats.skip_reasons.size(), 1u);
  EXPECT_EQ(metrics.stats.skip_reasons[0],
            "mem.csv:2: column 5 (latency_p50) is not a number: 'oops'");
}

TEST(NezhaConvert, TooManyMalformedRowsFailTheFileNamingTheLine) {
  std::string text = kTraceHeader;
  for (int i = 0; i < 5; ++i) text += "garbage\n";
  NezhaImportOptions options;
  options.max_skipped_rows = 3;
  ReadResult r = ReadText(text, options);
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(r.status.message(), "mem.csv:5: ")) << r.status;
  EXPECT_TRUE(absl::StrContains(r.status.message(), "more than 3 malformed"));
}

TEST(NezhaConvert, UnknownHeaderOrMissingColumnIsAnError) {
  ReadResult unknown = ReadText("a,b,c\n1,2,3\n");
  EXPECT_EQ(unknown.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(unknown.status.message(), "mem.csv:1: not a"));
  ReadResult missing = ReadText("TraceID,SpanID,StartTimeUnixNano\n");
  EXPECT_TRUE(absl::StrContains(missing.status.message(),
                                "needs the column 'ParentID'"))
      << missing.status;
  ReadResult empty = ReadText("");
  EXPECT_TRUE(absl::StrContains(empty.status.message(), "empty file"));
}

TEST(NezhaConvert, TimeWindowFiltersRows) {
  NezhaImportOptions options;
  options.from_ns = 1674982159219000001;  // after the root, before the child
  ReadResult r =
      ReadText(std::string(kTraceHeader) + kRootSpan + kChildSpan, options);
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].name, "FilteringWebHandler.handle");
  EXPECT_EQ(r.stats.out_of_range, 1u);
  // The range seen covers both rows.
  EXPECT_EQ(r.stats.min_time_ns, 1674982159219000000u);
}

TEST(NezhaConvert, InvalidUtf8IsReplacedNotRejected) {
  const std::string text = std::string(kTraceHeader) +
                           "898fbabdd1894463575af052c4cd7982,233d5101e107e112,"
                           "root,pod\xff-a-b,GET /\xc3,1674982159219000000,"
                           "1674982159247160439,28160\n";
  ReadResult r = ReadText(text);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_TRUE(ValidateEvent(r.events[0]).ok());
  EXPECT_EQ(r.events[0].name, "GET /\xEF\xBF\xBD");
}

// --- into a store
// ---------------------------------------------------------------

TEST(NezhaImport, FileIntoStoreIsIdempotent) {
  testing::ScratchDir dir;
  const std::string path = dir.Sub("08_50_log.csv");
  WriteFile(path, std::string(kLogHeader) + kInfoLog + kErrorLog + kInfoLog);
  auto store = Store::Open(dir.Sub("store"));
  ASSERT_TRUE(store.ok()) << store.status();
  NezhaImportOptions options;
  options.batch_size = 1;
  auto first = ImportNezhaCsvFile(path, **store, options);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->events, 3u);
  auto second = ImportNezhaCsvFile(path, **store, options);
  ASSERT_TRUE(second.ok()) << second.status();
  auto stats = (*store)->Stats();
  ASSERT_TRUE(stats.ok());
  // The file repeats one row and was imported twice: two distinct events.
  EXPECT_EQ(stats->events, 2u);
  EXPECT_EQ(stats->services, (std::vector<std::string>{"ts-preserve-service",
                                                       "ts-travel-service"}));
  EventFilter errors;
  errors.min_severity = Severity::kError;
  EventCursor cursor = (*store)->Scan(errors);
  int n = 0;
  while (cursor.Next()) ++n;
  EXPECT_TRUE(cursor.status().ok());
  EXPECT_EQ(n, 1);
}

TEST(NezhaImport, AFailedFileKeepsWhatCameBefore) {
  testing::ScratchDir dir;
  const std::string path = dir.Sub("trace.csv");
  WriteFile(path, std::string(kTraceHeader) + kRootSpan + kChildSpan +
                      "bad\nbad\nbad\n");
  auto store = Store::Open(dir.Sub("store"));
  ASSERT_TRUE(store.ok());
  NezhaImportOptions options;
  options.max_skipped_rows = 2;
  auto imported = ImportNezhaCsvFile(path, **store, options);
  ASSERT_FALSE(imported.ok());
  EXPECT_TRUE(absl::StartsWith(imported.status().message(), path + ":6: "))
      << imported.status();
  auto stats = (*store)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 2u);
}

TEST(NezhaImport, TimeRangeScanReadsRowTimes) {
  testing::ScratchDir dir;
  const std::string path = dir.Sub("trace.csv");
  WriteFile(path,
            std::string(kTraceHeader) + kChildSpan + "junk\n" + kRootSpan);
  auto range = ScanNezhaTimeRange(path);
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->kind, NezhaFileKind::kTrace);
  EXPECT_EQ(range->rows, 2u);
  EXPECT_EQ(range->first_ns, 1674982159219000000u);
  EXPECT_EQ(range->last_ns, 1674982159219813595u);
}

// --- labels
// ---------------------------------------------------------------------

TEST(NezhaFaults, ParsedSortedAndNamed) {
  auto faults = ParseNezhaFaults(R"({
    "09": [{"inject_time": "2023-01-29 09:03:53", "inject_timestamp": "1",
            "inject_pod": "ts-basic-service-5dc8d4f9fd-46997",
            "inject_type": "return"}],
    "08": [{"inject_time": "2023-01-29 08:43:04",
            "inject_pod": "ts-contacts-service-866bd68c97-xcqfx",
            "inject_type": "cpu_contention"}]})",
                                 "f.json");
  ASSERT_TRUE(faults.ok()) << faults.status();
  ASSERT_EQ(faults->size(), 2u);
  EXPECT_EQ((*faults)[0].service, "ts-contacts-service");
  EXPECT_EQ((*faults)[0].type, "cpu_contention");
  EXPECT_EQ((*faults)[0].inject_ns, 1674981784000000000u);
  EXPECT_EQ((*faults)[0].inject_time, "2023-01-29 08:43:04");
  EXPECT_EQ((*faults)[1].service, "ts-basic-service");
  EXPECT_EQ((*faults)[1].pod, "ts-basic-service-5dc8d4f9fd-46997");
}

TEST(NezhaFaults, ErrorsNameTheEntry) {
  auto missing = ParseNezhaFaults(
      R"({"08": [{"inject_time": "2023-01-29 08:43:04", "inject_type": "x"}]})",
      "f.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "f.json: hour \"08\", entry 1: \"inject_pod\" is missing or not a "
            "non-empty string");
  auto bad_time = ParseNezhaFaults(
      R"({"08": [{"inject_time": "yesterday", "inject_pod": "a-b-c",
                  "inject_type": "x"}]})",
      "f.json");
  EXPECT_TRUE(absl::StrContains(bad_time.status().message(),
                                "inject_time \"yesterday\""));
  EXPECT_FALSE(ParseNezhaFaults("[]", "f.json").ok());
  EXPECT_FALSE(ParseNezhaFaults("{\"08\": 3}", "f.json").ok());
  EXPECT_FALSE(ParseNezhaFaults("{", "f.json").ok());
  EXPECT_EQ(LoadNezhaFaults("/nonexistent/fault_list.json").status().code(),
            absl::StatusCode::kNotFound);
}

// --- randomized mutations
// -------------------------------------------------------

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : rng_(seed) {}
  int Int(int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }
  std::string Mutate(std::string text) {
    const int edits = Int(1, 6);
    static const std::string kSpecial = ",\"\n\r\\{}:#\t0f-";
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at =
          static_cast<size_t>(Int(0, static_cast<int>(text.size()) - 1));
      switch (Int(0, 6)) {
        case 0:  // flip a byte to anything
          text[at] = static_cast<char>(Int(0, 255));
          break;
        case 1:  // a special character
          text[at] = kSpecial[Int(0, static_cast<int>(kSpecial.size()) - 1)];
          break;
        case 2:  // insert a special character
          text.insert(at, 1,
                      kSpecial[Int(0, static_cast<int>(kSpecial.size()) - 1)]);
          break;
        case 3:  // delete a run
          text.erase(at, static_cast<size_t>(Int(1, 12)));
          break;
        case 4:  // truncate
          text.resize(at);
          break;
        case 5:  // duplicate a run
          text.insert(at, text.substr(at, static_cast<size_t>(Int(1, 30))));
          break;
        case 6:  // a digit run (times, ids)
          text.insert(at, std::string(static_cast<size_t>(Int(1, 25)), '9'));
          break;
      }
    }
    return text;
  }

 private:
  std::mt19937 rng_;
};

TEST(NezhaFuzz, MutatedRowsNeverCrashAndAreConvertedOrCounted) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {kTraceHeader, std::string(kRootSpan) + kChildSpan},
      {kLogHeader,
       std::string(kInfoLog) + kErrorLog + kInfoExceptionLog + kStackFrameLog},
      {kMetricHeader, kMetricRow},
      {kFrontHeader, kFrontRow},
  };
  constexpr int kRounds = 3000;
  uint64_t converted = 0, skipped = 0;
  for (int round = 0; round < kRounds; ++round) {
    const uint32_t seed = 1000 + static_cast<uint32_t>(round);
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    Mutator m(seed);
    const auto& [header, rows] =
        files[static_cast<size_t>(round) % files.size()];
    // Mostly the rows are mutated; sometimes the header too.
    const std::string text =
        round % 10 == 0 ? m.Mutate(header + rows) : header + m.Mutate(rows);
    NezhaImportOptions options;
    options.max_skipped_rows = 2;
    ReadResult r = ReadText(text, options);
    if (!r.status.ok()) {
      EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument)
          << r.status;
      EXPECT_TRUE(absl::StartsWith(r.status.message(), "mem.csv:")) << r.status;
    }
    // Whatever came out must be storable.
    for (const Event& e : r.events) {
      absl::Status valid = ValidateEvent(e);
      EXPECT_TRUE(valid.ok()) << valid;
    }
    // Every row read is accounted for (one event per span or log row; a
    // mutated header may have changed what the file is).
    const bool metric = header == kMetricHeader || header == kFrontHeader;
    if (!metric && round % 10 != 0 && r.status.ok()) {
      EXPECT_EQ(r.stats.rows,
                r.stats.events + r.stats.skipped + r.stats.out_of_range);
    }
    converted += r.stats.events;
    skipped += r.stats.skipped;
  }
  // The mutations exercise both outcomes.
  EXPECT_GT(converted, 0u);
  EXPECT_GT(skipped, 0u);
}

TEST(NezhaFuzz, MutatedJsonNeverCrashes) {
  const std::string envelope =
      R"({"log":"16:48:42.424 INFO  t.s.X#1 \u00e9\ud83d\ude00 [a]\n",)"
      R"("stream":"stdout","n":[1.5e3,-0,true,false,null,{"k":"v"}]})";
  int parsed = 0;
  for (int round = 0; round < 5000; ++round) {
    const uint32_t seed = 50000 + static_cast<uint32_t>(round);
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    Mutator m(seed);
    auto v = JsonValue::Parse(m.Mutate(envelope));
    if (v.ok()) {
      ++parsed;
    } else {
      EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace traversion::import
