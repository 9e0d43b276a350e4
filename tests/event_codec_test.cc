// Event <-> traversion.v1.Event (binary and JSON): round trips of every
// layer, the mapping details, reuse of messages, errors, and a bounded fuzz.
#include "traversion/event_codec.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "event/proto_convert.h"
#include "event/wire_encoder.h"
#include "gtest/gtest.h"
#include "support/test_support.h"
#include "traversion/event.h"
#include "traversion/v1/event.pb.h"

namespace traversion {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;
using ::std::string_literals::operator""s;

// --- fully populated events --------------------------------------------------

// The payload layers, in the order of the Payload variant.
constexpr int kLayerCount = 9;

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

LogData FullLog() {
  return LogData{"user {user} logged in", "auth.session", "src/session.cc",
                 217};
}

ErrorData FullError() {
  return ErrorData{"std::runtime_error", "pool exhausted",
                   "#0 Pool::Get()\n#1 Handler::Run()", true, true};
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

KubernetesData FullKubernetes() {
  return KubernetesData{"shop",
                        "checkout-7f9c-abcde",
                        "app",
                        "node-3",
                        "Pod",
                        "OOMKilled",
                        "container app exceeded its memory limit"};
}

EntityStateData FullEntityState() {
  EntityStateData s;
  s.entity = "db-pool/orders";
  s.entity_type = "connection_pool";
  s.fields = {{"max", "10"}, {"in_use", "10"}, {"waiters", "37"}};
  s.deleted = true;
  return s;
}

UiInteractionData FullUi() {
  return UiInteractionData{"click", "button#pay", "/checkout", "sess-81f2",
                           "user-1f3a"};
}

// An event with every field set to a non-default value and the payload of
// `layer` (0: none, 1: span, ... 8: ui, as in the Payload variant).
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
      e.payload = FullLog();
      break;
    case 3:
      e.payload = FullError();
      break;
    case 4:
      e.payload = FullMetric();
      break;
    case 5:
      e.payload = FullKernel();
      break;
    case 6:
      e.payload = FullKubernetes();
      break;
    case 7:
      e.payload = FullEntityState();
      break;
    case 8:
      e.payload = FullUi();
      break;
  }
  EXPECT_EQ(static_cast<int>(e.payload.index()), layer);
  return e;
}

std::vector<Event> AllFullEvents() {
  std::vector<Event> events;
  for (int layer = 0; layer < kLayerCount; ++layer) {
    events.push_back(FullEvent(layer));
  }
  return events;
}

// Events that leave most things empty, to exercise absence.
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
  return events;
}

// --- round trips
// ---------------------------------------------------------------

TEST(EventCodecTest, BinaryRoundTripOfEveryLayer) {
  for (const Event& e : AllFullEvents()) {
    SCOPED_TRACE(EventTypeName(e.effective_type()));
    ASSERT_TRUE(ValidateEvent(e).ok()) << ValidateEvent(e);
    const std::string bytes = EventToBinary(e);
    absl::StatusOr<Event> back = EventFromBinary(bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == e);
    EXPECT_EQ(EventToBinary(*back), bytes);
  }
}

TEST(EventCodecTest, JsonRoundTripOfEveryLayer) {
  for (const Event& e : AllFullEvents()) {
    SCOPED_TRACE(EventTypeName(e.effective_type()));
    absl::StatusOr<std::string> json = EventToJson(e);
    ASSERT_TRUE(json.ok()) << json.status();
    EXPECT_EQ(json->find('\n'), std::string::npos) << *json;
    absl::StatusOr<Event> back = EventFromJson(*json);
    ASSERT_TRUE(back.ok()) << back.status() << "\n" << *json;
    EXPECT_TRUE(*back == e) << *json;
    absl::StatusOr<std::string> again = EventToJson(*back);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *json);
  }
}

TEST(EventCodecTest, SparseEventsRoundTrip) {
  for (const Event& e : SparseEvents()) {
    absl::StatusOr<Event> from_binary = EventFromBinary(EventToBinary(e));
    ASSERT_TRUE(from_binary.ok()) << from_binary.status();
    EXPECT_TRUE(*from_binary == e);
    absl::StatusOr<std::string> json = EventToJson(e);
    ASSERT_TRUE(json.ok()) << json.status();
    absl::StatusOr<Event> from_json = EventFromJson(*json);
    ASSERT_TRUE(from_json.ok()) << from_json.status() << "\n" << *json;
    EXPECT_TRUE(*from_json == e) << *json;
  }
}

TEST(EventCodecTest, OptionalSubRecordsKeepTheirPresence) {
  Event e;
  SpanData s;
  s.http = HttpInfo{};  // present but empty
  e.payload = s;
  for (int codec = 0; codec < 2; ++codec) {
    absl::StatusOr<Event> back = codec == 0 ? EventFromBinary(EventToBinary(e))
                                            : EventFromJson(*EventToJson(e));
    ASSERT_TRUE(back.ok());
    ASSERT_NE(back->span(), nullptr);
    EXPECT_TRUE(back->span()->http.has_value());
    EXPECT_FALSE(back->span()->db.has_value());
    EXPECT_FALSE(back->span()->rpc.has_value());
  }
}

