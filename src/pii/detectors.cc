#include "pii/detectors.h"

#include <array>
#include <cstring>
#include <string>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace traversion::pii_internal {
namespace {

// Character classes, one table lookup per byte.
enum Class : uint8_t {
  kDigit = 1 << 0,
  kAlpha = 1 << 1,
  kUpper = 1 << 2,
  kEmailLocal = 1 << 3,   // a-z A-Z 0-9 . _ % + -
  kEmailDomain = 1 << 4,  // a-z A-Z 0-9 . -
  kB64Url = 1 << 5,       // a-z A-Z 0-9 _ -
  kKeyName = 1 << 6,      // a-z A-Z 0-9 _ . -
};

constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    const bool digit = c >= '0' && c <= '9';
    const bool upper = c >= 'A' && c <= 'Z';
    const bool lower = c >= 'a' && c <= 'z';
    if (digit) v |= kDigit;
    if (upper || lower) v |= kAlpha;
    if (upper) v |= kUpper;
    if (digit || upper || lower) {
      v |= kEmailLocal | kEmailDomain | kB64Url | kKeyName;
    }
    if (c == '.' || c == '_' || c == '%' || c == '+' || c == '-') {
      v |= kEmailLocal;
    }
    if (c == '.' || c == '-') v |= kEmailDomain;
    if (c == '_' || c == '-') v |= kB64Url;
    if (c == '_' || c == '.' || c == '-') v |= kKeyName;
    t[c] = v;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kClasses = MakeClasses();

inline bool Is(char c, uint8_t cls) {
  return (kClasses[static_cast<uint8_t>(c)] & cls) != 0;
}
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsAlnum(char c) { return Is(c, kDigit | kAlpha); }
// A character that continues an identifier: a match must not start or end
// next to one (so "a4111..." or "xAKIA..." are not keys or cards).
inline bool IsWordChar(char c) { return IsAlnum(c) || c == '_'; }

// ASCII case-insensitive comparisons with a lowercase word, inline (the
// absl ones are calls into the shared library).
inline char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}
inline bool EqualsLower(absl::string_view s, absl::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (AsciiLower(s[i]) != lower[i]) return false;
  }
  return true;
}
inline bool StartsWithLower(absl::string_view s, absl::string_view lower) {
  return s.size() >= lower.size() &&
         EqualsLower(s.substr(0, lower.size()), lower);
}
inline bool EndsWithLower(absl::string_view s, absl::string_view lower) {
  return s.size() >= lower.size() &&
         EqualsLower(s.substr(s.size() - lower.size()), lower);
}

size_t SkipClass(absl::string_view text, size_t i, uint8_t cls) {
  while (i < text.size() && Is(text[i], cls)) ++i;
  return i;
}

// --- e-mail ----------------------------------------------------------------

// Top-level "domains" that are really file extensions: "icon@2x.png".
bool IsFileExtension(absl::string_view tld) {
  if (tld.size() < 2 || tld.size() > 4) return false;  // none is longer
  static constexpr absl::string_view kExtensions[] = {
      "png", "jpg", "jpeg", "gif", "svg", "webp",
      "bmp", "ico", "js",   "css", "map", "json"};
  for (absl::string_view e : kExtensions) {
    if (EqualsLower(tld, e)) return true;
  }
  return false;
}

// The domain after '@' if it is one: labels of [A-Za-z0-9-] joined by single
// dots, at least two labels, the last of >= 2 letters. Returns its length, 0
// if not a domain.
size_t DomainLength(absl::string_view text, size_t begin) {
  size_t end = SkipClass(text, begin, kEmailDomain);
  while (end > begin && (text[end - 1] == '.' || text[end - 1] == '-')) --end;
  absl::string_view domain = text.substr(begin, end - begin);
  const size_t last_dot = domain.rfind('.');
  if (last_dot == absl::string_view::npos || last_dot == 0) return 0;
  if (domain.front() == '-') return 0;
  for (size_t i = 1; i < domain.size(); ++i) {
    if (domain[i] == '.' && domain[i - 1] == '.') return 0;
  }
  absl::string_view tld = domain.substr(last_dot + 1);
  if (tld.size() < 2) return 0;
  for (char c : tld) {
    if (!Is(c, kAlpha)) return 0;
  }
  if (IsFileExtension(tld)) return 0;
  return domain.size();
}

// "scheme://user:password@": the ':' at `colon` separates user and password.
bool IsUrlUserInfo(absl::string_view text, size_t colon) {
  size_t i = colon;
  while (i > 0 && Is(text[i - 1], kEmailLocal)) --i;
  return i >= 3 && text[i - 1] == '/' && text[i - 2] == '/' &&
         text[i - 3] == ':';
}

// --- cards -----------------------------------------------------------------

// Card-network prefixes (IIN ranges) and the lengths each network issues.
// Numbers starting 0, 1, 7, 8 or 9 are never cards here: that keeps every
// Unix timestamp in ms, us or ns of this century out.
bool PlausibleCard(absl::string_view d) {
  const size_t n = d.size();
  if (n < 13 || n > 19) return false;
  const int d0 = d[0] - '0';
  const int d1 = d[1] - '0';
  switch (d0) {
    case 4:  // Visa
      return n == 13 || n == 16 || n == 19;
    case 5:  // Mastercard 51-55; Maestro 50, 56-59
      return (d1 >= 1 && d1 <= 5) ? n == 16 : n >= 13;
    case 2: {  // Mastercard 2221-2720
      const int p4 =
          (d0 * 1000) + (d1 * 100) + ((d[2] - '0') * 10) + (d[3] - '0');
      return p4 >= 2221 && p4 <= 2720 && n == 16;
    }
    case 3:
      if (d1 == 4 || d1 == 7) return n == 15;          // Amex
      if (d1 == 0 || d1 == 6 || d1 == 8 || d1 == 9) {  // Diners
        return n >= 14;
      }
      return d1 == 5 && n >= 16;  // JCB
    case 6:                       // Discover, UnionPay, Maestro
      return true;
    default:
      return false;
  }
}

struct Group {
  size_t begin;
  size_t len;
};

// Tries the digits of groups[first..last] (with their separators in the
// text) as one card number.
bool CardFromGroups(absl::string_view text, const Group* groups, size_t first,
                    size_t last) {
  char digits[20];
  size_t n = 0;
  for (size_t g = first; g <= last; ++g) {
    if (n + groups[g].len > 19) return false;
    std::memcpy(digits + n, text.data() + groups[g].begin, groups[g].len);
    n += groups[g].len;
  }
  absl::string_view d(digits, n);
  return PlausibleCard(d) && LuhnValid(d);
}

