// ValidateEvent and the UTF-8 check behind it.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "event/utf8.h"
#include "gtest/gtest.h"
#include "support/test_support.h"
#include "traversion/event.h"
#include "traversion/event_codec.h"

namespace traversion {
namespace {

using ::std::string_literals::operator""s;

void ExpectInvalid(const Event& e, const std::string& message,
                   const ValidationLimits& limits = {}) {
  absl::Status status = ValidateEvent(e, limits);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(status.message(), message);
}

TEST(ValidateEventTest, OrdinaryEventsAreValid) {
  EXPECT_TRUE(ValidateEvent(Event{}).ok());
  EXPECT_TRUE(ValidateEvent(testing::MakeSpan("api", 1, 2, 3, 4)).ok());
  EXPECT_TRUE(
      ValidateEvent(testing::MakeLog("api", 1, Severity::kWarn, "ünï ✓ 😀"))
          .ok());
  EXPECT_TRUE(ValidateEvent(testing::MakeError("api", 1, "E", "m")).ok());
  EXPECT_TRUE(ValidateEvent(testing::MakeMetric("api", 1, "cpu", 0.9)).ok());
  EXPECT_TRUE(ValidateEvent(
                  testing::MakeEntityState("api", 1, "pool/a", {{"max", "10"}}))
                  .ok());
}

TEST(ValidateEventTest, InvalidUtf8NamesTheFieldAndByte) {
  Event e = testing::MakeSpan("api", 1, 2, 3);
  e.attributes = {{"a", int64_t{1}}, {"b", "x"s}, {"c", "v"s}};
  e.attributes[2].key = "abcde\xff";
  ExpectInvalid(e, "attributes[2].key: invalid UTF-8 at byte 5");

  e.attributes[2].key = "c";
  e.attributes[1].value = "ok \xed\xa0\x80";  // a surrogate
  ExpectInvalid(e, "attributes[1].value: invalid UTF-8 at byte 3");

  // Bytes values are not text.
  e.attributes[1].value = std::vector<uint8_t>{0xff, 0xfe};
  EXPECT_TRUE(ValidateEvent(e).ok());

  std::get<SpanData>(e.payload).http = HttpInfo{};
  std::get<SpanData>(e.payload).http->url =
      "/a\xc0\xaf"
      "b";  // overlong '/'
  ExpectInvalid(e, "span.http.url: invalid UTF-8 at byte 2");
  std::get<SpanData>(e.payload).http->url = "/ok";
  std::get<SpanData>(e.payload).db = DbInfo{};
  std::get<SpanData>(e.payload).db->statement = "SELECT '\xe2\x82'";
  ExpectInvalid(e, "span.db.statement: invalid UTF-8 at byte 8");
}

TEST(ValidateEventTest, InvalidUtf8InEveryKindOfNestedField) {
  const std::string bad = "x\x80";
  {
    Event e;
    e.semantic.tags = {"ok", bad};
    ExpectInvalid(e, "semantic.tags[1]: invalid UTF-8 at byte 1");
  }
  {
    Event e;
    e.entity_refs = {bad};
    ExpectInvalid(e, "entity_refs[0]: invalid UTF-8 at byte 1");
  }
  {
    Event e;
    e.service.namespace_ = bad;
    ExpectInvalid(e, "service.namespace: invalid UTF-8 at byte 1");
  }
  {
    Event e = testing::MakeEntityState("api", 1, "pool/a",
                                       {{"max", "10"}, {"in_use", bad}});
    ExpectInvalid(e, "entity_state.fields[1].value: invalid UTF-8 at byte 1");
  }
  {
    Event e;
    KernelData k;
    k.comm = bad;
    e.payload = k;
    ExpectInvalid(e, "kernel.comm: invalid UTF-8 at byte 1");
  }
  {
    Event e;
    KubernetesData k;
    k.reason = bad;
    e.payload = k;
    ExpectInvalid(e, "kubernetes.reason: invalid UTF-8 at byte 1");
  }
  {
    Event e;
    UiInteractionData ui;
    ui.user_id = bad;
    e.payload = ui;
    ExpectInvalid(e, "ui.user_id: invalid UTF-8 at byte 1");
  }
  {
    Event e = testing::MakeError("api", 1, "E", "m");
    std::get<ErrorData>(e.payload).stacktrace = bad;
    ExpectInvalid(e, "error.stacktrace: invalid UTF-8 at byte 1");
  }
  {
    Event e = testing::MakeLog("api", 1, Severity::kInfo, bad);
    ExpectInvalid(e, "log.body: invalid UTF-8 at byte 1");
  }
  {
    Event e = testing::MakeMetric("api", 1, "cpu", 1);
    std::get<MetricData>(e.payload).unit = bad;
    ExpectInvalid(e, "metric.unit: invalid UTF-8 at byte 1");
  }
  {
    Event e;
    SpanData s;
    s.rpc = RpcInfo{};
    s.rpc->method = bad;
    e.payload = s;
    ExpectInvalid(e, "span.rpc.method: invalid UTF-8 at byte 1");
  }
}

TEST(ValidateEventTest, OversizedEventIsRejectedWithItsSize) {
  Event e = testing::MakeLog("api", 1, Severity::kInfo,
                             std::string(size_t{1} << 20, 'x'));
  absl::Status status = ValidateEvent(e);
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  const absl::string_view message = status.message();
  const absl::string_view prefix = "event is ";
  const absl::string_view suffix =
      " bytes, over the limit of 1048576 (ValidationLimits::max_event_bytes)";
  ASSERT_TRUE(absl::StartsWith(message, prefix)) << message;
  ASSERT_TRUE(absl::EndsWith(message, suffix)) << message;
  uint64_t size = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      message.substr(prefix.size(),
                     message.size() - prefix.size() - suffix.size()),
      &size))
      << message;
  // The estimate is close to the real encoding.
  const size_t encoded = EventToBinary(e).size();
  EXPECT_GE(size, encoded);
  EXPECT_LE(size, encoded + 512);
}

