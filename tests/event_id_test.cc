// EventId, trace/span id hex forms, type and severity names, and the small
// accessors of Event.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"
#include "support/test_support.h"
#include "traversion/event.h"

namespace traversion {
namespace {

TEST(EventIdTest, TextFormIsBigEndianTimeThenSuffix) {
  EventId id{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  EXPECT_EQ(id.ToString(), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(EventId{}.ToString(), std::string(32, '0'));
}

TEST(EventIdTest, ByteFormIsBigEndian) {
  EventId id{0x0102030405060708ULL, 0x1112131415161718ULL};
  const std::array<uint8_t, 16> bytes = id.ToBytes();
  const std::array<uint8_t, 16> expected = {
      1, 2, 3, 4, 5, 6, 7, 8, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};
  EXPECT_EQ(bytes, expected);
  EXPECT_EQ(EventId::FromBytes(bytes.data()), id);
}

TEST(EventIdTest, RandomIdsRoundTripAndCompareLikeTheirBytesAndText) {
  std::mt19937_64 rng(42);
  std::vector<EventId> ids;
  for (int i = 0; i < 2000; ++i) {
    // Small ranges too, so that equal times and equal bytes happen.
    const uint64_t time = (i % 3 == 0) ? rng() % 4 : rng();
    const uint64_t suffix = (i % 5 == 0) ? rng() % 4 : rng();
    ids.push_back(EventId{time, suffix});
  }
  for (const EventId& id : ids) {
    const std::string text = id.ToString();
    ASSERT_EQ(text.size(), 32u);
    std::optional<EventId> parsed = EventId::Parse(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(*parsed, id);
    const auto bytes = id.ToBytes();
    EXPECT_EQ(EventId::FromBytes(bytes.data()), id);
  }
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    const EventId& a = ids[i];
    const EventId& b = ids[i + 1];
    const auto ab = a.ToBytes();
    const auto bb = b.ToBytes();
    const int byte_order = std::memcmp(ab.data(), bb.data(), 16);
    EXPECT_EQ(a < b, byte_order < 0);
    EXPECT_EQ(b<a, byte_order> 0);
    EXPECT_EQ(a == b, byte_order == 0);
    EXPECT_EQ(a < b, a.ToString() < b.ToString());
  }
}

TEST(EventIdTest, ParseAcceptsUpperCase) {
  std::optional<EventId> id =
      EventId::Parse("0123456789ABCDEFFEDCBA9876543210");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->time_ns, 0x0123456789abcdefULL);
  EXPECT_EQ(id->suffix, 0xfedcba9876543210ULL);
}

TEST(EventIdTest, ParseRejectsMalformedText) {
  const std::string good = "0123456789abcdef0123456789abcdef";
  ASSERT_TRUE(EventId::Parse(good).has_value());
  EXPECT_FALSE(EventId::Parse("").has_value());
  EXPECT_FALSE(EventId::Parse(good.substr(0, 31)).has_value());
  EXPECT_FALSE(EventId::Parse(good + "0").has_value());
  EXPECT_FALSE(EventId::Parse("g123456789abcdef0123456789abcdef").has_value());
  EXPECT_FALSE(EventId::Parse("0123456789abcdef 123456789abcdef").has_value());
  EXPECT_FALSE(EventId::Parse("0x23456789abcdef0123456789abcdef").has_value());
  std::string with_nul = good;
  with_nul[7] = '\0';
  EXPECT_FALSE(EventId::Parse(with_nul).has_value());
  std::string with_high = good;
  with_high[0] = static_cast<char>(0xb0);
  EXPECT_FALSE(EventId::Parse(with_high).has_value());
}

TEST(EventIdTest, GenerateKeepsTheTimeAndIsUniqueAndOrderedInOneThread) {
  constexpr uint64_t kTime = 1'700'000'000'000'000'000ULL;
  EventId previous = EventId::Generate(kTime);
  EXPECT_EQ(previous.time_ns, kTime);
  for (int i = 0; i < 10000; ++i) {
    EventId next = EventId::Generate(kTime);
    EXPECT_EQ(next.time_ns, kTime);
    ASSERT_LT(previous, next);
    previous = next;
  }
}

TEST(EventIdTest, GenerateSharesOneProcessTagInTheHighBits) {
  const EventId a = EventId::Generate(1);
  const EventId b = EventId::Generate(2);
  EXPECT_EQ(a.suffix >> 40, b.suffix >> 40);
  EXPECT_NE(a.suffix & ((uint64_t{1} << 40) - 1),
            b.suffix & ((uint64_t{1} << 40) - 1));
}

TEST(EventIdTest, AForkedChildGetsItsOwnTag) {
  // Parent and child share the counter's state at fork(); without a new tag
  // their next ids would collide.
  const EventId before = EventId::Generate(9);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const EventId child = EventId::Generate(9);
    const bool written = write(fds[1], &child.suffix, sizeof(child.suffix)) ==
                         static_cast<ssize_t>(sizeof(child.suffix));
    _exit(written ? 0 : 1);
  }
  close(fds[1]);
  uint64_t child_suffix = 0;
  ASSERT_EQ(read(fds[0], &child_suffix, sizeof(child_suffix)),
            static_cast<ssize_t>(sizeof(child_suffix)));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const EventId parent = EventId::Generate(9);
  EXPECT_NE(child_suffix >> 40, parent.suffix >> 40);
  EXPECT_EQ(before.suffix >> 40, parent.suffix >> 40);
  EXPECT_NE(child_suffix, parent.suffix);
}

TEST(EventIdTest, GenerateIsUniqueAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::vector<EventId>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&made, t] {
      made[t].reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) {
        made[t].push_back(EventId::Generate(777));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  absl::flat_hash_set<EventId> all;
  for (const auto& ids : made) {
    // Each thread sees its own ids in creation order.
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
    for (const EventId& id : ids) all.insert(id);
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(EventIdTest, GenerateFollowsCreationOrderAcrossThreads) {
  // Threads take turns under a mutex; the order in which ids were made (the
  // order of `made`) must be their sort order, whichever thread made them.
  constexpr int kThreads = 3;
  constexpr int kPerThread = 3000;
  std::mutex mu;
  std::vector<EventId> made;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        std::lock_guard<std::mutex> lock(mu);
        made.push_back(EventId::Generate(5));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(made.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 1; i < made.size(); ++i) {
    ASSERT_LT(made[i - 1], made[i]) << "at " << i;
  }
}

TEST(TraceIdTest, HexRoundTrip) {
  const TraceId trace = testing::MakeTraceId(0x0102030405060708ULL);
  const std::string hex = ToHex(trace);
  EXPECT_EQ(hex, "7e000000000000000102030405060708");
  EXPECT_EQ(ParseTraceId(hex), trace);

  const SpanId span = testing::MakeSpanId(0xa1b2c3d4e5f60718ULL);
  EXPECT_EQ(ToHex(span), "a1b2c3d4e5f60718");
  EXPECT_EQ(ParseSpanId("a1b2c3d4e5f60718"), span);
  EXPECT_EQ(ParseSpanId("A1B2C3D4E5F60718"), span);
  EXPECT_EQ(ParseTraceId("7E000000000000000102030405060708"), trace);
}

TEST(TraceIdTest, HexParseErrors) {
  EXPECT_FALSE(ParseTraceId("").has_value());
  EXPECT_FALSE(ParseTraceId("7e00000000000000010203040506070").has_value());
  EXPECT_FALSE(ParseTraceId("7e0000000000000001020304050607080").has_value());
  EXPECT_FALSE(ParseTraceId("7e00000000000000010203040506070z").has_value());
  // A span id is not a trace id, and the other way round.
  EXPECT_FALSE(ParseTraceId("a1b2c3d4e5f60718").has_value());
  EXPECT_FALSE(ParseSpanId("7e000000000000000102030405060708").has_value());
  EXPECT_FALSE(ParseSpanId("a1b2c3d4e5f6071").has_value());
  EXPECT_FALSE(ParseSpanId("a1b2c3d4e5f6071-").has_value());
  EXPECT_FALSE(ParseSpanId("-1b2c3d4e5f60718").has_value());
}

TEST(TraceContextTest, HasTraceAndParentLookForNonZeroBytes) {
  TraceContext trace;
  EXPECT_FALSE(trace.has_trace());
  EXPECT_FALSE(trace.has_parent());
  trace.trace_id[15] = 1;
  EXPECT_TRUE(trace.has_trace());
  trace.span_id[0] = 1;
  EXPECT_FALSE(trace.has_parent());
  trace.parent_span_id[7] = 0x80;
  EXPECT_TRUE(trace.has_parent());
}

TEST(NamesTest, EventTypeNamesRoundTrip) {
  const std::vector<std::pair<EventType, std::string>> expected = {
      {EventType::kUnspecified, "unspecified"},
      {EventType::kSpan, "span"},
      {EventType::kLog, "log"},
      {EventType::kError, "error"},
      {EventType::kMetric, "metric"},
      {EventType::kKernel, "kernel"},
      {EventType::kKubernetes, "kubernetes"},
      {EventType::kEntityState, "entity_state"},
      {EventType::kUiInteraction, "ui"},
      {EventType::kCustom, "custom"},
  };
  for (const auto& [type, name] : expected) {
    EXPECT_EQ(EventTypeName(type), name);
    EXPECT_EQ(ParseEventType(name), type) << name;
  }
  EXPECT_EQ(ParseEventType("SPAN"), EventType::kSpan);
  EXPECT_FALSE(ParseEventType("").has_value());
  EXPECT_FALSE(ParseEventType("spans").has_value());
  EXPECT_FALSE(ParseEventType("unknown").has_value());
  EXPECT_EQ(EventTypeName(static_cast<EventType>(42)), "unknown");
}

TEST(NamesTest, SeverityNamesRoundTrip) {
  const std::vector<std::pair<Severity, std::string>> expected = {
      {Severity::kUnspecified, "unspecified"},
      {Severity::kTrace, "trace"},
      {Severity::kDebug, "debug"},
      {Severity::kInfo, "info"},
      {Severity::kWarn, "warn"},
      {Severity::kError, "error"},
      {Severity::kFatal, "fatal"},
  };
  for (const auto& [severity, name] : expected) {
    EXPECT_EQ(SeverityName(severity), name);
    EXPECT_EQ(ParseSeverity(name), severity) << name;
  }
  EXPECT_EQ(ParseSeverity("warning"), Severity::kWarn);
  EXPECT_EQ(ParseSeverity("WARNING"), Severity::kWarn);
  EXPECT_EQ(ParseSeverity("ERROR"), Severity::kError);
  EXPECT_EQ(ParseSeverity("Info"), Severity::kInfo);
  EXPECT_FALSE(ParseSeverity("").has_value());
  EXPECT_FALSE(ParseSeverity("critical").has_value());
  EXPECT_FALSE(ParseSeverity("warn ").has_value());
}

TEST(NamesTest, SeverityNumbersInsideARangeAreNamedForTheRange) {
  // OpenTelemetry's INFO2 (10), WARN4 (16), FATAL4 (24).
  EXPECT_EQ(SeverityName(static_cast<Severity>(10)), "info");
  EXPECT_EQ(SeverityName(static_cast<Severity>(16)), "warn");
  EXPECT_EQ(SeverityName(static_cast<Severity>(24)), "fatal");
  EXPECT_EQ(SeverityName(static_cast<Severity>(25)), "unspecified");
}

TEST(EventTest, EffectiveTypeComesFromThePayloadUnlessSet) {
  Event e;
  EXPECT_EQ(e.effective_type(), EventType::kCustom);
  e.payload = SpanData{};
  EXPECT_EQ(e.effective_type(), EventType::kSpan);
  e.payload = LogData{};
  EXPECT_EQ(e.effective_type(), EventType::kLog);
  e.payload = ErrorData{};
  EXPECT_EQ(e.effective_type(), EventType::kError);
  e.payload = MetricData{};
  EXPECT_EQ(e.effective_type(), EventType::kMetric);
  e.payload = KernelData{};
  EXPECT_EQ(e.effective_type(), EventType::kKernel);
  e.payload = KubernetesData{};
  EXPECT_EQ(e.effective_type(), EventType::kKubernetes);
  e.payload = EntityStateData{};
  EXPECT_EQ(e.effective_type(), EventType::kEntityState);
  e.payload = UiInteractionData{};
  EXPECT_EQ(e.effective_type(), EventType::kUiInteraction);
  e.type = EventType::kError;
  EXPECT_EQ(e.effective_type(), EventType::kError);
}

TEST(EventTest, FindAttributeReturnsTheFirstMatch) {
  Event e;
  e.attributes.push_back({"a", int64_t{1}});
  e.attributes.push_back({"b", std::string("x")});
  e.attributes.push_back({"a", int64_t{2}});
  const AttributeValue* a = e.FindAttribute("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(std::get<int64_t>(*a), 1);
  const AttributeValue* b = e.FindAttribute("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(std::get<std::string>(*b), "x");
  EXPECT_EQ(e.FindAttribute("c"), nullptr);
  EXPECT_EQ(e.FindAttribute(""), nullptr);
}

TEST(EventTest, TypedPayloadAccessors) {
  Event e = testing::MakeSpan("api", 1, 1, 1);
  EXPECT_NE(e.span(), nullptr);
  EXPECT_EQ(e.log(), nullptr);
  EXPECT_EQ(e.metric(), nullptr);
}

}  // namespace
}  // namespace traversion