// One run of digit groups joined by one kind of separator; finds the cards
// in it. A card that is one group stands alone; a grouped card starts with a
// group of 4, continues with groups of 4 to 6 and ends with a group of 1 to 6.
void CardsInRun(absl::string_view text, const Group* groups, size_t count,
                Matches* out) {
  size_t s = 0;
  while (s < count) {
    if (groups[s].len >= 13 && groups[s].len <= 19) {
      if (CardFromGroups(text, groups, s, s)) {
        out->push_back(
            {groups[s].begin, groups[s].begin + groups[s].len, kTagCard});
      }
      ++s;
      continue;
    }
    size_t best = 0;  // last group of the longest card starting at s
    if (groups[s].len == 4) {
      size_t total = 4;
      for (size_t e = s + 1; e < count && total + groups[e].len <= 19; ++e) {
        if (groups[e].len > 6) break;  // no network prints longer groups
        total += groups[e].len;
        if (total >= 13 && CardFromGroups(text, groups, s, e)) best = e;
        if (groups[e].len < 4) break;  // only the last group may be short
      }
    }
    if (best != 0) {
      out->push_back(
          {groups[s].begin, groups[best].begin + groups[best].len, kTagCard});
      s = best + 1;
    } else {
      ++s;
    }
  }
}

// --- key-value forms ---------------------------------------------------------

bool IsAuthorizationKey(absl::string_view key) {
  return EndsWithLower(key, "authorization");
}
bool IsCookieKey(absl::string_view key) { return EndsWithLower(key, "cookie"); }

bool IsPlaceholderValue(absl::string_view v) {
  static constexpr absl::string_view kWords[] = {"null",  "none",      "true",
                                                 "false", "undefined", "nil"};
  for (absl::string_view w : kWords) {
    if (EqualsLower(v, w)) return true;
  }
  for (char c : v) {
    if (c != '*' && c != 'x' && c != 'X') return false;
  }
  return true;  // "***", "xxxx": already redacted
}

// Where an unquoted value ends.
inline bool EndsValue(char c, bool to_line_end) {
  if (to_line_end) return c == '\n' || c == '\r' || c == '"' || c == '\'';
  switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\r':
    case '&':
    case ',':
    case ';':
    case '"':
    case '\'':
    case ')':
    case ']':
    case '}':
    case '<':
    case '>':
      return true;
    default:
      return false;
  }
}

// A token of a credential: base64, base64url, hex, with '.', '~' and trailing
// '=' padding.
inline bool IsCredentialChar(char c) {
  return IsAlnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
         c == '+' || c == '/';
}
size_t CredentialEnd(absl::string_view text, size_t i) {
  while (i < text.size() && IsCredentialChar(text[i])) ++i;
  while (i < text.size() && text[i] == '=') ++i;
  return i;
}

}  // namespace

absl::string_view BuiltinTagName(uint16_t tag) {
  switch (tag) {
    case kTagEmail:
      return "email";
    case kTagCard:
      return "card";
    case kTagBearer:
      return "bearer";
    case kTagAuth:
      return "auth";
    case kTagApiKey:
      return "api_key";
    case kTagJwt:
      return "jwt";
    default:
      return "secret";
  }
}

bool KeyPairFilter::Add(char a, char b) {
  for (int i = 0; i < count; ++i) {
    if (first[i] == a && second[i] == b) return true;
  }
  if (count < 0 || count >= kMaxPairs) return false;
  first[count] = a;
  second[count] = b;
  if (count < 8) {  // the nibble tables: a class bit per pair
    const auto bit = static_cast<uint8_t>(1u << count);
    for (int pos = 0; pos < 2; ++pos) {
      const char c = pos == 0 ? a : b;
      char set[3] = {c, c, c};
      if (c == '_') {
        set[1] = '-';
      } else if (c >= 'a' && c <= 'z') {
        set[1] = static_cast<char>(c - 'a' + 'A');
      }
      for (char x : set) {
        const auto u = static_cast<uint8_t>(x);
        nibble_lo[pos][u & 15] |= bit;
        nibble_hi[pos][u >> 4] |= bit;
      }
    }
  }
  ++count;
  // '_' stands for '_' and '-', folded 0x7f and '-'.
  const char as[2] = {a == '_' ? '\x7f' : a, a == '_' ? '-' : a};
  const char bs[2] = {b == '_' ? '\x7f' : b, b == '_' ? '-' : b};
  for (int i = 0; i < (a == '_' ? 2 : 1); ++i) {
    for (int j = 0; j < (b == '_' ? 2 : 1); ++j) {
      const auto pat = static_cast<uint16_t>(
          static_cast<uint8_t>(as[i]) | (static_cast<uint8_t>(bs[j]) << 8));
      for (uint16_t& lane : pattern_wide[patterns]) lane = pat;
      pattern[patterns++] = pat;
    }
  }
  return true;
}

namespace {

// A pair character against a text byte: letters in either case, '_' for
// '_' or '-', anything else itself.
inline bool PairCharIs(char pair_char, char c) {
  const char f = static_cast<char>(c | 0x20);
  if (pair_char == '_') return f == '\x7f' || f == '-';
  return f == pair_char;
}

inline bool IsCardSep(char c) { return c == ' ' || c == '-'; }

}  // namespace

bool KeyPairFilter::MayMatchScalar(absl::string_view key) const {
  if (!usable) return true;
  for (size_t i = 0; i + 1 < key.size(); ++i) {
    for (int k = 0; k < count; ++k) {
      if (PairCharIs(first[k], key[i]) && PairCharIs(second[k], key[i + 1])) {
        return true;
      }
    }
  }
  return false;
}