TEST(EventCodecTest, SpecialDoublesRoundTrip) {
  Event e = FullEvent(4);
  MetricData& m = std::get<MetricData>(e.payload);
  m.value = std::numeric_limits<double>::quiet_NaN();
  m.sum = -0.0;
  m.bucket_bounds = {-std::numeric_limits<double>::infinity(), 0.0,
                     std::numeric_limits<double>::infinity()};
  e.impact.severity_score = -0.0;
  e.attributes.push_back({"tiny", std::numeric_limits<double>::denorm_min()});
  e.attributes.push_back({"max", std::numeric_limits<double>::max()});
  e.attributes.push_back({"nan", std::numeric_limits<double>::quiet_NaN()});
  absl::StatusOr<Event> from_binary = EventFromBinary(EventToBinary(e));
  ASSERT_TRUE(from_binary.ok());
  EXPECT_TRUE(*from_binary == e);
  EXPECT_TRUE(std::signbit(std::get<MetricData>(from_binary->payload).sum));
  EXPECT_TRUE(std::signbit(from_binary->impact.severity_score));
  absl::StatusOr<std::string> json = EventToJson(e);
  ASSERT_TRUE(json.ok()) << json.status();
  absl::StatusOr<Event> from_json = EventFromJson(*json);
  ASSERT_TRUE(from_json.ok()) << from_json.status() << "\n" << *json;
  EXPECT_TRUE(*from_json == e) << *json;
  EXPECT_TRUE(std::signbit(std::get<MetricData>(from_json->payload).sum));
  EXPECT_TRUE(std::signbit(from_json->impact.severity_score));
}

TEST(EventCodecTest, NegativeZeroInsideStringsIsLeftAlone) {
  Event e;
  e.name = "-0,\\\"-0}";
  e.attributes.push_back({"-0", "-0]"s});
  e.sample_rate = -0.0;
  absl::StatusOr<std::string> json = EventToJson(e);
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find(R"("name":"-0,\\\"-0}")"), std::string::npos) << *json;
  EXPECT_NE(json->find(R"("sample_rate":-0.0)"), std::string::npos) << *json;
  absl::StatusOr<Event> back = EventFromJson(*json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == e) << *json;
}

TEST(EventCodecTest, ExtremeIntegersRoundTrip) {
  Event e = FullEvent(5);
  e.time_ns = std::numeric_limits<uint64_t>::max();
  e.id = EventId{e.time_ns, std::numeric_limits<uint64_t>::max()};
  KernelData& k = std::get<KernelData>(e.payload);
  k.pid = std::numeric_limits<uint32_t>::max();
  k.cgroup_id = std::numeric_limits<uint64_t>::max();
  k.return_value = std::numeric_limits<int64_t>::min();
  k.errno_value = std::numeric_limits<int32_t>::min();
  e.attributes.push_back({"min", std::numeric_limits<int64_t>::min()});
  e.trace.trace_flags = 0xff;
  absl::StatusOr<Event> from_binary = EventFromBinary(EventToBinary(e));
  ASSERT_TRUE(from_binary.ok());
  EXPECT_TRUE(*from_binary == e);
  absl::StatusOr<Event> from_json = EventFromJson(*EventToJson(e));
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_TRUE(*from_json == e);
}

TEST(EventCodecTest, EnumValuesFromANewerWriterAreKept) {
  // Evolution: a newer schema may add enum values; a reader keeps them.
  v1::Event m;
  m.set_type(static_cast<v1::EventType>(12));
  m.mutable_kernel()->set_kind(static_cast<v1::Kernel_Kind>(9));
  absl::StatusOr<Event> e = EventFromBinary(m.SerializeAsString());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(static_cast<int>(e->type), 12);
  EXPECT_EQ(static_cast<int>(e->kernel()->kind), 9);
  EXPECT_EQ(EventToBinary(*e), m.SerializeAsString());
}

TEST(EventCodecTest, UnknownFieldsFromANewerWriterAreIgnored) {
  std::string bytes = EventToBinary(FullEvent(1));
  bytes += "\x98\x06\x01"s;           // field 99, varint 1
  bytes += "\xa2\x06\x03"s + "new"s;  // field 100, "new"
  absl::StatusOr<Event> e = EventFromBinary(bytes);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(*e == FullEvent(1));
}

// --- the mapping
// ------------------------------------------------------------------

TEST(ProtoConvertTest, MapsIdsTypesAndTraceBytes) {
  Event e = testing::MakeSpan("api", 1234, 7, 8);
  e.id = EventId{1234, 0x42};
  v1::Event m;
  internal::EventToProto(e, &m);
  EXPECT_EQ(m.id(), "00000000000004d20000000000000042");
  EXPECT_EQ(m.time_unix_nano(), 1234u);
  // The type is written explicitly even when the event leaves it to the
  // payload.
  EXPECT_EQ(m.type(), v1::EVENT_TYPE_SPAN);
  EXPECT_EQ(m.trace().trace_id().size(), 16u);
  EXPECT_EQ(m.trace().span_id().size(), 8u);
  // All-zero ids are written as empty bytes.
  EXPECT_TRUE(m.trace().parent_span_id().empty());
  EXPECT_EQ(m.severity(), v1::SEVERITY_INFO);
  EXPECT_EQ(m.span().kind(), v1::Span::KIND_SERVER);
  EXPECT_EQ(m.span().status(), v1::Span::STATUS_OK);
  EXPECT_FALSE(m.span().has_http());
  EXPECT_EQ(m.service().name(), "api");

  Event empty;
  internal::EventToProto(empty, &m);
  EXPECT_TRUE(m.id().empty());
  EXPECT_EQ(m.type(), v1::EVENT_TYPE_CUSTOM);
  EXPECT_FALSE(m.has_trace());
  EXPECT_FALSE(m.has_service());
  EXPECT_EQ(m.payload_case(), v1::Event::PAYLOAD_NOT_SET);
  EXPECT_EQ(m.ByteSizeLong(), 2u) << "only the type";
}

