#include "traversion/trace_context.h"

#include <cstring>

namespace traversion {
namespace {

// Lowercase hex only: the specification forbids upper case.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <size_t N>
bool ParseHexBytes(absl::string_view text, std::array<uint8_t, N>* out) {
  if (text.size() != 2 * N) return false;
  for (size_t i = 0; i < N; ++i) {
    const int hi = HexValue(text[2 * i]);
    const int lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& bytes) {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

void PutHex(const uint8_t* bytes, size_t n, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

}  // namespace

bool SpanContext::valid() const {
  return !AllZero(trace_id) && !AllZero(span_id);
}

std::optional<SpanContext> ParseTraceparent(absl::string_view header) {
  while (!header.empty() && IsOws(header.front())) header.remove_prefix(1);
  while (!header.empty() && IsOws(header.back())) header.remove_suffix(1);
  if (header.size() < kTraceparentLength) return std::nullopt;

  std::array<uint8_t, 1> version{};
  if (!ParseHexBytes(header.substr(0, 2), &version)) return std::nullopt;
  if (version[0] == 0xff) return std::nullopt;
  if (version[0] == 0x00) {
    if (header.size() != kTraceparentLength) return std::nullopt;
  } else if (header.size() > kTraceparentLength &&
             header[kTraceparentLength] != '-') {
    return std::nullopt;
  }
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') {
    return std::nullopt;
  }
  SpanContext context;
  std::array<uint8_t, 1> flags{};
  if (!ParseHexBytes(header.substr(3, 32), &context.trace_id) ||
      !ParseHexBytes(header.substr(36, 16), &context.span_id) ||
      !ParseHexBytes(header.substr(53, 2), &flags)) {
    return std::nullopt;
  }
  if (!context.valid()) return std::nullopt;
  context.trace_flags =
      version[0] == 0x00 ? flags[0]
                         : static_cast<uint8_t>(flags[0] & kTraceFlagSampled);
  return context;
}

absl::string_view FormatTraceparent(const SpanContext& context,
                                    char (&out)[kTraceparentLength]) {
  out[0] = '0';
  out[1] = '0';
  out[2] = '-';
  PutHex(context.trace_id.data(), context.trace_id.size(), out + 3);
  out[35] = '-';
  PutHex(context.span_id.data(), context.span_id.size(), out + 36);
  out[52] = '-';
  const uint8_t flags =
      context.trace_flags & (kTraceFlagSampled | kTraceFlagRandom);
  PutHex(&flags, 1, out + 53);
  return absl::string_view(out, kTraceparentLength);
}

std::string FormatTraceparent(const SpanContext& context) {
  char buffer[kTraceparentLength];
  return std::string(FormatTraceparent(context, buffer));
}

}  // namespace traversion