uint32_t ScanHintsScalar(absl::string_view text) {
  uint32_t hints = 0;
  const size_t n = text.size();
  auto at = [&](size_t i) { return i < n ? text[i] : '\0'; };
  size_t run = 0;        // digits in a row so far
  size_t last_good = 0;  // 1 + position of the last good sep
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    const char c1 = at(i + 1);
    if (c == '@') hints |= kHintAt;
    if (c == '=' || c == ':') hints |= kHintKeyValue;
    if ((c | 0x20) == 'b' && (c1 | 0x20) == 'e' && (at(i + 2) | 0x20) == 'a') {
      hints |= kHintB;
    }
    if ((c == 'k' && c1 == '_') || (c == 'I' && (c1 == 'A' || c1 == 'z')) ||
        (c == 'g' && (c1 == 'h' || c1 == 'l')) || (c == 'x' && c1 == 'o') ||
        (c == 'n' && c1 == 'p')) {
      hints |= kHintKeyPrefix;
    }
    if (c == 'y' && c1 == 'J') hints |= kHintJ;
    if (IsCardSep(c) && run >= 4 && IsDigit(c1)) {
      if (last_good != 0 && i + 1 - last_good >= 5 && i + 1 - last_good <= 7) {
        hints |= kHintCardRun;
      }
      last_good = i + 1;
    }
    run = IsDigit(c) ? run + 1 : 0;
    if (run >= 13) hints |= kHintCardRun;
  }
  return hints;
}

#if defined(__SSE2__)

// The vector passes. A block is 16 (or, with AVX2, 32) positions of the
// text: b0 holds the bytes at the positions, b1 and b2 the bytes one and two
// further on (zero past the end of the text). Blocks are read straight from
// the text, never from a copy: a text whose length is not a multiple of 16
// ends with a block that overlaps the one before it (harmless for the "any
// lane" tests; the card window takes only its new positions), and a text
// shorter than 16 bytes is assembled in a register from overlapping scalar
// loads. (A padded copy would cost a failed store-to-load forward per string,
// which on short strings is most of the time.)

namespace {

inline __m128i Load16(const char* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

template <typename T>
inline T LoadScalar(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// The n < 16 bytes at p in the low lanes, zeros above; reads only p[0..n).
inline __m128i LoadShort(const char* p, size_t n) {
  uint64_t lo = 0;
  uint64_t hi = 0;
  if (n >= 8) {
    lo = LoadScalar<uint64_t>(p);
    if (n > 8) hi = LoadScalar<uint64_t>(p + n - 8) >> (8 * (16 - n));
  } else if (n >= 4) {
    lo = LoadScalar<uint32_t>(p) |
         (static_cast<uint64_t>(LoadScalar<uint32_t>(p + n - 4))
          << (8 * (n - 4)));
  } else if (n > 0) {
    lo = static_cast<uint8_t>(p[0]) |
         (static_cast<uint64_t>(static_cast<uint8_t>(p[n / 2]))
          << (8 * (n / 2))) |
         (static_cast<uint64_t>(static_cast<uint8_t>(p[n - 1]))
          << (8 * (n - 1)));
  }
  return _mm_set_epi64x(static_cast<int64_t>(hi), static_cast<int64_t>(lo));
}

// The three vectors of the 16-position block at s (s + 16 <= n, or s == 0
// for a shorter text).
struct Block16 {
  __m128i b0, b1, b2;
};
inline Block16 LoadBlock16(const char* p, size_t n, size_t s) {
  Block16 b;
  if (n < 16) {
    b.b0 = LoadShort(p, n);
    b.b1 = _mm_srli_si128(b.b0, 1);
    b.b2 = _mm_srli_si128(b.b0, 2);
    return b;
  }
  b.b0 = Load16(p + s);
  b.b1 = s + 17 <= n ? Load16(p + s + 1) : _mm_srli_si128(b.b0, 1);
  b.b2 = s + 18 <= n ? Load16(p + s + 2) : _mm_srli_si128(b.b1, 1);
  return b;
}

inline __m128i Eq(__m128i v, char c) {
  return _mm_cmpeq_epi8(v, _mm_set1_epi8(c));
}

// Lane masks of the sequences the hints look for; OR-ed over the blocks.
struct Lanes16 {
  __m128i at = _mm_setzero_si128();
  __m128i kv = _mm_setzero_si128();
  __m128i bearer = _mm_setzero_si128();
  __m128i prefix = _mm_setzero_si128();
  __m128i jwt = _mm_setzero_si128();
};

// Classifies one block into `acc`; returns the digit and separator bits.
inline void Classify16(const Block16& b, Lanes16* acc, uint32_t* digits,
                       uint32_t* seps) {
  acc->at = _mm_or_si128(acc->at, Eq(b.b0, '@'));
  acc->kv = _mm_or_si128(acc->kv, _mm_or_si128(Eq(b.b0, '='), Eq(b.b0, ':')));
  const __m128i lower = _mm_set1_epi8(0x20);
  acc->bearer = _mm_or_si128(
      acc->bearer,
      _mm_and_si128(_mm_and_si128(Eq(_mm_or_si128(b.b0, lower), 'b'),
                                  Eq(_mm_or_si128(b.b1, lower), 'e')),
                    Eq(_mm_or_si128(b.b2, lower), 'a')));
  // k_ | I[Az] | g[hl] | xo | np
  __m128i pre = _mm_and_si128(Eq(b.b0, 'k'), Eq(b.b1, '_'));
  pre = _mm_or_si128(
      pre,
      _mm_and_si128(Eq(b.b0, 'I'), _mm_or_si128(Eq(b.b1, 'A'), Eq(b.b1, 'z'))));
  pre = _mm_or_si128(
      pre,
      _mm_and_si128(Eq(b.b0, 'g'), _mm_or_si128(Eq(b.b1, 'h'), Eq(b.b1, 'l'))));
  pre = _mm_or_si128(pre, _mm_and_si128(Eq(b.b0, 'x'), Eq(b.b1, 'o')));
  pre = _mm_or_si128(pre, _mm_and_si128(Eq(b.b0, 'n'), Eq(b.b1, 'p')));
  acc->prefix = _mm_or_si128(acc->prefix, pre);
  acc->jwt =
      _mm_or_si128(acc->jwt, _mm_and_si128(Eq(b.b0, 'y'), Eq(b.b1, 'J')));
  // Digits: (b - '0') as unsigned is below 10.
  const __m128i x = _mm_sub_epi8(b.b0, _mm_set1_epi8('0'));
  *digits = static_cast<uint32_t>(
      _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(9)), x)));
  *seps = static_cast<uint32_t>(
      _mm_movemask_epi8(_mm_or_si128(Eq(b.b0, ' '), Eq(b.b0, '-'))));
}