TEST(ValidateEventTest, SizeLimitCountsEveryPart) {
  ValidationLimits limits;
  limits.max_event_bytes = 4096;
  Event e = testing::MakeSpan("api", 1, 2, 3);
  EXPECT_TRUE(ValidateEvent(e, limits).ok());
  for (int i = 0; i < 100; ++i) {
    e.attributes.push_back(
        {"attribute.key." + std::to_string(i), std::vector<uint8_t>(20, 1)});
  }
  EXPECT_FALSE(ValidateEvent(e, limits).ok());
  EXPECT_TRUE(ValidateEvent(e).ok());

  Event metric = testing::MakeMetric("api", 1, "latency", 1);
  MetricData& m = std::get<MetricData>(metric.payload);
  m.kind = MetricKind::kHistogram;
  for (int i = 0; i < 400; ++i) m.bucket_bounds.push_back(i);
  m.bucket_counts.assign(401, 1);
  EXPECT_FALSE(ValidateEvent(metric, limits).ok());
  EXPECT_TRUE(ValidateEvent(metric).ok());
}

TEST(ValidateEventTest, EventJustUnderTheLimitPasses) {
  Event e = testing::MakeLog("api", 1, Severity::kInfo,
                             std::string((size_t{1} << 20) - 1024, 'x'));
  EXPECT_TRUE(ValidateEvent(e).ok()) << ValidateEvent(e);
}

TEST(ValidateEventTest, SizeIsCheckedBeforeScanningText) {
  Event e = testing::MakeLog("api", 1, Severity::kInfo,
                             std::string(size_t{2} << 20, '\xff'));
  absl::Status status = ValidateEvent(e);
  EXPECT_TRUE(absl::StartsWith(status.message(), "event is ")) << status;
}

TEST(ValidateEventTest, EntityStateNeedsAnEntityName) {
  Event e = testing::MakeEntityState("api", 1, "", {{"max", "10"}});
  ExpectInvalid(e,
                "entity_state.entity: an entity_state event must name its "
                "entity");
  Event typed_only;
  typed_only.type = EventType::kEntityState;
  ExpectInvalid(typed_only,
                "entity_state: an event of type entity_state needs an "
                "entity_state payload");
}