TEST(ProtoConvertTest, AttributesKeepTheirTypes) {
  const Event e = FullEvent(0);
  v1::Event m;
  internal::EventToProto(e, &m);
  ASSERT_EQ(m.attributes_size(), 5);
  EXPECT_EQ(m.attributes(0).value().string_value(), "POST");
  EXPECT_EQ(m.attributes(1).value().int_value(), -3);
  EXPECT_EQ(m.attributes(2).value().double_value(), 0.125);
  EXPECT_TRUE(m.attributes(3).value().has_bool_value());
  EXPECT_EQ(m.attributes(4).value().bytes_value(), "\x00\xff\x10\x80"s);

  m.mutable_attributes(0)->clear_value();  // no value at all
  Event back;
  ASSERT_TRUE(internal::EventFromProto(m, &back).ok());
  EXPECT_EQ(std::get<std::string>(back.attributes[0].value), "");
  EXPECT_EQ(std::get<int64_t>(back.attributes[1].value), -3);
  EXPECT_EQ(std::get<double>(back.attributes[2].value), 0.125);
  EXPECT_EQ(std::get<bool>(back.attributes[3].value), true);
  EXPECT_EQ(std::get<std::vector<uint8_t>>(back.attributes[4].value),
            (std::vector<uint8_t>{0, 0xff, 0x10, 0x80}));
}

// Records the full name of every field that is set in `m` (and, recursively,
// in its set sub-messages).
void CollectSetFields(const Message& m, std::set<std::string>* out) {
  const Reflection* reflection = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(m, &fields);
  for (const FieldDescriptor* field : fields) {
    out->insert(field->full_name());
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(m, field); ++i) {
        CollectSetFields(reflection->GetRepeatedMessage(m, field, i), out);
      }
    } else {
      CollectSetFields(reflection->GetMessage(m, field), out);
    }
  }
}

void CollectAllFields(const Descriptor* d, std::set<std::string>* out) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* field = d->field(i);
    if (!out->insert(field->full_name()).second) continue;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      CollectAllFields(field->message_type(), out);
    }
  }
}

TEST(ProtoConvertTest, TheFullEventsSetEveryFieldOfTheSchema) {
  // Guards the converter and the test data at once: a proto field that no
  // full event sets would be a field the converter forgets.
  std::set<std::string> set_fields;
  for (const Event& e : AllFullEvents()) {
    v1::Event m;
    internal::EventToProto(e, &m);
    CollectSetFields(m, &set_fields);
  }
  std::set<std::string> all_fields;
  CollectAllFields(v1::Event::descriptor(), &all_fields);
  std::vector<std::string> missing;
  for (const std::string& name : all_fields) {
    if (!set_fields.count(name)) missing.push_back(name);
  }
  EXPECT_TRUE(missing.empty())
      << "never set: " << ::testing::PrintToString(missing);
  EXPECT_GT(all_fields.size(), 100u);
}

TEST(ProtoConvertTest, AReusedMessageEndsUpLikeAFreshOne) {
  std::vector<Event> events = AllFullEvents();
  for (Event& e : SparseEvents()) events.push_back(std::move(e));
  for (const Event& first : events) {
    for (const Event& second : events) {
      v1::Event reused;
      internal::EventToProto(first, &reused);
      internal::EventToProto(second, &reused);
      v1::Event fresh;
      internal::EventToProto(second, &fresh);
      ASSERT_EQ(reused.SerializeAsString(), fresh.SerializeAsString())
          << "first:  " << fresh.ShortDebugString()
          << "\nreused: " << reused.ShortDebugString();
    }
  }
}

TEST(ProtoConvertTest, AReusedMessageDropsUnknownFields) {
  v1::Event m;
  ASSERT_TRUE(m.ParseFromString(EventToBinary(FullEvent(1)) + "\x98\x06\x01"s));
  auto add_unknown = [](Message* message) {
    message->GetReflection()->MutableUnknownFields(message)->AddVarint(99, 1);
  };
  add_unknown(m.mutable_span());
  add_unknown(m.mutable_attributes(0));
  add_unknown(m.mutable_attributes(0)->mutable_value());
  add_unknown(m.mutable_span()->mutable_http());
  add_unknown(m.mutable_service());
  internal::EventToProto(FullEvent(1), &m);
  v1::Event fresh;
  internal::EventToProto(FullEvent(1), &fresh);
  EXPECT_EQ(m.SerializeAsString(), fresh.SerializeAsString());
}

TEST(ProtoConvertTest, AReusedEventEndsUpLikeAFreshOne) {
  std::vector<Event> events = AllFullEvents();
  for (Event& e : SparseEvents()) events.push_back(std::move(e));
  for (const Event& first : events) {
    for (const Event& second : events) {
      v1::Event m1, m2;
      internal::EventToProto(first, &m1);
      internal::EventToProto(second, &m2);
      Event reused;
      ASSERT_TRUE(internal::EventFromProto(m1, &reused).ok());
      ASSERT_TRUE(internal::EventFromProto(m2, &reused).ok());
      Event fresh;
      ASSERT_TRUE(internal::EventFromProto(m2, &fresh).ok());
      EXPECT_TRUE(reused == fresh);
      EXPECT_TRUE(reused == second);
    }
  }
}

// --- operator==
// -------------------------------------------------------------------

struct Mutation {
  const char* what;
  int layer;  // the full event it applies to
  std::function<void(Event&)> apply;
};

template <typename T>
T& P(Event& e) {
  return std::get<T>(e.payload);
}

