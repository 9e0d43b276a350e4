// W3C traceparent parsing and formatting: round trips, the spec's rules for
// version 00 and future versions, and malformed headers.
#include <string>

#include "gtest/gtest.h"
#include "traversion/trace_context.h"

namespace traversion {
namespace {

constexpr char kValid[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceparentTest, ParsesTheSpecExample) {
  std::optional<SpanContext> c = ParseTraceparent(kValid);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(ToHex(c->trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ToHex(c->span_id), "00f067aa0ba902b7");
  EXPECT_EQ(c->trace_flags, 0x01);
  EXPECT_TRUE(c->sampled());
  EXPECT_TRUE(c->valid());
}

TEST(TraceparentTest, RoundTrips) {
  for (const char* header :
       {kValid, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
        "00-00000000000000000000000000000001-0000000000000001-03"}) {
    std::optional<SpanContext> c = ParseTraceparent(header);
    ASSERT_TRUE(c.has_value()) << header;
    EXPECT_EQ(FormatTraceparent(*c), header);
    char buffer[kTraceparentLength];
    EXPECT_EQ(FormatTraceparent(*c, buffer), header);
    EXPECT_EQ(ParseTraceparent(FormatTraceparent(*c)), c);
  }
}

TEST(TraceparentTest, KeepsUnknownFlagsOfVersion00ButDoesNotSendThem) {
  std::optional<SpanContext> c = ParseTraceparent(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->trace_flags, 0xff);
  EXPECT_EQ(FormatTraceparent(*c),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
}

TEST(TraceparentTest, IgnoresSurroundingOptionalWhitespace) {
  EXPECT_TRUE(ParseTraceparent(std::string(" \t") + kValid + "  ").has_value());
}

TEST(TraceparentTest, FutureVersionsAreParsedByTheVersion00Layout) {
  std::optional<SpanContext> c = ParseTraceparent(
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09");
  ASSERT_TRUE(c.has_value());
  // Only the sampled bit of a future version's flags is understood.
  EXPECT_EQ(c->trace_flags, 0x01);
  EXPECT_TRUE(ParseTraceparent(
                  "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-"
                  "what-the-future-will-be-like")
                  .has_value());
  // A future version must still continue with a dash after the flags.
  EXPECT_FALSE(ParseTraceparent(
                   "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x")
                   .has_value());
}

TEST(TraceparentTest, RejectsBadHeaders) {
  const char* bad[] = {
      "",
      "00",
      // version 00 has exactly 55 characters
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
      // version ff is invalid; versions are lowercase hex
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "AA-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      // upper case hex
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
      // all-zero ids
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      // wrong separators and field lengths
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
      "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-701",
      // non-hex characters
      "00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z",
      "00- bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      // a future version shorter than 55 characters
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
  };
  for (const char* header : bad) {
    EXPECT_FALSE(ParseTraceparent(header).has_value()) << "'" << header << "'";
  }
  // Embedded NUL.
  std::string with_nul(kValid);
  with_nul[10] = '\0';
  EXPECT_FALSE(ParseTraceparent(with_nul).has_value());
}

}  // namespace
}  // namespace traversion