// The card condition over a window of the last 64 positions (bit 63: the
// newest).
inline bool CardInWindow(uint64_t d, uint64_t s) {
  uint64_t r = d & (d >> 1);
  r &= r >> 2;
  r &= r >> 4;
  r &= r >> 5;  // bit i: 13 digits from i on
  if (r != 0) return true;
  const uint64_t d4 = d & (d << 1) & (d << 2) & (d << 3);  // 4 digits to i
  const uint64_t good = s & (d4 << 1) & (d >> 1);
  return (good & ((good << 5) | (good << 6) | (good << 7))) != 0;
}

// The digit and separator bits of the last 64 positions.
struct CardWindow {
  uint64_t digits = 0;
  uint64_t seps = 0;
  size_t fresh = 0;          // positions pushed since the last test
  bool fresh_digit = false;  // a digit among them
  bool found = false;
  // Appends the top `k` of 16 positions (1 <= k <= 16).
  void Push16(uint32_t dm, uint32_t sm, size_t k) {
    dm >>= 16 - k;
    sm >>= 16 - k;
    digits = (digits >> k) | (static_cast<uint64_t>(dm) << (64 - k));
    seps = (seps >> k) | (static_cast<uint64_t>(sm) << (64 - k));
    fresh += k;
    fresh_digit |= dm != 0;
    if (fresh >= 32) Test();
  }
  // Appends the top `k` of 32 positions (1 <= k <= 32).
  void Push32(uint32_t dm, uint32_t sm, size_t k) {
    const uint64_t d = dm >> (32 - k);
    const uint64_t sp = sm >> (32 - k);
    digits = (digits >> k) | (d << (64 - k));
    seps = (seps >> k) | (sp << (64 - k));
    fresh += k;
    fresh_digit |= d != 0;
    if (fresh >= 32) Test();
  }
  // The condition ends on a digit and spans at most 13 positions, so one
  // ending among the fewer than 48 fresh positions lies inside the window.
  void Test() {
    if (fresh_digit && !found) found = CardInWindow(digits, seps);
    fresh = 0;
    fresh_digit = false;
  }
  bool Found() {
    Test();
    return found;
  }
};

inline bool Any(__m128i v) { return _mm_movemask_epi8(v) != 0; }

inline uint32_t HintsFromLanes(const Lanes16& acc, bool card) {
  uint32_t hints = 0;
  if (Any(acc.at)) hints |= kHintAt;
  if (Any(acc.kv)) hints |= kHintKeyValue;
  if (Any(acc.bearer)) hints |= kHintB;
  if (Any(acc.prefix)) hints |= kHintKeyPrefix;
  if (Any(acc.jwt)) hints |= kHintJ;
  if (card) hints |= kHintCardRun;
  return hints;
}

// The 16-position blocks from `s` on.
inline void Scan16From(const char* p, size_t n, size_t s, Lanes16* acc,
                       CardWindow* card) {
  uint32_t dm, sm;
  if (n < 16) {
    if (n == 0) return;
    Classify16(LoadBlock16(p, n, 0), acc, &dm, &sm);
    card->Push16(dm, sm, 16);  // the lanes past the end are zeros
    return;
  }
  for (; s + 16 <= n; s += 16) {
    Classify16(LoadBlock16(p, n, s), acc, &dm, &sm);
    card->Push16(dm, sm, 16);
  }
  if (s < n) {  // the last n - s positions, in the block ending at n
    Classify16(LoadBlock16(p, n, n - 16), acc, &dm, &sm);
    card->Push16(dm, sm, n - s);
  }
}

// Lanes where a pattern of `keys` starts, from the folded (|0x20) block g0
// and the folded block one byte on, g1: as 16-bit lanes g0 holds the pairs
// at even offsets, g1 those at odd ones.
inline __m128i PairLanes(__m128i g0, __m128i g1, const KeyPairFilter& keys) {
  __m128i m = _mm_setzero_si128();
  for (int k = 0; k < keys.patterns; ++k) {
    const __m128i pat =
        _mm_load_si128(reinterpret_cast<const __m128i*>(keys.pattern_wide[k]));
    m = _mm_or_si128(
        m, _mm_or_si128(_mm_cmpeq_epi16(g0, pat), _mm_cmpeq_epi16(g1, pat)));
  }
  return m;
}

}  // namespace

uint32_t ScanHintsSse2(absl::string_view text) {
  Lanes16 acc;
  CardWindow card;
  Scan16From(text.data(), text.size(), 0, &acc, &card);
  return HintsFromLanes(acc, card.Found());
}

bool KeyPairFilter::MayMatchSse2(absl::string_view key) const {
  if (!usable) return true;
  const char* p = key.data();
  const size_t n = key.size();
  if (n < 2) return false;
  const __m128i lower = _mm_set1_epi8(0x20);
  auto block = [&](size_t s) {
    const Block16 b = LoadBlock16(p, n, s);
    return Any(
        PairLanes(_mm_or_si128(b.b0, lower), _mm_or_si128(b.b1, lower), *this));
  };
  if (n < 16) return block(0);
  size_t s = 0;
  for (; s + 16 <= n; s += 16) {
    if (block(s)) return true;
  }
  return s < n && block(n - 16);
}

// --- AVX2: byte classes by nibble lookups ------------------------------------
//
// pshufb looks a byte's low and high nibbles up in two 16-entry tables; the
// AND of the two entries is a set of 8 class bits (a class is then the
// product of a set of low and a set of high nibbles: for the sets here exact
// or a small superset). Classes of a byte and of the byte after it are
// AND-ed, so one bit can stand for a pair of bytes.

// Compiled for AVX2 (which implies SSSE3, and gives the 16-byte code the
// three-operand VEX forms); used when the CPU has it.
#define TRAVERSION_AVX2 __attribute__((target("avx2")))