TEST(EventEqualityTest, EveryFieldTakesPart) {
  const std::vector<Mutation> mutations = {
      {"id.time_ns", 0, [](Event& e) { e.id.time_ns++; }},
      {"id.suffix", 0, [](Event& e) { e.id.suffix++; }},
      {"time_ns", 0, [](Event& e) { e.time_ns++; }},
      {"type", 0, [](Event& e) { e.type = EventType::kLog; }},
      {"source", 0, [](Event& e) { e.source += "x"; }},
      {"service.name", 0, [](Event& e) { e.service.name += "x"; }},
      {"service.instance", 0, [](Event& e) { e.service.instance += "x"; }},
      {"service.host", 0, [](Event& e) { e.service.host += "x"; }},
      {"service.version", 0, [](Event& e) { e.service.version += "x"; }},
      {"service.namespace", 0, [](Event& e) { e.service.namespace_ += "x"; }},
      {"service.environment", 0,
       [](Event& e) { e.service.environment += "x"; }},
      {"trace.trace_id", 0, [](Event& e) { e.trace.trace_id[3] ^= 1; }},
      {"trace.span_id", 0, [](Event& e) { e.trace.span_id[3] ^= 1; }},
      {"trace.parent_span_id", 0,
       [](Event& e) { e.trace.parent_span_id[3] ^= 1; }},
      {"trace.trace_flags", 0, [](Event& e) { e.trace.trace_flags ^= 2; }},
      {"severity", 0, [](Event& e) { e.severity = Severity::kError; }},
      {"name", 0, [](Event& e) { e.name += "x"; }},
      {"semantic.intent", 0, [](Event& e) { e.semantic.intent += "x"; }},
      {"semantic.category", 0, [](Event& e) { e.semantic.category += "x"; }},
      {"semantic.tags", 0, [](Event& e) { e.semantic.tags.pop_back(); }},
      {"semantic.tags[0]", 0, [](Event& e) { e.semantic.tags[0] += "x"; }},
      {"impact.customer_facing", 0,
       [](Event& e) { e.impact.customer_facing = false; }},
      {"impact.slo", 0, [](Event& e) { e.impact.slo += "x"; }},
      {"impact.severity_score", 0,
       [](Event& e) { e.impact.severity_score = 0.5; }},
      {"attributes", 0, [](Event& e) { e.attributes.pop_back(); }},
      {"attributes[0].key", 0, [](Event& e) { e.attributes[0].key += "x"; }},
      {"attributes[0].value", 0,
       [](Event& e) { e.attributes[0].value = "PUT"s; }},
      {"attributes[1].value", 0,
       [](Event& e) { e.attributes[1].value = int64_t{4}; }},
      {"attributes[1] type", 0, [](Event& e) { e.attributes[1].value = -3.0; }},
      {"attributes[2].value", 0,
       [](Event& e) { e.attributes[2].value = 0.25; }},
      {"attributes[3].value", 0,
       [](Event& e) { e.attributes[3].value = false; }},
      {"attributes[4].value", 0,
       [](Event& e) {
         std::get<std::vector<uint8_t>>(e.attributes[4].value)[0] = 1;
       }},
      {"entity_refs", 0, [](Event& e) { e.entity_refs.pop_back(); }},
      {"entity_refs[0]", 0, [](Event& e) { e.entity_refs[0] += "x"; }},
      {"sample_rate", 0, [](Event& e) { e.sample_rate = 11; }},
      {"payload layer", 0, [](Event& e) { e.payload = LogData{}; }},
      {"span.kind", 1,
       [](Event& e) { P<SpanData>(e).kind = SpanKind::kServer; }},
      {"span.duration_ns", 1, [](Event& e) { P<SpanData>(e).duration_ns++; }},
      {"span.status", 1,
       [](Event& e) { P<SpanData>(e).status = SpanStatus::kOk; }},
      {"span.status_message", 1,
       [](Event& e) { P<SpanData>(e).status_message += "x"; }},
      {"span.http presence", 1, [](Event& e) { P<SpanData>(e).http.reset(); }},
      {"span.http.method", 1,
       [](Event& e) { P<SpanData>(e).http->method += "x"; }},
      {"span.http.route", 1,
       [](Event& e) { P<SpanData>(e).http->route += "x"; }},
      {"span.http.url", 1, [](Event& e) { P<SpanData>(e).http->url += "x"; }},
      {"span.http.status_code", 1,
       [](Event& e) { P<SpanData>(e).http->status_code++; }},
      {"span.http.client_ip", 1,
       [](Event& e) { P<SpanData>(e).http->client_ip += "x"; }},
      {"span.http.request_size", 1,
       [](Event& e) { P<SpanData>(e).http->request_size++; }},
      {"span.http.response_size", 1,
       [](Event& e) { P<SpanData>(e).http->response_size++; }},
      {"span.db presence", 1, [](Event& e) { P<SpanData>(e).db.reset(); }},
      {"span.db.system", 1, [](Event& e) { P<SpanData>(e).db->system += "x"; }},
      {"span.db.namespace", 1,
       [](Event& e) { P<SpanData>(e).db->namespace_ += "x"; }},
      {"span.db.operation", 1,
       [](Event& e) { P<SpanData>(e).db->operation += "x"; }},
      {"span.db.statement", 1,
       [](Event& e) { P<SpanData>(e).db->statement += "x"; }},
      {"span.db.table", 1, [](Event& e) { P<SpanData>(e).db->table += "x"; }},
      {"span.rpc presence", 1, [](Event& e) { P<SpanData>(e).rpc.reset(); }},
      {"span.rpc.system", 1,
       [](Event& e) { P<SpanData>(e).rpc->system += "x"; }},
      {"span.rpc.service", 1,
       [](Event& e) { P<SpanData>(e).rpc->service += "x"; }},
      {"span.rpc.method", 1,
       [](Event& e) { P<SpanData>(e).rpc->method += "x"; }},
      {"span.rpc.grpc_status_code", 1,
       [](Event& e) { P<SpanData>(e).rpc->grpc_status_code++; }},
      {"span.peer_service", 1,
       [](Event& e) { P<SpanData>(e).peer_service += "x"; }},
      {"log.body", 2, [](Event& e) { P<LogData>(e).body += "x"; }},
      {"log.logger", 2, [](Event& e) { P<LogData>(e).logger += "x"; }},
      {"log.code_file", 2, [](Event& e) { P<LogData>(e).code_file += "x"; }},
      {"log.code_line", 2, [](Event& e) { P<LogData>(e).code_line++; }},
      {"error.exception_type", 3,
       [](Event& e) { P<ErrorData>(e).exception_type += "x"; }},
      {"error.message", 3, [](Event& e) { P<ErrorData>(e).message += "x"; }},
      {"error.stacktrace", 3,
       [](Event& e) { P<ErrorData>(e).stacktrace += "x"; }},
      {"error.handled", 3, [](Event& e) { P<ErrorData>(e).handled = false; }},
      {"error.escaped", 3, [](Event& e) { P<ErrorData>(e).escaped = false; }},
      {"metric.kind", 4,
       [](Event& e) { P<MetricData>(e).kind = MetricKind::kGauge; }},
      {"metric.value", 4, [](Event& e) { P<MetricData>(e).value = 3.75; }},
      {"metric.unit", 4, [](Event& e) { P<MetricData>(e).unit += "x"; }},
      {"metric.bucket_bounds", 4,
       [](Event& e) { P<MetricData>(e).bucket_bounds[1] = 6; }},
      {"metric.bucket_counts", 4,
       [](Event& e) { P<MetricData>(e).bucket_counts[1]++; }},
      {"metric.sum", 4, [](Event& e) { P<MetricData>(e).sum = 1; }},
      {"metric.count", 4, [](Event& e) { P<MetricData>(e).count++; }},
      {"kernel.kind", 5,
       [](Event& e) { P<KernelData>(e).kind = KernelEventKind::kExec; }},
      {"kernel.pid", 5, [](Event& e) { P<KernelData>(e).pid++; }},
      {"kernel.tid", 5, [](Event& e) { P<KernelData>(e).tid++; }},
      {"kernel.ppid", 5, [](Event& e) { P<KernelData>(e).ppid++; }},
      {"kernel.comm", 5, [](Event& e) { P<KernelData>(e).comm += "x"; }},
      {"kernel.cgroup_id", 5, [](Event& e) { P<KernelData>(e).cgroup_id++; }},
      {"kernel.syscall", 5, [](Event& e) { P<KernelData>(e).syscall += "x"; }},
      {"kernel.syscall_nr", 5, [](Event& e) { P<KernelData>(e).syscall_nr++; }},
      {"kernel.errno_value", 5,
       [](Event& e) { P<KernelData>(e).errno_value++; }},
      {"kernel.return_value", 5,
       [](Event& e) { P<KernelData>(e).return_value++; }},
      {"kernel.exit_code", 5, [](Event& e) { P<KernelData>(e).exit_code++; }},
      {"kernel.signal", 5, [](Event& e) { P<KernelData>(e).signal++; }},
      {"kernel.filename", 5,
       [](Event& e) { P<KernelData>(e).filename += "x"; }},
      {"kernel.saddr", 5, [](Event& e) { P<KernelData>(e).saddr += "x"; }},
      {"kernel.daddr", 5, [](Event& e) { P<KernelData>(e).daddr += "x"; }},
      {"kernel.sport", 5, [](Event& e) { P<KernelData>(e).sport++; }},
      {"kernel.dport", 5, [](Event& e) { P<KernelData>(e).dport++; }},
      {"kubernetes.namespace", 6,
       [](Event& e) { P<KubernetesData>(e).namespace_ += "x"; }},
      {"kubernetes.pod", 6, [](Event& e) { P<KubernetesData>(e).pod += "x"; }},
      {"kubernetes.container", 6,
       [](Event& e) { P<KubernetesData>(e).container += "x"; }},
      {"kubernetes.node", 6,
       [](Event& e) { P<KubernetesData>(e).node += "x"; }},
      {"kubernetes.object_kind", 6,
       [](Event& e) { P<KubernetesData>(e).object_kind += "x"; }},
      {"kubernetes.reason", 6,
       [](Event& e) { P<KubernetesData>(e).reason += "x"; }},
      {"kubernetes.message", 6,
       [](Event& e) { P<KubernetesData>(e).message += "x"; }},
      {"entity_state.entity", 7,
       [](Event& e) { P<EntityStateData>(e).entity += "x"; }},
      {"entity_state.entity_type", 7,
       [](Event& e) { P<EntityStateData>(e).entity_type += "x"; }},
      {"entity_state.fields", 7,
       [](Event& e) { P<EntityStateData>(e).fields.pop_back(); }},
      {"entity_state.fields[0].name", 7,
       [](Event& e) { P<EntityStateData>(e).fields[0].name += "x"; }},
      {"entity_state.fields[0].value", 7,
       [](Event& e) { P<EntityStateData>(e).fields[0].value += "x"; }},
      {"entity_state.deleted", 7,
       [](Event& e) { P<EntityStateData>(e).deleted = false; }},
      {"ui.action", 8, [](Event& e) { P<UiInteractionData>(e).action += "x"; }},
      {"ui.target", 8, [](Event& e) { P<UiInteractionData>(e).target += "x"; }},
      {"ui.page", 8, [](Event& e) { P<UiInteractionData>(e).page += "x"; }},
      {"ui.session_id", 8,
       [](Event& e) { P<UiInteractionData>(e).session_id += "x"; }},
      {"ui.user_id", 8,
       [](Event& e) { P<UiInteractionData>(e).user_id += "x"; }},
  };
  for (const Mutation& mutation : mutations) {
    const Event original = FullEvent(mutation.layer);
    Event changed = original;
    ASSERT_TRUE(changed == original);
    mutation.apply(changed);
    EXPECT_FALSE(changed == original) << mutation.what;
    EXPECT_TRUE(changed != original) << mutation.what;
    // And the change survives the binary codec (no field is dropped).
    absl::StatusOr<Event> back = EventFromBinary(EventToBinary(changed));
    ASSERT_TRUE(back.ok()) << mutation.what << ": " << back.status();
    EXPECT_TRUE(*back == changed) << mutation.what;
  }
}