TEST(ValidateEventTest, SpanIdsNeedATraceId) {
  Event e;
  e.trace.span_id = testing::MakeSpanId(1);
  ExpectInvalid(e, "trace.span_id: set without a trace.trace_id");
  e.trace.span_id = {};
  e.trace.parent_span_id = testing::MakeSpanId(2);
  ExpectInvalid(e, "trace.parent_span_id: set without a trace.trace_id");
  e.trace.trace_id = testing::MakeTraceId(3);
  EXPECT_TRUE(ValidateEvent(e).ok());
  e.trace.parent_span_id = {};
  EXPECT_TRUE(ValidateEvent(e).ok()) << "a trace id alone is fine";
}

TEST(ValidateEventTest, HistogramShape) {
  Event e = testing::MakeMetric("api", 1, "latency", 1);
  MetricData& m = std::get<MetricData>(e.payload);
  m.kind = MetricKind::kHistogram;
  m.bucket_bounds = {1, 2, 3};
  m.bucket_counts = {1, 2, 3};
  ExpectInvalid(e,
                "metric.bucket_counts: 3 counts for 3 bucket_bounds, "
                "expected 4");
  m.bucket_counts.push_back(4);
  EXPECT_TRUE(ValidateEvent(e).ok());
  m.bucket_bounds = {1, 3, 2};
  ExpectInvalid(e,
                "metric.bucket_bounds[2]: bounds must be strictly ascending");
  m.bucket_bounds = {1, std::numeric_limits<double>::quiet_NaN(), 2};
  ExpectInvalid(e,
                "metric.bucket_bounds[1]: bounds must be strictly ascending");
  m.bucket_bounds = {};
  m.bucket_counts = {7};  // one bucket holding everything
  EXPECT_TRUE(ValidateEvent(e).ok());
}

TEST(ValidateEventTest, SeverityAndSampleRateRanges) {
  Event e;
  e.severity = static_cast<Severity>(10);  // INFO2
  EXPECT_TRUE(ValidateEvent(e).ok());
  e.severity = static_cast<Severity>(30);
  ExpectInvalid(e,
                "severity: 30 is not an OpenTelemetry SeverityNumber (0..24)");
  e.severity = Severity::kInfo;
  e.sample_rate = -1;
  EXPECT_FALSE(ValidateEvent(e).ok());
  e.sample_rate = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(ValidateEvent(e).ok());
  e.sample_rate = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(ValidateEvent(e).ok());
  e.sample_rate = 100;
  EXPECT_TRUE(ValidateEvent(e).ok());
}

TEST(ValidateEventTest, ValidEventsDecodeAfterEncoding) {
  // What ValidateEvent accepts, the decoders accept: the store never writes
  // an event it cannot read back.
  Event e = testing::MakeSpan("api", 1, 2, 3, 4);
  e.severity = static_cast<Severity>(24);
  e.trace.trace_flags = 0xff;
  ASSERT_TRUE(ValidateEvent(e).ok());
  EXPECT_TRUE(EventFromBinary(EventToBinary(e)).ok());
  EXPECT_TRUE(EventFromJson(*EventToJson(e)).ok());
}

// --- UTF-8
// ---------------------------------------------------------------------