namespace {

struct NibbleTables {
  uint8_t lo[2][16];
  uint8_t hi[2][16];
};

// Class bits of the text pass. A bit is set for a pair (b0, b1) when b0 is
// in its first set and b1 in its second; an empty second set matches any
// byte.
enum TextClass : uint8_t {
  kClassAt = 1 << 0,      // '@'
  kClassKv = 1 << 1,      // '=' ':'
  kClassBe = 1 << 2,      // "be" in any case (the detector looks further)
  kClassKUnder = 1 << 3,  // "k_"
  kClassIOrY = 1 << 4,    // "IA" "Iz" (AWS, Google) and "yJ" (JWT)
  kClassG = 1 << 5,       // "gh" "gl"
  kClassXo = 1 << 6,      // "xo"
  kClassNp = 1 << 7,      // "np"
};

constexpr void AddToClass(NibbleTables* t, int pos, uint8_t bit,
                          const char* set) {
  if (*set == '\0') {  // any byte
    for (int i = 0; i < 16; ++i) {
      t->lo[pos][i] |= bit;
      t->hi[pos][i] |= bit;
    }
    return;
  }
  for (; *set != '\0'; ++set) {
    const auto c = static_cast<uint8_t>(*set);
    t->lo[pos][c & 15] |= bit;
    t->hi[pos][c >> 4] |= bit;
  }
}

constexpr NibbleTables MakeTextTables() {
  NibbleTables t{};
  struct Spec {
    uint8_t bit;
    const char* first;
    const char* second;
  };
  constexpr Spec kSpecs[] = {
      {kClassAt, "@", ""},       {kClassKv, "=:", ""},
      {kClassBe, "bB", "eE"},    {kClassKUnder, "k", "_"},
      {kClassIOrY, "Iy", "AzJ"}, {kClassG, "g", "hl"},
      {kClassXo, "x", "o"},      {kClassNp, "n", "p"},
  };
  for (const Spec& s : kSpecs) {
    AddToClass(&t, 0, s.bit, s.first);
    AddToClass(&t, 1, s.bit, s.second);
  }
  return t;
}
alignas(16) constexpr NibbleTables kTextTables = MakeTextTables();

constexpr std::array<uint8_t, 256> MakeHintsOfClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint32_t h = 0;
    if (c & kClassAt) h |= kHintAt;
    if (c & kClassKv) h |= kHintKeyValue;
    if (c & kClassBe) h |= kHintB;
    if (c & (kClassKUnder | kClassIOrY | kClassG | kClassXo | kClassNp)) {
      h |= kHintKeyPrefix;
    }
    if (c & kClassIOrY) h |= kHintJ;
    t[c] = static_cast<uint8_t>(h);
  }
  return t;
}
constexpr std::array<uint8_t, 256> kHintsOfClasses = MakeHintsOfClasses();

TRAVERSION_AVX2 inline __m128i Classes(__m128i b, const uint8_t* lo,
                                       const uint8_t* hi) {
  const __m128i low_nibbles = _mm_set1_epi8(0x0f);
  const __m128i l = _mm_and_si128(b, low_nibbles);
  const __m128i h = _mm_and_si128(_mm_srli_epi16(b, 4), low_nibbles);
  return _mm_and_si128(
      _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lo)),
                       l),
      _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(hi)),
                       h));
}

TRAVERSION_AVX2 inline __m128i PairClasses(const Block16& b,
                                           const uint8_t (*lo)[16],
                                           const uint8_t (*hi)[16]) {
  return _mm_and_si128(Classes(b.b0, lo[0], hi[0]),
                       Classes(b.b1, lo[1], hi[1]));
}

// The OR of the 16 bytes of v.
TRAVERSION_AVX2 inline uint32_t OrBytes(__m128i v) {
  v = _mm_or_si128(v, _mm_srli_si128(v, 8));
  v = _mm_or_si128(v, _mm_srli_si128(v, 4));
  v = _mm_or_si128(v, _mm_srli_si128(v, 2));
  v = _mm_or_si128(v, _mm_srli_si128(v, 1));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(v)) & 0xff;
}

TRAVERSION_AVX2 inline void Step16(const Block16& b, __m128i* acc,
                                   CardWindow* card, size_t k) {
  *acc = _mm_or_si128(*acc, PairClasses(b, kTextTables.lo, kTextTables.hi));
  const __m128i x = _mm_sub_epi8(b.b0, _mm_set1_epi8('0'));
  const auto dm = static_cast<uint32_t>(
      _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(9)), x)));
  const auto sm = static_cast<uint32_t>(
      _mm_movemask_epi8(_mm_or_si128(Eq(b.b0, ' '), Eq(b.b0, '-'))));
  card->Push16(dm, sm, k);
}

TRAVERSION_AVX2 inline __m256i Classes32(__m256i b, __m256i lo, __m256i hi) {
  const __m256i low_nibbles = _mm256_set1_epi8(0x0f);
  const __m256i l = _mm256_and_si256(b, low_nibbles);
  const __m256i h = _mm256_and_si256(_mm256_srli_epi16(b, 4), low_nibbles);
  return _mm256_and_si256(_mm256_shuffle_epi8(lo, l),
                          _mm256_shuffle_epi8(hi, h));
}

TRAVERSION_AVX2 inline __m256i Table32(const uint8_t* t) {
  return _mm256_broadcastsi128_si256(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(t)));
}

TRAVERSION_AVX2 uint32_t ScanHintsAvx2Impl(absl::string_view text) {
  const char* p = text.data();
  const size_t n = text.size();
  __m128i acc = _mm_setzero_si128();
  CardWindow card;
  if (n < 16) {
    if (n > 0) Step16(LoadBlock16(p, n, 0), &acc, &card, 16);
    return kHintsOfClasses[OrBytes(acc)] |
           (card.Found() ? uint32_t{kHintCardRun} : 0);
  }
  size_t s = 0;
  if (n >= 32) {  // 32 positions at a time
    const __m256i lo0 = Table32(kTextTables.lo[0]);
    const __m256i hi0 = Table32(kTextTables.hi[0]);
    const __m256i lo1 = Table32(kTextTables.lo[1]);
    const __m256i hi1 = Table32(kTextTables.hi[1]);
    __m256i acc32 = _mm256_setzero_si256();
    for (; s + 33 <= n; s += 32) {
      const __m256i b0 =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + s));
      const __m256i b1 =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + s + 1));
      acc32 = _mm256_or_si256(acc32, _mm256_and_si256(Classes32(b0, lo0, hi0),
                                                      Classes32(b1, lo1, hi1)));
      const __m256i x = _mm256_sub_epi8(b0, _mm256_set1_epi8('0'));
      const auto dm = static_cast<uint32_t>(_mm256_movemask_epi8(
          _mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_set1_epi8(9)), x)));
      const auto sm = static_cast<uint32_t>(_mm256_movemask_epi8(
          _mm256_or_si256(_mm256_cmpeq_epi8(b0, _mm256_set1_epi8(' ')),
                          _mm256_cmpeq_epi8(b0, _mm256_set1_epi8('-')))));
      card.Push32(dm, sm, 32);
    }
    if (s < n) {
      // The last n - s positions, in the 32 ending at the end of the text;
      // the byte after each is the block shifted down by one (a zero past
      // the end).
      const __m256i b0 =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + n - 32));
      const __m256i b1 =
          _mm256_alignr_epi8(_mm256_permute2x128_si256(b0, b0, 0x81), b0, 1);
      acc32 = _mm256_or_si256(acc32, _mm256_and_si256(Classes32(b0, lo0, hi0),
                                                      Classes32(b1, lo1, hi1)));
      const __m256i x = _mm256_sub_epi8(b0, _mm256_set1_epi8('0'));
      const auto dm = static_cast<uint32_t>(_mm256_movemask_epi8(
          _mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_set1_epi8(9)), x)));
      const auto sm = static_cast<uint32_t>(_mm256_movemask_epi8(
          _mm256_or_si256(_mm256_cmpeq_epi8(b0, _mm256_set1_epi8(' ')),
                          _mm256_cmpeq_epi8(b0, _mm256_set1_epi8('-')))));
      card.Push32(dm, sm, n - s);
      s = n;
    }
    acc = _mm_or_si128(_mm256_castsi256_si128(acc32),
                       _mm256_extracti128_si256(acc32, 1));
  }
  for (; s + 16 <= n; s += 16) Step16(LoadBlock16(p, n, s), &acc, &card, 16);
  if (s < n) Step16(LoadBlock16(p, n, n - 16), &acc, &card, n - s);
  return kHintsOfClasses[OrBytes(acc)] |
         (card.Found() ? uint32_t{kHintCardRun} : 0);
}