TEST(EventEqualityTest, UnspecifiedTypeEqualsThePayloadsType) {
  Event a = FullEvent(1);
  Event b = a;
  b.type = EventType::kSpan;
  EXPECT_TRUE(a == b);
  b.type = EventType::kError;
  EXPECT_FALSE(a == b);
}

TEST(EventEqualityTest, NaNsAreEqualButSignedZerosAreNot) {
  Event a;
  a.sample_rate = std::numeric_limits<double>::quiet_NaN();
  Event b;
  b.sample_rate = -std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(a == b);
  a.sample_rate = 0.0;
  b.sample_rate = -0.0;
  EXPECT_FALSE(a == b);
}

// --- JSON specifics
// -------------------------------------------------------------------

TEST(EventJsonTest, OutputIsOneLineWithProtoFieldNames) {
  absl::StatusOr<std::string> json = EventToJson(FullEvent(1));
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->find('\n'), std::string::npos);
  EXPECT_NE(json->find("\"time_unix_nano\":\"1700000000123456790\""),
            std::string::npos)
      << *json;
  EXPECT_NE(json->find("\"id\":\"17979cfe3d85cd16abcdef0000000001\""),
            std::string::npos)
      << *json;
  EXPECT_NE(json->find("\"type\":\"EVENT_TYPE_SPAN\""), std::string::npos);
  EXPECT_NE(json->find("\"duration_nano\":\"12345678\""), std::string::npos);
  EXPECT_NE(json->find("\"grpc_status_code\":14"), std::string::npos);
  EXPECT_EQ(json->find("timeUnixNano"), std::string::npos);
}

