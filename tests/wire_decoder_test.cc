// The direct wire decoder (src/event/wire_decoder.h) against the path it
// replaces, protobuf's generated parser followed by EventFromProto: round
// trips of every layer, decoding into a reused Event, protobuf's wire rules
// on hand-made inputs, a mutation fuzz, and the error messages.
#include "event/wire_decoder.h"

#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "event/proto_convert.h"
#include "event/wire_encoder.h"
#include "gtest/gtest.h"
#include "support/test_support.h"
#include "traversion/event.h"
#include "traversion/event_codec.h"
#include "traversion/v1/event.pb.h"

namespace traversion {
namespace {

using ::std::string_literals::operator""s;

// --- events ------------------------------------------------------------------
// The fully populated events are those of event_codec_test.cc, where a test
// checks that together they set every field of the schema.

constexpr int kLayerCount = 9;  // in the order of the Payload variant

SpanData FullSpan() {
  SpanData s;
  s.kind = SpanKind::kClient;
  s.duration_ns = 12'345'678;
  s.status = SpanStatus::kError;
  s.status_message = "deadline exceeded";
  s.http = HttpInfo{"POST", "/orders/{id}", "https://shop.example/orders/42",
                    503,    "10.1.2.3",     1234,
                    -1};
  s.db = DbInfo{"postgresql", "orders", "SELECT",
                "SELECT * FROM orders WHERE id = $1", "orders"};
  s.rpc = RpcInfo{"grpc", "shop.Payments", "Charge", 14};
  s.peer_service = "payments";
  return s;
}

MetricData FullMetric() {
  MetricData m;
  m.kind = MetricKind::kHistogram;
  m.value = 3.5;
  m.unit = "ms";
  m.bucket_bounds = {1, 5, 10.5};
  m.bucket_counts = {4, 3, 2, 1};
  m.sum = 123.25;
  m.count = 10;
  return m;
}

KernelData FullKernel() {
  KernelData k;
  k.kind = KernelEventKind::kSyscallFailure;
  k.pid = 4242;
  k.tid = 4243;
  k.ppid = 1;
  k.comm = "checkout";
  k.cgroup_id = 0x1234'5678'9abcULL;
  k.syscall = "connect";
  k.syscall_nr = 42;
  k.errno_value = 111;
  k.return_value = -111;
  k.exit_code = 137;
  k.signal = 9;
  k.filename = "/usr/bin/checkout";
  k.saddr = "10.0.0.1";
  k.daddr = "10.0.0.2";
  k.sport = 51234;
  k.dport = 5432;
  return k;
}

// Every field set to a non-default value, with the payload of `layer` (0:
// none, 1: span, ... 8: ui).
Event FullEvent(int layer) {
  Event e;
  e.time_ns = 1'700'000'000'123'456'789ULL + static_cast<uint64_t>(layer);
  e.id =
      EventId{e.time_ns, 0xabcdef00'00000000ULL | static_cast<uint64_t>(layer)};
  e.source = "sdk";
  e.service = ServiceRef{"checkout", "checkout-7f9c", "node-3.eu-west",
                         "1.4.2",    "shop",          "production"};
  e.trace.trace_id = testing::MakeTraceId(0x1111);
  e.trace.span_id = testing::MakeSpanId(0x2222);
  e.trace.parent_span_id = testing::MakeSpanId(0x3333);
  e.trace.trace_flags = 1;
  e.severity = Severity::kWarn;
  e.name = "POST /orders/{id}";
  e.semantic = Semantic{"checkout", "payment", {"vip", "retry", "ünïcødé ✓"}};
  e.impact = Impact{true, "checkout-availability", 0.75};
  e.attributes = {
      {"http.request.method", "POST"s},
      {"retry.count", int64_t{-3}},
      {"ratio", 0.125},
      {"cache.hit", true},
      {"blob", std::vector<uint8_t>{0, 0xff, 0x10, 0x80}},
  };
  e.entity_refs = {"db-pool/orders", "order/42"};
  e.sample_rate = 10;
  switch (layer) {
    case 0:
      e.type = EventType::kCustom;
      break;
    case 1:
      e.payload = FullSpan();
      break;
    case 2:
      e.payload = LogData{"user {user} logged in", "auth.session",
                          "src/session.cc", 217};
      break;
    case 3:
      e.payload = ErrorData{"std::runtime_error", "pool exhausted",
                            "#0 Pool::Get()\n#1 Handler::Run()", true, true};
      break;
    case 4:
      e.payload = FullMetric();
      break;
    case 5:
      e.payload = FullKernel();
      break;
    case 6:
      e.payload = KubernetesData{"shop",
                                 "checkout-7f9c-abcde",
                                 "app",
                                 "node-3",
                                 "Pod",
                                 "OOMKilled",
                                 "container app exceeded its memory limit"};
      break;
    case 7: {
      EntityStateData s;
      s.entity = "db-pool/orders";
      s.entity_type = "connection_pool";
      s.fields = {{"max", "10"}, {"in_use", "10"}, {"waiters", "37"}};
      s.deleted = true;
      e.payload = s;
      break;
    }
    case 8:
      e.payload = UiInteractionData{"click", "button#pay", "/checkout",
                                    "sess-81f2", "user-1f3a"};
      break;
  }
  return e;
}

// Events that leave most things empty, including an empty payload of every
// layer, so that decoding them over a full event must reset everything.
std::vector<Event> SparseEvents() {
  std::vector<Event> events;
  events.push_back(Event{});
  events.push_back(testing::MakeSpan("api", 10, 1, 2, 3));
  events.push_back(testing::MakeLog("api", 11, Severity::kError, "boom"));
  events.push_back(testing::MakeMetric("api", 12, "cpu", 0.5));
  events.push_back(testing::MakeEntityState("api", 13, "cfg/flags", {}));
  Event only_attributes;
  only_attributes.attributes = {{"k", ""s},
                                {"empty.bytes", std::vector<uint8_t>{}}};
  events.push_back(only_attributes);
  Event span_with_empty_http;
  SpanData s;
  s.http = HttpInfo{};
  span_with_empty_http.payload = s;
  events.push_back(span_with_empty_http);
  Event trace_flags_only;
  trace_flags_only.trace.trace_flags = 1;
  events.push_back(trace_flags_only);
  for (Payload p :
       {Payload{SpanData{}}, Payload{LogData{}}, Payload{ErrorData{}},
        Payload{MetricData{}}, Payload{KernelData{}}, Payload{KubernetesData{}},
        Payload{EntityStateData{}}, Payload{UiInteractionData{}}}) {
    Event e;
    e.payload = std::move(p);
    events.push_back(std::move(e));
  }
  return events;
}

// Longer strings and more elements than any other event, to leave capacity
// (and stale contents) behind in a reused Event.
Event BigEvent(int layer) {
  Event e = FullEvent(layer);
  const std::string long_text(300, 'x');
  e.source = long_text;
  e.name = long_text;
  e.service.host = long_text;
  e.semantic.tags.assign(12, long_text);
  for (int i = 0; i < 20; ++i) {
    e.attributes.push_back({absl::StrCat("extra.", i, long_text),
                            i % 2 ? AttributeValue{long_text}
                                  : AttributeValue{std::vector<uint8_t>(40)}});
  }
  e.entity_refs.assign(9, long_text);
  if (auto* m = std::get_if<MetricData>(&e.payload)) {
    m->bucket_bounds.assign(30, 1.5);
    m->bucket_counts.assign(31, 7);
  }
  if (auto* s = std::get_if<EntityStateData>(&e.payload)) {
    s->fields.assign(15, EntityField{long_text, long_text});
  }
  return e;
}

std::vector<Event> AllEvents() {
  std::vector<Event> events;
  for (int layer = 0; layer < kLayerCount; ++layer) {
    events.push_back(FullEvent(layer));
  }
  for (Event& e : SparseEvents()) events.push_back(std::move(e));
  for (int layer = 0; layer < kLayerCount; ++layer) {
    events.push_back(BigEvent(layer));
  }
  return events;
}

std::string Encode(const Event& e, bool omit_id_and_time = false) {
  std::string out;
  internal::WireOptions options;
  options.omit_id_and_time = omit_id_and_time;
  internal::AppendEventWire(e, options, &out);
  return out;
}

// --- the reference path ------------------------------------------------------

struct Reference {
  bool parsed = false;  // ParseFromArray accepted the bytes
  absl::Status status;  // and then EventFromProto's verdict
  Event event;
};

Reference DecodeWithProtobuf(const std::string& bytes) {
  // protobuf logs every string field with invalid UTF-8 it meets.
  google::protobuf::LogSilencer silence_protobuf;
  Reference ref;
  v1::Event message;
  ref.parsed =
      message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  ref.status = ref.parsed ? internal::EventFromProto(message, &ref.event)
                          : absl::InvalidArgumentError("ParseFromArray failed");
  return ref;
}

std::string Describe(const Event& e) {
  absl::StatusOr<std::string> json = EventToJson(e);
  return json.ok() ? *json : json.status().ToString();
}

// Decodes `bytes` into `*reused` and into a fresh Event and checks both
// against protobuf's verdict and event; when EventFromProto is the one to
// reject, the messages must be the same too.
void ExpectSameResult(const std::string& bytes, const Reference& ref,
                      Event* reused) {
  const absl::Status got = internal::DecodeEventWire(bytes, reused);
  ASSERT_EQ(got.ok(), ref.status.ok())
      << "decoder: " << got << "\nprotobuf: " << ref.status;
  if (!got.ok()) {
    EXPECT_EQ(got.code(), absl::StatusCode::kInvalidArgument) << got;
    if (ref.parsed) {
      EXPECT_EQ(got.message(), ref.status.message());
    } else {
      EXPECT_NE(got.message().find("malformed wire data: "), std::string::npos)
          << got;
    }
    return;
  }
  ASSERT_TRUE(*reused == ref.event) << "decoder:  " << Describe(*reused)
                                    << "\nprotobuf: " << Describe(ref.event);
  Event fresh;
  ASSERT_TRUE(internal::DecodeEventWire(bytes, &fresh).ok());
  ASSERT_TRUE(fresh == ref.event) << "decoder:  " << Describe(fresh)
                                  << "\nprotobuf: " << Describe(ref.event);
}

// ExpectSameResult with protobuf's result, which it returns.
Reference ExpectSameAsProtobuf(const std::string& bytes, Event* reused) {
  SCOPED_TRACE(absl::StrCat("input: \"", absl::CHexEscape(bytes), "\""));
  Reference ref = DecodeWithProtobuf(bytes);
  ExpectSameResult(bytes, ref, reused);
  return ref;
}

void ExpectSameAsProtobuf(const std::string& bytes) {
  Event fresh;
  ExpectSameAsProtobuf(bytes, &fresh);
}

// --- hand-made wire data -----------------------------------------------------

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Key(uint32_t field, uint32_t wire_type) {
  return Varint(field << 3 | wire_type);
}
std::string VarintField(uint32_t field, uint64_t v) {
  return Key(field, 0) + Varint(v);
}
std::string Fixed64Field(uint32_t field, uint64_t v) {
  std::string out = Key(field, 1);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  return out;
}
std::string LenField(uint32_t field, const std::string& contents) {
  return Key(field, 2) + Varint(contents.size()) + contents;
}
std::string Group(uint32_t field, const std::string& contents) {
  return Key(field, 3) + contents + Key(field, 4);
}
std::string NestedGroups(uint32_t field, int depth) {
  std::string out;
  for (int i = 0; i < depth; ++i) out += Key(field, 3);
  for (int i = 0; i < depth; ++i) out += Key(field, 4);
  return out;
}

// --- (a) round trips ---------------------------------------------------------

TEST(WireDecoderTest, DecodesWhatTheEncoderWritesForEveryLayer) {
  for (const Event& e : AllEvents()) {
    SCOPED_TRACE(Describe(e));
    const std::string bytes = Encode(e);
    Event decoded;
    ASSERT_TRUE(internal::DecodeEventWire(bytes, &decoded).ok());
    EXPECT_TRUE(decoded == e) << Describe(decoded);
    const Reference ref = DecodeWithProtobuf(bytes);
    ASSERT_TRUE(ref.status.ok()) << ref.status;
    EXPECT_TRUE(decoded == ref.event);
  }
}

// skip_details: the same event with its details left empty, decoded into
// an Event that held them before.
TEST(WireDecoderTest, SkipDetailsLeavesOnlyTheDetailsOut) {
  internal::WireDecodeOptions options;
  options.skip_details = true;
  for (const Event& e : AllEvents()) {
    SCOPED_TRACE(Describe(e));
    Event expected = e;
    expected.source.clear();
    expected.semantic = Semantic{};
    expected.impact = Impact{};
    expected.attributes.clear();
    expected.entity_refs.clear();
    expected.service.host.clear();
    expected.service.version.clear();
    expected.service.namespace_.clear();
    expected.service.environment.clear();
    Event decoded = FullEvent(1);
    ASSERT_TRUE(internal::DecodeEventWire(Encode(e), &decoded, options).ok());
    EXPECT_TRUE(decoded == expected) << Describe(decoded);
  }
  // Framing is still checked where a detail is cut short.
  std::string bytes = Encode(FullEvent(1));
  bytes.resize(bytes.size() / 3);
  Event decoded;
  EXPECT_FALSE(internal::DecodeEventWire(bytes, &decoded, options).ok());
}

TEST(WireDecoderTest, RecordsWithoutIdAndTimeDecodeToAnEmptyIdAndTimeZero) {
  for (const Event& e : AllEvents()) {
    Event decoded;
    decoded.id = EventId{1, 2};
    decoded.time_ns = 3;
    ASSERT_TRUE(internal::DecodeEventWire(Encode(e, true), &decoded).ok());
    EXPECT_TRUE(decoded.id.empty());
    EXPECT_EQ(decoded.time_ns, 0u);
    decoded.id = e.id;
    decoded.time_ns = e.time_ns;
    EXPECT_TRUE(decoded == e) << Describe(decoded);
  }
}

TEST(WireDecoderTest, TheEmptyMessageIsTheDefaultEvent) {
  Event decoded = FullEvent(1);
  ASSERT_TRUE(internal::DecodeEventWire("", &decoded).ok());
  EXPECT_TRUE(decoded == Event{});
  EXPECT_TRUE(std::holds_alternative<std::monostate>(decoded.payload));
}

// --- (b) reuse ---------------------------------------------------------------

TEST(WireDecoderTest, AReusedEventEndsUpLikeAFreshOne) {
  const std::vector<Event> events = AllEvents();
  for (const Event& first : events) {
    for (const Event& second : events) {
      Event reused;
      ASSERT_TRUE(internal::DecodeEventWire(Encode(first), &reused).ok());
      ASSERT_TRUE(internal::DecodeEventWire(Encode(second), &reused).ok());
      Event fresh;
      ASSERT_TRUE(internal::DecodeEventWire(Encode(second), &fresh).ok());
      ASSERT_TRUE(reused == fresh)
          << "first:  " << Describe(first) << "\nsecond: " << Describe(second)
          << "\nreused: " << Describe(reused);
      ASSERT_TRUE(reused == second);
    }
  }
}

TEST(WireDecoderTest, AReusedEventKeepsItsStringCapacity) {
  const std::string bytes = Encode(FullEvent(1));
  Event reused = BigEvent(1);
  const char* const name_buffer = reused.name.data();
  const char* const status_buffer =
      std::get<SpanData>(reused.payload).status_message.data();
  const std::string* const attribute_buffer = &reused.attributes[0].key;
  ASSERT_TRUE(internal::DecodeEventWire(bytes, &reused).ok());
  EXPECT_TRUE(reused == FullEvent(1));
  EXPECT_EQ(reused.name.data(), name_buffer);
  EXPECT_EQ(std::get<SpanData>(reused.payload).status_message.data(),
            status_buffer);
  EXPECT_EQ(&reused.attributes[0].key, attribute_buffer);
}

// --- protobuf's wire rules ---------------------------------------------------

TEST(WireDecoderTest, FollowsProtobufOnRepeatedFieldsAndMerges) {
  const std::string span = Encode(FullEvent(1));
  const std::string log = Encode(FullEvent(2));
  const std::string metric = Encode(FullEvent(4));
  const std::string entity = Encode(FullEvent(7));
  const std::vector<std::string> inputs = {
      // Concatenated messages merge: scalars and strings of the second win,
      // sub-messages merge, repeated fields append, payloads of the same
      // layer merge and of another layer replace.
      span + span,
      span + log,
      log + span,
      span + log + span,
      metric + metric,
      entity + entity,
      span + Encode(Event{}),
      // The payload switches away and back: the second span starts afresh.
      LenField(20, VarintField(1, 2) + LenField(5, LenField(1, "GET"))) +
          LenField(21, LenField(1, "body")) +
          LenField(20, LenField(4, "status")),
      // One span in two parts: the http part merges.
      LenField(20, LenField(5, LenField(1, "GET"))) +
          LenField(20, LenField(5, LenField(2, "/route"))),
      // An attribute value that arrives in parts: the last member wins, an
      // empty part changes nothing.
      LenField(11, LenField(1, "k") + LenField(2, VarintField(2, 5)) +
                       LenField(2, "")),
      LenField(11, LenField(2, LenField(1, "text")) +
                       LenField(2, LenField(5, "\xff\x00"s))),
      LenField(11, LenField(2, LenField(5, "b") + Fixed64Field(3, 7) +
                                   VarintField(4, 1ULL << 40))),
      LenField(11, ""),  // no key, no value: "" = ""
      // Packed and unpacked elements of one repeated field append.
      LenField(23, VarintField(5, 1) + LenField(5, Varint(2) + Varint(300)) +
                       Fixed64Field(4, 0x3ff0000000000000ULL) +
                       LenField(4, std::string(8, '\0'))),
      LenField(23, LenField(4, "") + LenField(5, "")),  // empty packed runs
      // Last value wins, even when an earlier one would be rejected.
      VarintField(3, 300) + VarintField(3, 1),
      VarintField(7, 99) + VarintField(7, 9),
      LenField(6, LenField(1, "short")) + LenField(6, LenField(1, "")),
      LenField(20, VarintField(1, 999)) + LenField(20, VarintField(1, 3)),
      LenField(23, VarintField(5, 1)) + LenField(21, ""),
      LenField(1, "not an id") + LenField(1, std::string(32, 'a')),
  };
  for (const std::string& input : inputs) ExpectSameAsProtobuf(input);
}

TEST(WireDecoderTest, FollowsProtobufOnScalarEncodings) {
  const std::vector<std::string> inputs = {
      // Varints of 10 bytes; 32-bit fields keep the low 32 bits.
      LenField(21, VarintField(4, static_cast<uint64_t>(-5))),
      LenField(24, VarintField(2, 0x1'0000'0007ULL)),
      LenField(6, VarintField(4, 0x1'0000'0001ULL)),  // flags 1
      LenField(6, VarintField(4, 0x100)),             // flags too big
      VarintField(3, 0x1'0000'0001ULL),               // type 1
      VarintField(7, static_cast<uint64_t>(-1)),      // severity -1
      LenField(20, VarintField(1, 0x8000'0000ULL)),   // kind, negative
      // A bool is any non-zero value, wider than 32 bits too.
      LenField(10, VarintField(1, 1ULL << 32)),
      LenField(22, VarintField(4, 2) + VarintField(5, 0)),
      // Non-minimal varints.
      Key(3, 0) + "\x81\x80\x80\x80\x80\x80\x80\x80\x80\x00"s,
      Key(3, 0) + "\x81\x80\x80\x80\x80\x80\x80\x80\x80\x7f"s,
      // Non-minimal lengths, up to protobuf's 5 bytes.
      Key(8, 2) + "\x81\x80\x80\x80\x00"s + "n",
      Key(8, 2) + "\x81\x80\x80\x80\x80\x00"s + "n",
      // Non-minimal tags, and 5-byte tags whose bits past the 32nd protobuf
      // drops (this one reads as field 3, varint).
      "\x98\x80\x80\x80\x00\x01"s,
      "\x98\x80\x80\x80\x10\x01"s,
      "\x98\x80\x80\x80\x80\x00\x01"s,
      // Doubles keep their bits.
      Fixed64Field(13, 0x7ff8'0000'0000'0001ULL),
      Fixed64Field(13, 0x8000'0000'0000'0000ULL),
  };
  for (const std::string& input : inputs) ExpectSameAsProtobuf(input);
}

TEST(WireDecoderTest, SkipsUnknownFieldsLikeProtobuf) {
  const std::string unknown = VarintField(99, 7) + Fixed64Field(98, 1) +
                              LenField(97, "\xff\xfe") + Key(96, 5) + "abcd" +
                              Group(95, VarintField(1, 1) + LenField(2, "x") +
                                            Group(3, Fixed64Field(4, 0)));
  const std::string span = Encode(FullEvent(1));
  const std::vector<std::string> inputs = {
      unknown,
      unknown + span,
      span + unknown,
      // Inside sub-messages.
      LenField(5, unknown + LenField(1, "svc")),
      LenField(6, unknown) + LenField(9, unknown) + LenField(10, unknown),
      LenField(11, unknown + LenField(2, unknown + VarintField(2, 1))),
      LenField(20, unknown + LenField(5, unknown) + LenField(6, unknown) +
                       LenField(7, unknown)),
      LenField(23, unknown),
      LenField(26, LenField(3, unknown)),
      // Known fields with an unexpected wire type are unknown fields.
      Key(1, 0) + Varint(5),
      Fixed64Field(3, 1),
      VarintField(4, 1),
      VarintField(5, 1),
      Key(8, 5) + "abcd",
      Group(20, VarintField(1, 1)),
      LenField(20, LenField(1, "x") + VarintField(4, 1)),
      LenField(11, VarintField(2, 1)),
      LenField(23, VarintField(4, 1) + Fixed64Field(5, 1)),
      LenField(6, VarintField(1, 1) + LenField(4, "flags")),
      // Groups at protobuf's recursion limit and past it: the top level has
      // 100 levels, a payload 99, an attribute's value 98.
      NestedGroups(50, 100),
      NestedGroups(50, 101),
      LenField(20, NestedGroups(50, 99)),
      LenField(20, NestedGroups(50, 100)),
      LenField(11, LenField(2, NestedGroups(50, 98))),
      LenField(11, LenField(2, NestedGroups(50, 99))),
      // Groups that do not close, or close the wrong field.
      Key(50, 3),
      Key(50, 3) + Key(51, 4),
      Key(50, 3) + VarintField(1, 1),
      LenField(20, Key(50, 3)) + Key(50, 4),
      Key(50, 4),
      Key(50, 3) + Key(0, 4) + Key(50, 4),
      Key(50, 3) + "\x00"s + Key(50, 4),
  };
  for (const std::string& input : inputs) ExpectSameAsProtobuf(input);
}

TEST(WireDecoderTest, RejectsMalformedDataLikeProtobuf) {
  const std::string span = Encode(FullEvent(1));
  std::vector<std::string> inputs = {
      "\x00"s,                                       // tag 0
      "\x02\x00"s,                                   // field 0
      Key(1, 6),                                     // wire type 6
      Key(1, 7),                                     // wire type 7
      "\x18"s,                                       // no value
      "\x18\x80"s,                                   // truncated varint
      Key(3, 0) + std::string(10, '\x80') + "\x01",  // 11-byte varint
      "\x80\x80\x80\x80\x80\x01"s,                   // 6-byte tag
      Key(8, 2) + "\x05" + "abc",                    // past the end
      Key(8, 2) + "\x81\x80\x80\x80\x80\x80\x00"s,   // 7-byte length
      Key(8, 2) + "\xff\xff\xff\xff\x0f"s,           // 4 GB
      Key(13, 1) + "1234567",                        // truncated fixed64
      Key(99, 5) + "123",                            // truncated fixed32
      // A sub-message whose last field runs past its end.
      LenField(5, LenField(1, "abc")).substr(0, 4) + "\x0a\x03" + "abc",
      Key(5, 2) + "\x03" + LenField(1, "abc"),
      LenField(20, Key(4, 2) + "\x10" + "x") + std::string(20, 'x'),
      // Packed runs that do not divide into elements.
      LenField(23, LenField(4, "1234567")),
      LenField(23, LenField(4, std::string(9, '\0'))),
      LenField(23, LenField(5, "\x80")),
      // Invalid UTF-8 in string fields, at every level; bytes fields are
      // not checked.
      LenField(8, "\xc3\x28"),
      LenField(1, "\xed\xa0\x80"),
      LenField(12, "ok") + LenField(12, "\xf4\x90\x80\x80"),
      LenField(9, LenField(3, "\xc0\xaf")),
      LenField(11, LenField(1, "\xff")),
      LenField(11, LenField(2, LenField(1, "\xe2\x82"))),
      LenField(20, LenField(5, LenField(3, "\x80"))),
      LenField(26, LenField(3, LenField(2, "\xfe"))),
      LenField(11, LenField(2, LenField(5, "\xff\xfe"))),
      LenField(6, LenField(1, std::string(16, '\xff'))),
  };
  for (size_t cut = 0; cut < span.size(); ++cut) {
    inputs.push_back(span.substr(0, cut));
  }
  for (const std::string& input : inputs) ExpectSameAsProtobuf(input);
}

// --- (c) mutation fuzz -------------------------------------------------------

class Mutator {
 public:
  Mutator(uint64_t seed, std::vector<std::string> seeds)
      : rng_(seed), seeds_(std::move(seeds)) {}

  std::string Next() {
    std::string s = seeds_[rng_() % seeds_.size()];
    const int edits = 1 + static_cast<int>(rng_() % 2);
    for (int i = 0; i < edits; ++i) Edit(&s);
    return s;
  }

 private:
  void Edit(std::string* s) {
    const size_t pos = s->empty() ? 0 : rng_() % s->size();
    // Merges and appended fields keep the message well-formed more often
    // than not, so they get more turns.
    switch (rng_() % 13) {
      case 0:  // flip a bit
        if (!s->empty()) (*s)[pos] ^= static_cast<char>(1 << (rng_() % 8));
        break;
      case 1:  // replace a byte
        if (!s->empty()) (*s)[pos] = static_cast<char>(rng_());
        break;
      case 2: {  // insert random bytes
        const size_t n = 1 + rng_() % 4;
        for (size_t i = 0; i < n; ++i) {
          s->insert(s->begin() + static_cast<std::ptrdiff_t>(pos),
                    static_cast<char>(rng_()));
        }
        break;
      }
      case 3:  // delete a run
        s->erase(pos, 1 + rng_() % 8);
        break;
      case 4:  // truncate
        s->resize(pos);
        break;
      case 5:  // duplicate a run
        s->insert(pos, s->substr(pos, 1 + rng_() % 16));
        break;
      case 6:
      case 10:  // merge with another message
        *s += seeds_[rng_() % seeds_.size()];
        break;
      case 7:
      case 11:  // append a field
        *s += RandomField();
        break;
      case 8: {  // splice with another message
        const std::string& other = seeds_[rng_() % seeds_.size()];
        *s = s->substr(0, pos) +
             other.substr(other.empty() ? 0 : rng_() % other.size());
        break;
      }
      case 9:  // an extreme varint byte: continuation, or a high bit
        if (!s->empty()) (*s)[pos] = rng_() % 2 ? '\x80' : '\xff';
        break;
      case 12:  // append a field near the limits of EventFromProto
        *s += BoundaryField();
        break;
    }
  }

  // Well-formed, and on either side of what EventFromProto accepts.
  std::string BoundaryField() {
    auto near = [&](uint64_t limit) {
      return limit + rng_() % 3 - 1;  // limit - 1, limit or limit + 1
    };
    switch (rng_() % 8) {
      case 0:
        return VarintField(3, near(rng_() % 2 ? 9 : 0x100));  // type
      case 1:
        return VarintField(7, rng_() % 2 ? near(24) : near(0));  // severity
      case 2:
        return LenField(
            1, std::string(near(32), "0123456789abcdefgX"[rng_() % 18]));
      case 3: {  // a trace or span id of about the right length
        const uint32_t field = 1 + static_cast<uint32_t>(rng_() % 3);
        return LenField(
            6, LenField(field, std::string(near(field == 1 ? 16 : 8), '\x01')));
      }
      case 4:
        return LenField(6, VarintField(4, near(0x100)));  // trace flags
      case 5: {  // histogram bounds and counts
        std::string metric;
        for (uint64_t i = rng_() % 4; i > 0; --i) metric += Fixed64Field(4, i);
        for (uint64_t i = rng_() % 4; i > 0; --i) metric += VarintField(5, i);
        return LenField(23, metric);
      }
      case 6:  // a kind of span, metric or kernel
        return LenField(
            20 + static_cast<uint32_t>(rng_() % 2 ? 0 : 3 + rng_() % 2),
            VarintField(1, rng_() % 2 ? near(0x100) : near(0)));
      default:
        return LenField(20, VarintField(3, near(0x100)));  // span status
    }
  }

  // A field of the Event, or an unknown one, usually of the right wire type.
  std::string RandomField() {
    static constexpr uint32_t kFields[] = {1,  2,  3,  4,  5,  6,  7,  8,
                                           9,  10, 11, 12, 13, 20, 21, 22,
                                           23, 24, 25, 26, 27, 30, 999};
    const uint32_t field = kFields[rng_() % std::size(kFields)];
    const uint64_t value = rng_() % 3 == 0 ? rng_() : rng_() % 300;
    std::string contents;
    const size_t n = rng_() % 12;
    for (size_t i = 0; i < n; ++i) {
      contents.push_back(rng_() % 4 ? static_cast<char>('a' + rng_() % 26)
                                    : static_cast<char>(rng_()));
    }
    switch (rng_() % 6) {
      case 0:
        return VarintField(field, value);
      case 1:
        return Fixed64Field(field, value);
      case 2:
        return Group(field, VarintField(1 + rng_() % 5, value));
      default:
        return LenField(field, contents);
    }
  }

  std::mt19937_64 rng_;
  std::vector<std::string> seeds_;
};

TEST(WireDecoderFuzzTest, AcceptsExactlyWhatProtobufAcceptsWithTheSameEvent) {
  std::vector<std::string> seeds;
  for (const Event& e : AllEvents()) {
    seeds.push_back(Encode(e));
    seeds.push_back(Encode(e, /*omit_id_and_time=*/true));
  }
  Mutator mutator(20250611, seeds);
  constexpr int kInputs = 20000;
  int accepted = 0;
  int rejected_by_parser = 0;
  int rejected_by_conversion = 0;
  Event reused;  // carried across inputs, through failed decodes too
  for (int i = 0; i < kInputs; ++i) {
    const std::string input = mutator.Next();
    const Reference ref = ExpectSameAsProtobuf(input, &reused);
    if (::testing::Test::HasFatalFailure()) return;
    if (ref.status.ok()) {
      ++accepted;
    } else if (ref.parsed) {
      ++rejected_by_conversion;
    } else {
      ++rejected_by_parser;
    }
  }
  // Each outcome must be well represented for the comparison to mean much.
  EXPECT_GT(accepted, kInputs / 5);
  EXPECT_GT(rejected_by_parser, kInputs / 5);
  EXPECT_GT(rejected_by_conversion, kInputs / 40);
  std::printf("accepted %d, rejected by the parser %d, by EventFromProto %d\n",
              accepted, rejected_by_parser, rejected_by_conversion);
}

TEST(WireDecoderFuzzTest, RandomBytesNeverCrash) {
  std::mt19937_64 rng(7);
  Event reused;
  for (int i = 0; i < 3000; ++i) {
    std::string input(rng() % 48, '\0');
    for (char& c : input) c = static_cast<char>(rng());
    ExpectSameAsProtobuf(input, &reused);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// --- (d) errors --------------------------------------------------------------

void ExpectError(const std::string& bytes, const std::string& fragment) {
  SCOPED_TRACE(absl::StrCat("input: \"", absl::CHexEscape(bytes), "\""));
  Event e;
  const absl::Status status = internal::DecodeEventWire(bytes, &e);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find(fragment), std::string::npos) << status;
  EXPECT_FALSE(DecodeWithProtobuf(bytes).status.ok());
}

TEST(WireDecoderErrorTest, MalformedWireDataNamesWhatAndWhere) {
  ExpectError("\x18\x80"s, "malformed wire data: truncated varint at byte 1");
  ExpectError(Key(3, 0) + std::string(10, '\x80') + "\x01",
              "varint longer than 10 bytes at byte 1");
  ExpectError("\x80\x80\x80\x80\x80\x01"s, "tag longer than 5 bytes at byte 0");
  ExpectError(
      "\x18\x01\x42\x05"
      "abc"s,
      "length 5 runs past the end of its message (3 bytes left) at "
      "byte 3");
  ExpectError(LenField(5,
                       "\x0a\x05"
                       "abc"s) +
                  "de",
              "length 5 runs past the end of its message (3 bytes left) at "
              "byte 3");
  ExpectError(Key(13, 1) + "1234567", "truncated fixed64 value at byte 1");
  ExpectError(Key(99, 5) + "123", "truncated fixed32 value at byte 2");
  ExpectError("\x00"s, "field number 0 at byte 0");
  ExpectError("\x18\x01\x0f"s, "invalid wire type 7 at byte 2");
  ExpectError(Key(50, 4), "end-group tag of field 50 outside a group");
  ExpectError(Key(50, 3) + VarintField(1, 1),
              "group of field 50 has no end-group tag in its message at byte "
              "0");
  ExpectError(Key(50, 3) + Key(51, 4),
              "end-group tag of field 51 in a group of field 50 at byte 2");
  ExpectError(NestedGroups(50, 101),
              "groups nested deeper than protobuf's limit of 100 at byte 200");
  ExpectError(LenField(23, LenField(4, "1234567")),
              "packed traversion.v1.Metric.bucket_bounds of 7 bytes, not a "
              "multiple of 8 at byte 5");
}

TEST(WireDecoderErrorTest, InvalidUtf8NamesTheStringField) {
  ExpectError(LenField(8, "ok\xc3\x28"),
              "invalid UTF-8 in traversion.v1.Event.name at byte 4");
  ExpectError(LenField(20, LenField(5, LenField(3, "\xed\xa0\x80"))),
              "invalid UTF-8 in traversion.v1.HttpInfo.url at byte 7");
  ExpectError(LenField(11, LenField(2, LenField(1, "\xff"))),
              "invalid UTF-8 in traversion.v1.AttributeValue.string_value");
  // bytes fields hold anything.
  Event e;
  ASSERT_TRUE(internal::DecodeEventWire(
                  LenField(11, LenField(2, LenField(5, "\xff\xfe"))), &e)
                  .ok());
  EXPECT_EQ(std::get<std::vector<uint8_t>>(e.attributes.at(0).value),
            (std::vector<uint8_t>{0xff, 0xfe}));
}

TEST(WireDecoderErrorTest, SchemaViolationsGiveEventFromProtosMessages) {
  ExpectError(LenField(1, "not an id"),
              "id: expected 32 hex digits, got \"not an id\" (9 bytes)");
  ExpectError(LenField(1, std::string(50, 'z')),
              "id: expected 32 hex digits, got \"" + std::string(40, 'z') +
                  "...\" (50 bytes)");
  ExpectError(VarintField(3, 300), "type: enum value 300 is out of range");
  ExpectError(LenField(6, LenField(1, "12345")),
              "trace.trace_id: 5 bytes, expected 16");
  ExpectError(LenField(6, LenField(2, "12345")),
              "trace.span_id: 5 bytes, expected 8");
  ExpectError(LenField(6, LenField(3, std::string(16, 'x'))),
              "trace.parent_span_id: 16 bytes, expected 8");
  ExpectError(LenField(6, VarintField(4, 256)),
              "trace.trace_flags: 256 does not fit the 8 bits");
  ExpectError(VarintField(7, 25),
              "severity: 25 is not an OpenTelemetry SeverityNumber (0..24)");
  ExpectError(VarintField(7, static_cast<uint64_t>(-1)), "severity: -1 is not");
  ExpectError(LenField(20, VarintField(1, static_cast<uint64_t>(-1))),
              "span.kind: enum value -1 is out of range");
  ExpectError(LenField(20, VarintField(3, 256)),
              "span.status: enum value 256 is out of range");
  ExpectError(LenField(23, VarintField(5, 1) + VarintField(5, 2)),
              "metric.bucket_counts: 2 counts for 0 bucket_bounds, expected 1");
  ExpectError(LenField(23, VarintField(1, 1000)),
              "metric.kind: enum value 1000 is out of range");
  ExpectError(LenField(24, VarintField(1, 1000)),
              "kernel.kind: enum value 1000 is out of range");
}

}  // namespace
}  // namespace traversion