TRAVERSION_AVX2 bool PairsAvx2Impl(const KeyPairFilter& f,
                                   absl::string_view key) {
  const char* p = key.data();
  const size_t n = key.size();
  auto any = [&f](const Block16& b) {
    return _mm_movemask_epi8(
               _mm_cmpeq_epi8(PairClasses(b, f.nibble_lo, f.nibble_hi),
                              _mm_setzero_si128())) != 0xffff;
  };
  if (n < 16) return any(LoadBlock16(p, n, 0));
  size_t s = 0;
  for (; s + 16 <= n; s += 16) {
    if (any(LoadBlock16(p, n, s))) return true;
  }
  return s < n && any(LoadBlock16(p, n, n - 16));
}

bool HaveAvx2() {
  static const bool have = __builtin_cpu_supports("avx2");
  return have;
}

}  // namespace

#undef TRAVERSION_AVX2

uint32_t ScanHintsAvx2(absl::string_view text) {
  return HaveAvx2() ? ScanHintsAvx2Impl(text) : ScanHintsSse2(text);
}

uint32_t ScanHints(absl::string_view text) { return ScanHintsAvx2(text); }

bool KeyPairFilter::MayMatchAvx2(absl::string_view key) const {
  if (!usable) return true;
  if (count > 8 || !HaveAvx2()) return MayMatchSse2(key);
  if (key.size() < 2) return false;
  return PairsAvx2Impl(*this, key);
}

bool KeyPairFilter::MayMatchAny(const KeyPairFilter& f, absl::string_view key) {
  return f.MayMatchAvx2(key);
}

namespace {

bool PairsNever(const KeyPairFilter& /*f*/, absl::string_view /*key*/) {
  return false;
}
bool PairsAlways(const KeyPairFilter& /*f*/, absl::string_view /*key*/) {
  return true;
}
bool PairsSse2(const KeyPairFilter& f, absl::string_view key) {
  return f.MayMatchSse2(key);
}
bool PairsAvx2(const KeyPairFilter& f, absl::string_view key) {
  return key.size() >= 2 && PairsAvx2Impl(f, key);
}

}  // namespace

void KeyPairFilter::Finish() {
  if (!usable) {
    impl = &PairsAlways;
  } else if (count == 0) {
    impl = &PairsNever;
  } else if (count <= 8 && HaveAvx2()) {
    impl = &PairsAvx2;
  } else {
    impl = &PairsSse2;
  }
}

ScanHintsFn BestScanHints() {
  return HaveAvx2() ? &ScanHintsAvx2Impl : &ScanHintsSse2;
}

#else  // !__SSE2__

uint32_t ScanHints(absl::string_view text) { return ScanHintsScalar(text); }

ScanHintsFn BestScanHints() { return &ScanHintsScalar; }

bool KeyPairFilter::MayMatchAny(const KeyPairFilter& f, absl::string_view key) {
  return f.MayMatchScalar(key);
}

void KeyPairFilter::Finish() {}

#endif  // __SSE2__

bool LuhnValid(absl::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool IsToken(absl::string_view t) {
  if (t.size() < 4 || t.front() != '<' || t.back() != '>') return false;
  const size_t colon = t.find(':');
  if (colon == absl::string_view::npos || colon < 2) return false;
  for (size_t i = 1; i < colon; ++i) {
    const char c = t[i];
    if (!(absl::ascii_islower(c) || IsDigit(c) || c == '_')) return false;
  }
  const size_t hex = t.size() - 1 - (colon + 1);
  if (hex < 8 || hex > 16) return false;
  for (size_t i = colon + 1; i + 1 < t.size(); ++i) {
    const char c = t[i];
    if (!(IsDigit(c) || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void FindEmails(absl::string_view text, Matches* out) {
  size_t from = 0;
  while (from < text.size()) {
    const void* hit = std::memchr(text.data() + from, '@', text.size() - from);
    if (hit == nullptr) return;
    const size_t at = static_cast<const char*>(hit) - text.data();
    from = at + 1;
    size_t local = at;
    while (local > 0 && Is(text[local - 1], kEmailLocal)) --local;
    while (local < at && text[local] == '.') ++local;
    if (local == at) continue;
    const size_t domain_len = DomainLength(text, at + 1);
    if (local > 0 && text[local - 1] == ':' && IsUrlUserInfo(text, local - 1)) {
      // scheme://user:password@host — the password is the secret. The host
      // may be a bare name or an IP address, so no domain check.
      out->push_back({local, at, kTagSecret});
      continue;
    }
    if (domain_len == 0) continue;
    out->push_back({local, at + 1 + domain_len, kTagEmail});
    from = at + 1 + domain_len;
  }
}

namespace {

// The position of the next ASCII digit at or after `from`; text.size() if
// none.
size_t NextDigit(absl::string_view text, size_t from) {
  const size_t n = text.size();
  size_t i = from;
#if defined(__SSE2__)
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_sub_epi8(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i)),
        _mm_set1_epi8('0'));
    const auto m = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(9)), x)));
    if (m != 0) return i + static_cast<size_t>(__builtin_ctz(m));
  }