TEST(EventJsonTest, AcceptsSnakeAndCamelCaseNames) {
  const std::string trace_b64 =
      "fgAAAAAAAAAAAAAAAAAREQ==";  // MakeTraceId(0x1111)
  const std::string snake =
      R"({"time_unix_nano":"42","service":{"name":"api"},)"
      R"("trace":{"trace_id":")" +
      trace_b64 +
      R"(","span_id":"AAAAAAAAIiI="},)"
      R"("span":{"duration_nano":"7","status_message":"ok","http":{"status_code":200}}})";
  const std::string camel =
      R"({"timeUnixNano":"42","service":{"name":"api"},)"
      R"("trace":{"traceId":")" +
      trace_b64 +
      R"(","spanId":"AAAAAAAAIiI="},)"
      R"("span":{"durationNano":"7","statusMessage":"ok","http":{"statusCode":200}}})";
  absl::StatusOr<Event> a = EventFromJson(snake);
  absl::StatusOr<Event> b = EventFromJson(camel);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(*a == *b);
  EXPECT_EQ(a->time_ns, 42u);
  EXPECT_EQ(a->trace.trace_id, testing::MakeTraceId(0x1111));
  EXPECT_EQ(a->trace.span_id, testing::MakeSpanId(0x2222));
  ASSERT_NE(a->span(), nullptr);
  EXPECT_EQ(a->span()->duration_ns, 7u);
  EXPECT_EQ(a->span()->http->status_code, 200);
}

TEST(EventJsonTest, AcceptsEnumNumbersAndEmptyObject) {
  absl::StatusOr<Event> e =
      EventFromJson(R"({"severity":17,"type":"EVENT_TYPE_LOG"})");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->severity, Severity::kError);
  EXPECT_EQ(e->type, EventType::kLog);
  absl::StatusOr<Event> empty = EventFromJson("{}");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(*empty == Event{});
}

void ExpectJsonError(const std::string& json, const std::string& fragment) {
  absl::StatusOr<Event> e = EventFromJson(json);
  ASSERT_FALSE(e.ok()) << "accepted: " << json;
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << json;
  EXPECT_NE(e.status().message().find(fragment), absl::string_view::npos)
      << "for " << json << "\ngot: " << e.status();
}

TEST(EventJsonTest, MalformedJsonIsAnError) {
  ExpectJsonError("", "");
  ExpectJsonError("{", "");
  ExpectJsonError("{\"name\": }", "");
  ExpectJsonError("{\"name\": \"x\"", "");
  ExpectJsonError("{\"name\": \"x\"} trailing", "");
  ExpectJsonError("[]", "");
  ExpectJsonError("\"event\"", "");
  ExpectJsonError("null", "");
}

TEST(EventJsonTest, UnknownFieldIsAnErrorNamingIt) {
  ExpectJsonError(R"({"nmae":"x"})", "nmae");
  ExpectJsonError(R"({"service":{"name":"a","colour":"red"}})", "colour");
}

TEST(EventJsonTest, WrongTypesAreErrorsNamingTheField) {
  ExpectJsonError(R"({"time_unix_nano":"soon"})", "time_unix_nano");
  ExpectJsonError(R"({"time_unix_nano":-1})", "time_unix_nano");
  ExpectJsonError(R"({"name":5})", "name");
  ExpectJsonError(R"({"span":[]})", "span");
  ExpectJsonError(R"({"attributes":"x"})", "attributes");
  ExpectJsonError(R"({"entity_refs":[{}]})", "entity_refs");
  ExpectJsonError(R"({"semantic":{"tags":[1]}})", "semantic.tags");
  ExpectJsonError(R"({"severity":"LOUD"})", "severity");
  ExpectJsonError(R"({"kernel":{"pid":-1}})", "kernel.pid");
  ExpectJsonError(R"({"kernel":{"pid":1.5}})", "kernel.pid");
  ExpectJsonError(R"({"kernel":{"pid":4294967296}})", "kernel.pid");
  ExpectJsonError(R"({"impact":{"customer_facing":5}})",
                  "impact.customer_facing");
  ExpectJsonError(R"({"sample_rate":true})", "sample_rate");
  ExpectJsonError(R"({"trace":{"trace_id":"not base64!"}})", "trace.trace_id");
}