TEST(Utf8Test, KnownSequences) {
  struct Case {
    std::string text;
    size_t bad;  // npos: valid
  };
  constexpr size_t kOk = absl::string_view::npos;
  const std::vector<Case> cases = {
      {"", kOk},
      {"plain ascii", kOk},
      {"\x7f", kOk},
      {"\xc3\xa9", kOk},          // é
      {"\xe2\x82\xac", kOk},      // €
      {"\xf0\x9f\x98\x80", kOk},  // 😀
      {"\xf4\x8f\xbf\xbf", kOk},  // U+10FFFF
      {"\xed\x9f\xbf", kOk},      // U+D7FF
      {"\xee\x80\x80", kOk},      // U+E000
      {"\xef\xbf\xbf", kOk},      // U+FFFF
      {"\xc2\x80", kOk},          // U+0080
      {"\xe0\xa0\x80", kOk},      // U+0800
      {"\xf0\x90\x80\x80", kOk},  // U+10000
      {"a\x00z"s, kOk},           // NUL is a valid code point
      {"\x80", 0},                // stray continuation
      {"ab\xbf", 2},
      {"\xc0\xaf", 0},          // overlong '/'
      {"\xc1\xbf", 0},          // overlong
      {"\xe0\x80\xaf", 0},      // overlong
      {"\xe0\x9f\xbf", 0},      // overlong U+07FF
      {"\xf0\x80\x80\xaf", 0},  // overlong
      {"\xf0\x8f\xbf\xbf", 0},  // overlong U+FFFF
      {"\xed\xa0\x80", 0},      // U+D800
      {"\xed\xbf\xbf", 0},      // U+DFFF
      {"\xf4\x90\x80\x80", 0},  // U+110000
      {"\xf5\x80\x80\x80", 0},
      {"\xf8\x88\x80\x80\x80", 0},  // 5-byte form
      {"\xfe", 0},
      {"\xff", 0},
      {"ab\xe2\x82", 2},   // truncated at end
      {"ab\xe2\x82z", 2},  // truncated before ASCII
      {"\xc3", 0},
      {"\xf0\x9f\x98", 0},
      {"\xc3\xa9\xc3", 2},
      {"0123456789abcdef\xff", 16},  // after a fast-path run
      {"0123456789abcde\xc3\xa9"
       "0123456789\xff",
       27},
      {"01234567\xc3\xa9", kOk},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(internal::FindInvalidUtf8(c.text), c.bad)
        << ::testing::PrintToString(c.text);
    EXPECT_EQ(IsValidUtf8(c.text), c.bad == kOk)
        << ::testing::PrintToString(c.text);
  }
}

// A reference decoder written differently from the one under test: decode
// the code point, then check the rules on it.
size_t ReferenceFindInvalid(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<uint8_t>(s[i]);
    int length;
    uint32_t cp;
    if (lead < 0x80) {
      length = 1;
      cp = lead;
    } else if ((lead >> 5) == 0x6) {
      length = 2;
      cp = lead & 0x1f;
    } else if ((lead >> 4) == 0xe) {
      length = 3;
      cp = lead & 0x0f;
    } else if ((lead >> 3) == 0x1e) {
      length = 4;
      cp = lead & 0x07;
    } else {
      return i;
    }
    if (i + static_cast<size_t>(length) > s.size()) return i;
    for (int k = 1; k < length; ++k) {
      const auto b = static_cast<uint8_t>(s[i + static_cast<size_t>(k)]);
      if ((b >> 6) != 0x2) return i;
      cp = (cp << 6) | (b & 0x3f);
    }
    static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinimum[length] || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return i;
    }
    i += static_cast<size_t>(length);
  }
  return absl::string_view::npos;
}

TEST(Utf8Test, AgreesWithAReferenceDecoderOnAllShortSequences) {
  // Every 1- and 2-byte string; every 3-byte string whose last byte is one
  // of the interesting values; every 4-byte string led by F0..F7 likewise.
  const std::vector<uint8_t> edges = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
                                      0x9f, 0xa0, 0xbf, 0xc0, 0xff};
  std::string s;
  auto check = [&s] {
    ASSERT_EQ(internal::FindInvalidUtf8(s), ReferenceFindInvalid(s))
        << ::testing::PrintToString(s);
  };
  for (int a = 0; a < 256; ++a) {
    s.assign(1, static_cast<char>(a));
    check();
    for (int b = 0; b < 256; ++b) {
      s.assign({static_cast<char>(a), static_cast<char>(b)});
      check();
      for (uint8_t c : edges) {
        s.assign(
            {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        check();
        // The same preceded by an ASCII run, through the fast path.
        s.insert(0, "0123456789");
        check();
      }
    }
  }
  for (int a = 0xf0; a <= 0xf7; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (uint8_t c : edges) {
        for (uint8_t d : edges) {
          s.assign({static_cast<char>(a), static_cast<char>(b),
                    static_cast<char>(c), static_cast<char>(d)});
          check();
        }
      }
    }
  }
}

TEST(Utf8Test, AllCodePointsEncodeToValidUtf8) {
  for (uint32_t cp = 0; cp <= 0x10ffff; ++cp) {
    std::string s;
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      s.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      s.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
    const bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
    ASSERT_EQ(IsValidUtf8(s), !surrogate) << "U+" << std::hex << cp;
  }
}

}  // namespace
}  // namespace traversion