#endif
  while (i < n && !IsDigit(text[i])) ++i;
  return i;
}

}  // namespace

void FindCards(absl::string_view text, Matches* out) {
  constexpr size_t kMaxGroups = 16;
  Group groups[kMaxGroups];
  size_t i = 0;
  const size_t n = text.size();
  while (true) {
    i = NextDigit(text, i);
    if (i >= n) break;
    const size_t run_begin = i;
    size_t count = 0;
    char sep = 0;
    size_t end = i;
    while (true) {
      const size_t g = i;
      while (i < n && IsDigit(text[i])) ++i;
      if (count < kMaxGroups) groups[count] = {g, i - g};
      ++count;
      end = i;
      if (i + 1 < n && (text[i] == ' ' || text[i] == '-') &&
          (sep == 0 || text[i] == sep) && IsDigit(text[i + 1])) {
        sep = text[i];
        ++i;
        continue;
      }
      break;
    }
    if (count > kMaxGroups) count = kMaxGroups;
    // Digits glued to a word or a decimal point belong to something else (a
    // hash, an id like "ORD-4111...", a float). With dashes the whole run is
    // then one identifier; with spaces only the glued group is.
    size_t first = 0;
    size_t last = count;  // one past
    if (run_begin > 0) {
      const char p = text[run_begin - 1];
      if (IsWordChar(p) || ((p == '.' || p == ',' || p == '-') &&
                            run_begin > 1 && IsWordChar(text[run_begin - 2]))) {
        first = 1;
      }
    }
    if (end < n) {
      const char c = text[end];
      if (IsWordChar(c) ||
          ((c == '.' || c == ',') && end + 1 < n && IsDigit(text[end + 1]))) {
        last = count - 1;
      }
    }
    const bool glued = first != 0 || last != count;
    if (!(glued && sep == '-') && first < last) {
      CardsInRun(text, groups + first, last - first, out);
    }
    i = end;
  }
}

void FindBearer(absl::string_view text, Matches* out) {
  // Substring search (memchr-driven) for the rare "earer" instead of a look
  // at every byte; "Bearer", "bearer" and "BEARER" are found.
  const size_t n = text.size();
  for (absl::string_view needle : {"earer", "EARER"}) {
    size_t from = 1;
    while (from < n) {
      const size_t j = text.find(needle, from);
      if (j == absl::string_view::npos) break;
      from = j + 5;
      const size_t i = j - 1;
      if ((text[i] | 0x20) != 'b' || (i > 0 && IsWordChar(text[i - 1]))) {
        continue;
      }
      size_t t = i + 6;
      if (t >= n || text[t] != ' ') continue;
      while (t < n && text[t] == ' ') ++t;
      const size_t end = CredentialEnd(text, t);
      if (end - t < 8 || (end < n && IsWordChar(text[end]))) continue;
      // Prose ("Bearer authentication") is letters only; tokens mix in
      // digits or punctuation, or are long.
      bool mixed = end - t >= 20;
      for (size_t k = t; k < end && !mixed; ++k) mixed = !Is(text[k], kAlpha);
      if (!mixed) continue;
      out->push_back({t, end, kTagBearer});
      from = end;
    }
  }
}

namespace {

// Prefix, the class its body is made of, the least (and, when not 0, the
// exact) body length.
struct KeyPrefix {
  absl::string_view prefix;
  uint8_t body;
  size_t min_body;
  size_t exact_body;
};
constexpr uint8_t kAlnumClass = kDigit | kAlpha;
constexpr uint8_t kUpperOrDigit = kUpper | kDigit;
constexpr KeyPrefix kKeyPrefixes[] = {
    {"sk_live_", kAlnumClass, 10, 0}, {"sk_test_", kAlnumClass, 10, 0},
    {"rk_live_", kAlnumClass, 10, 0}, {"rk_test_", kAlnumClass, 10, 0},
    {"AKIA", kUpperOrDigit, 16, 16},  {"ASIA", kUpperOrDigit, 16, 16},
    {"AIza", kB64Url, 35, 35},        {"ghp_", kAlnumClass, 30, 0},
    {"gho_", kAlnumClass, 30, 0},     {"ghu_", kAlnumClass, 30, 0},
    {"ghs_", kAlnumClass, 30, 0},     {"ghr_", kAlnumClass, 30, 0},
    {"github_pat_", kB64Url, 22, 0},  {"glpat-", kB64Url, 20, 0},
    {"xoxb-", kB64Url, 10, 0},        {"xoxa-", kB64Url, 10, 0},
    {"xoxp-", kB64Url, 10, 0},        {"xoxr-", kB64Url, 10, 0},
    {"xoxs-", kB64Url, 10, 0},        {"npm_", kAlnumClass, 36, 36},
};

// The end of the key starting at `i`, or 0 if none starts there.
size_t ApiKeyEnd(absl::string_view text, size_t i) {
  if (i > 0 && IsWordChar(text[i - 1])) return 0;
  const absl::string_view rest = text.substr(i);
  for (const KeyPrefix& p : kKeyPrefixes) {
    if (!absl::StartsWith(rest, p.prefix)) continue;
    const size_t body = i + p.prefix.size();
    const size_t end = SkipClass(text, body, p.body);
    const size_t len = end - body;
    if (len < p.min_body || (p.exact_body != 0 && len != p.exact_body)) {
      continue;
    }
    if (end < text.size() && IsWordChar(text[end])) continue;
    return end;
  }
  return 0;
}

}  // namespace

void FindApiKeys(absl::string_view text, Matches* out) {
  const size_t n = text.size();
  // AWS and Google keys by substring search; the others by their first '_'
  // or '-', which sits 2 to 6 bytes into the prefix.
  for (absl::string_view needle : {"AKIA", "ASIA", "AIza"}) {
    size_t from = 0;
    while (true) {
      const size_t i = text.find(needle, from);
      if (i == absl::string_view::npos) break;
      const size_t end = ApiKeyEnd(text, i);
      if (end != 0) out->push_back({i, end, kTagApiKey});
      from = end != 0 ? end : i + 1;
    }
  }
  size_t next = 0;  // no key starts inside one already found
  for (size_t p = 2; p < n; ++p) {
    if (text[p] != '_' && text[p] != '-') continue;
    for (size_t back = 2; back <= 6 && back <= p; ++back) {
      const size_t i = p - back;
      if (i < next) break;
      const char c = text[i];
      if (c != 's' && c != 'r' && c != 'g' && c != 'x' && c != 'n') continue;
      const size_t end = ApiKeyEnd(text, i);
      if (end == 0) continue;
      out->push_back({i, end, kTagApiKey});
      next = end;
      p = end;
      break;
    }
  }
}