TEST(EventJsonTest, InvalidUtf8IsAnError) {
  ExpectJsonError("{\"name\":\"\xff\"}", "invalid UTF-8 at byte 9");
  ExpectJsonError("{\"name\":\"\xc0\xaf\"}", "invalid UTF-8 at byte 9");
  ExpectJsonError("{\"name\":\"\xed\xa0\x80\"}", "invalid UTF-8");
  ExpectJsonError("{\"name\":\"\xe2\x82\"}", "invalid UTF-8");
  // Escapes that decode to a lone surrogate are not UTF-8 either.
  absl::StatusOr<Event> e = EventFromJson(R"({"name":"\ud800"})");
  if (e.ok()) {
    EXPECT_TRUE(IsValidUtf8(e->name));
  }
  // A proper escaped pair decodes.
  absl::StatusOr<Event> pair = EventFromJson(R"({"name":"\ud83d\ude00"})");
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_EQ(pair->name, "\xf0\x9f\x98\x80");
}

TEST(EventJsonTest, IdsOfTheWrongLengthAreErrors) {
  ExpectJsonError(R"({"trace":{"trace_id":"AAEC"}})",
                  "trace.trace_id: 3 bytes, expected 16");
  ExpectJsonError(R"({"trace":{"span_id":"fgAAAAAAAAAAAAAAAAAREQ=="}})",
                  "trace.span_id: 16 bytes, expected 8");
  ExpectJsonError(R"({"trace":{"parent_span_id":"AA=="}})",
                  "trace.parent_span_id: 1 bytes, expected 8");
  ExpectJsonError(R"({"id":"1234"})", "id: expected 32 hex digits");
  ExpectJsonError(R"({"id":"zz00000000000000000000000000000000"})",
                  "id: expected 32 hex digits");
}

TEST(EventJsonTest, OtherSchemaViolationsAreErrors) {
  ExpectJsonError(R"({"metric":{"bucket_bounds":[1,2],"bucket_counts":["1"]}})",
                  "metric.bucket_counts: 1 counts for 2 bucket_bounds");
  ExpectJsonError(R"({"severity":30})", "severity: 30");
  ExpectJsonError(R"({"trace":{"trace_flags":256}})", "trace.trace_flags");
}

TEST(EventJsonTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "{\"attributes\":";
  for (int i = 0; i < 100000; ++i) deep += "[";
  absl::StatusOr<Event> e = EventFromJson(deep);
  EXPECT_FALSE(e.ok());
  std::string deep_objects;
  for (int i = 0; i < 50000; ++i) deep_objects += "{\"span\":";
  EXPECT_FALSE(EventFromJson(deep_objects).ok());
}

TEST(EventJsonTest, ToJsonRejectsInvalidUtf8NamingTheField) {
  Event e = FullEvent(7);
  P<EntityStateData>(e).fields[1].value = "ok\xfe";
  absl::StatusOr<std::string> json = EventToJson(e);
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().message(),
            "entity_state.fields[1].value: invalid UTF-8 at byte 2");
}

// --- binary errors
// ---------------------------------------------------------------------

void ExpectBinaryError(const std::string& bytes, const std::string& fragment) {
  absl::StatusOr<Event> e = EventFromBinary(bytes);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(e.status().message().find(fragment), absl::string_view::npos)
      << e.status();
}

TEST(EventBinaryTest, MalformedWireDataIsAnError) {
  ExpectBinaryError("\xff\xff\xff"s, "malformed protobuf event");
  ExpectBinaryError(
      "\x42\x05"
      "ab"s,
      "malformed protobuf event");                                 // short
  ExpectBinaryError("\x42\x01\xff"s, "malformed protobuf event");  // UTF-8
  ExpectBinaryError("\x0f"s, "malformed protobuf event");  // wire type 7
  const std::string good = EventToBinary(FullEvent(1));
  ExpectBinaryError(good.substr(0, good.size() - 1),
                    "malformed protobuf event");
  EXPECT_TRUE(EventFromBinary("").ok()) << "the empty message is an event";
}

TEST(EventBinaryTest, SchemaViolationsAreErrors) {
  v1::Event m;
  m.mutable_trace()->set_trace_id("12345");
  ExpectBinaryError(m.SerializeAsString(),
                    "trace.trace_id: 5 bytes, expected 16");
  m.Clear();
  m.set_id("not an id");
  ExpectBinaryError(m.SerializeAsString(), "id: expected 32 hex digits");
  m.Clear();
  m.mutable_metric()->add_bucket_counts(1);
  m.mutable_metric()->add_bucket_counts(2);
  ExpectBinaryError(m.SerializeAsString(), "metric.bucket_counts");
  m.Clear();
  m.set_type(static_cast<v1::EventType>(300));
  ExpectBinaryError(m.SerializeAsString(), "type: enum value 300");
  m.Clear();
  m.mutable_span()->set_kind(static_cast<v1::Span_Kind>(-1));
  ExpectBinaryError(m.SerializeAsString(), "span.kind");
}

// --- bounded fuzz
// ------------------------------------------------------------------------