void FindJwts(absl::string_view text, Matches* out) {
  size_t from = 0;
  while (true) {
    const size_t i = text.find("eyJ", from);
    if (i == absl::string_view::npos) return;
    from = i + 3;
    if (i > 0 && Is(text[i - 1], kB64Url)) continue;
    const size_t h = SkipClass(text, i, kB64Url);
    if (h - i < 10 || h >= text.size() || text[h] != '.') continue;
    const size_t p = SkipClass(text, h + 1, kB64Url);
    if (p - (h + 1) < 2 || p >= text.size() || text[p] != '.') continue;
    const size_t s = SkipClass(text, p + 1, kB64Url);
    out->push_back({i, s, kTagJwt});
    from = s;
  }
}

namespace {

// Whether `s` contains the lowercase `word` in any case.
bool ContainsIgnoreCase(absl::string_view s, absl::string_view word) {
  for (size_t i = 0; i + word.size() <= s.size(); ++i) {
    if (AsciiLower(s[i]) == word[0] &&
        EqualsLower(s.substr(i, word.size()), word)) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::string_view SecretPart(absl::string_view key, absl::string_view value,
                             uint16_t* tag) {
  if (!IsAuthorizationKey(key)) {
    *tag = ContainsIgnoreCase(key, "api") && ContainsIgnoreCase(key, "key")
               ? kTagApiKey
               : kTagSecret;
    return value;
  }
  *tag = kTagAuth;
  // "Scheme credentials": keep the scheme word readable.
  size_t s = 0;
  while (s < value.size() && (IsAlnum(value[s]) || value[s] == '-')) ++s;
  if (s == 0 || s >= value.size() || value[s] != ' ') return value;
  size_t c = s;
  while (c < value.size() && value[c] == ' ') ++c;
  if (c == value.size()) return value;
  if (EqualsLower(value.substr(0, s), "bearer")) *tag = kTagBearer;
  return value.substr(c);
}

namespace {

// The position of the next '=' or ':' at or after `from`; text.size() if
// none.
size_t NextKeyValueOp(absl::string_view text, size_t from) {
  const size_t n = text.size();
  size_t i = from;
#if defined(__SSE2__)
  for (; i + 16 <= n; i += 16) {
    const __m128i b =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
    const unsigned m = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(b, _mm_set1_epi8('=')),
                                       _mm_cmpeq_epi8(b, _mm_set1_epi8(':')))));
    if (m != 0) return i + static_cast<size_t>(__builtin_ctz(m));
  }
#endif
  for (; i < n; ++i) {
    if (text[i] == '=' || text[i] == ':') return i;
  }
  return n;
}

}  // namespace

void FindKeyValues(absl::string_view text,
                   absl::FunctionRef<bool(absl::string_view)> is_sensitive,
                   Matches* out) {
  const size_t n = text.size();
  for (size_t p = NextKeyValueOp(text, 0); p < n;
       p = NextKeyValueOp(text, p + 1)) {
    const char op = text[p];
    if (op == ':' && p + 2 < n && text[p + 1] == '/' && text[p + 2] == '/') {
      continue;  // "scheme://"
    }
    // The key: [A-Za-z0-9_.-]+, maybe quoted.
    size_t k_end = p;
    while (k_end > 0 && text[k_end - 1] == ' ') --k_end;
    if (k_end > 0 && (text[k_end - 1] == '"' || text[k_end - 1] == '\'')) {
      --k_end;
    }
    size_t k = k_end;
    while (k > 0 && Is(text[k - 1], kKeyName)) --k;
    if (k == k_end) continue;
    if (k > 0 && text[k - 1] == '<') continue;  // one of our tokens
    bool has_letter = false;                    // "15:47:23" has no key
    for (size_t j = k; j < k_end && !has_letter; ++j) {
      has_letter = Is(text[j], kAlpha);
    }
    if (!has_letter) continue;
    const absl::string_view key = text.substr(k, k_end - k);
    if (!is_sensitive(key)) continue;
    // The value: quoted up to the closing quote, else up to a delimiter
    // (for cookies and Authorization headers, the end of the line).
    size_t v = p + 1;
    while (v < n && (text[v] == ' ' || text[v] == '\t')) ++v;
    if (v >= n) break;
    size_t v_end;
    if (text[v] == '"' || text[v] == '\'') {
      const char q = text[v++];
      v_end = v;
      while (v_end < n && text[v_end] != q) {
        v_end += (text[v_end] == '\\' && v_end + 1 < n) ? 2 : 1;
      }
      if (v_end > n) v_end = n;
    } else {
      const bool to_line_end = IsAuthorizationKey(key) || IsCookieKey(key);
      v_end = v;
      while (v_end < n && !EndsValue(text[v_end], to_line_end)) ++v_end;
      while (v_end > v && (text[v_end - 1] == ' ' || text[v_end - 1] == '\t')) {
        --v_end;
      }
    }
    absl::string_view value = text.substr(v, v_end - v);
    if (value.empty() || IsToken(value) || IsPlaceholderValue(value)) {
      p = v_end > p ? v_end - 1 : p;
      continue;
    }
    uint16_t tag;
    absl::string_view part = SecretPart(key, value, &tag);
    const size_t begin = v + (part.data() - value.data());
    if (tag == kTagBearer || tag == kTagAuth) {
      // Only the credential itself for the common schemes; Digest and
      // friends ("username=..., response=...") to the end of the value.
      const size_t cred_end = CredentialEnd(text, begin);
      const bool single_token = tag == kTagBearer ||
                                StartsWithLower(value, "basic ") ||
                                StartsWithLower(value, "token ");
      if (cred_end < v_end && single_token) v_end = cred_end;
    }
    out->push_back({begin, v_end, tag});
    p = v_end > p ? v_end - 1 : p;
  }
}

}  // namespace traversion::pii_internal