// Every input must give a status, never a crash; whatever decodes must
// re-encode and decode to the same event.
void CheckDecodedEvent(const absl::StatusOr<Event>& e) {
  if (!e.ok()) {
    EXPECT_FALSE(e.status().message().empty());
    return;
  }
  absl::StatusOr<Event> again = EventFromBinary(EventToBinary(*e));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(*again == *e);
  absl::StatusOr<std::string> json = EventToJson(*e);
  ASSERT_TRUE(json.ok()) << json.status();
  absl::StatusOr<Event> from_json = EventFromJson(*json);
  ASSERT_TRUE(from_json.ok()) << from_json.status() << "\n" << *json;
  EXPECT_TRUE(*from_json == *e) << *json;
}

std::string Mutate(const std::string& seed, std::mt19937_64& rng, bool text) {
  std::string s = seed;
  auto random_byte = [&]() -> char {
    if (text) {
      static constexpr char kJsonish[] = "{}[]\":,0123456789-+.eEtrufalsn \\/";
      return rng() % 3 == 0 ? kJsonish[rng() % (sizeof(kJsonish) - 1)]
                            : static_cast<char>(0x20 + rng() % 0x5f);
    }
    return static_cast<char>(rng());
  };
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits; ++i) {
    const size_t pos = s.empty() ? 0 : rng() % s.size();
    switch (rng() % 6) {
      case 0:  // replace
        if (!s.empty()) s[pos] = random_byte();
        break;
      case 1:  // insert
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), random_byte());
        break;
      case 2:  // delete a run
        s.erase(pos, 1 + rng() % 8);
        break;
      case 3:  // truncate
        s.resize(pos);
        break;
      case 4: {  // duplicate a run
        const std::string run = s.substr(pos, 1 + rng() % 16);
        s.insert(pos, run);
        break;
      }
      case 5:  // flip a bit
        if (!s.empty()) s[pos] = static_cast<char>(s[pos] ^ (1 << (rng() % 8)));
        break;
    }
  }
  return s;
}

TEST(EventCodecFuzzTest, RandomAndMutatedInputsNeverCrash) {
  std::vector<std::string> binary_seeds;
  std::vector<std::string> json_seeds;
  for (const Event& e : AllFullEvents()) {
    binary_seeds.push_back(EventToBinary(e));
    json_seeds.push_back(*EventToJson(e));
  }
  for (const Event& e : SparseEvents()) {
    binary_seeds.push_back(EventToBinary(e));
    json_seeds.push_back(*EventToJson(e));
  }
  std::mt19937_64 rng(20240115);
  int binary_ok = 0;
  int json_ok = 0;
  constexpr int kInputs = 20000;
  for (int i = 0; i < kInputs; ++i) {
    std::string input;
    switch (i % 4) {
      case 0: {  // random bytes
        input.resize(rng() % 64);
        for (char& c : input) c = static_cast<char>(rng());
        break;
      }
      case 1:
        input = Mutate(binary_seeds[rng() % binary_seeds.size()], rng, false);
        break;
      case 2:
        input = Mutate(json_seeds[rng() % json_seeds.size()], rng, true);
        break;
      case 3:  // bytes mutations of JSON: invalid UTF-8 and control chars
        input = Mutate(json_seeds[rng() % json_seeds.size()], rng, false);
        break;
    }
    absl::StatusOr<Event> from_binary = EventFromBinary(input);
    absl::StatusOr<Event> from_json = EventFromJson(input);
    binary_ok += from_binary.ok();
    json_ok += from_json.ok();
    CheckDecodedEvent(from_binary);
    CheckDecodedEvent(from_json);
    if (::testing::Test::HasFatalFailure()) {
      FAIL() << "input " << i << " (" << input.size() << " bytes)";
    }
  }
  // Not vacuous: a fair share of the mutated inputs still decode.
  EXPECT_GT(binary_ok, 500);
  EXPECT_GT(json_ok, 50);
  std::printf("fuzz: %d inputs, %d decoded as binary, %d as JSON\n", kInputs,
              binary_ok, json_ok);
}

// --- the direct wire encoder (store ingest path)
// ------------------------------

std::string SerializedViaProto(const Event& e, bool omit_id_and_time) {
  v1::Event proto;
  internal::EventToProto(e, &proto);
  if (omit_id_and_time) {
    proto.clear_id();
    proto.clear_time_unix_nano();
  }
  std::string bytes;
  EXPECT_TRUE(proto.SerializeToString(&bytes));
  return bytes;
}

TEST(WireEncoderTest, ByteIdenticalToProtobufForEveryLayerAndSparseEvents) {
  std::vector<Event> events = AllFullEvents();
  for (Event& e : SparseEvents()) events.push_back(e);
  // Long strings need multi-byte lengths in nested messages.
  Event big = FullEvent(3);
  std::get<ErrorData>(big.payload).stacktrace = std::string(70000, 's');
  big.attributes.push_back({"long", std::string(300, 'a')});
  events.push_back(big);
  // Negative numbers, -0.0, and extremes.
  Event odd = FullEvent(5);
  std::get<KernelData>(odd.payload).errno_value = -2;
  std::get<KernelData>(odd.payload).return_value =
      std::numeric_limits<int64_t>::min();
  odd.sample_rate = -0.0;
  odd.attributes.push_back({"neg0", -0.0});
  odd.attributes.push_back({"zero", int64_t{0}});
  odd.attributes.push_back({"false", false});
  events.push_back(odd);
  for (size_t i = 0; i < events.size(); ++i) {
    for (bool omit : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "event " << i << " omit " << omit);
      std::string direct;
      internal::AppendEventWire(events[i], {omit}, &direct);
      EXPECT_EQ(direct, SerializedViaProto(events[i], omit));
    }
  }
}

TEST(WireEncoderTest, AppendsAfterExistingBytes) {
  std::string out = "prefix";
  internal::AppendEventWire(FullEvent(1), {}, &out);
  EXPECT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(out.substr(6), SerializedViaProto(FullEvent(1), false));
}

}  // namespace
}  // namespace traversion
