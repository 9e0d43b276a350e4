#include "pii/detectors.h"

#include <array>
#include <cstring>
#include <string>

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

constexpr std::array<uint32_t, 256> MakeHints() {
  std::array<uint32_t, 256> t{};
  t['@'] = kHintAt;
  t['b'] = t['B'] = kHintB;
  t['_'] = t['-'] = t['A'] = kHintKeyPrefix;
  t['J'] = kHintJ;
  t['='] = t[':'] = kHintKeyValue;
  return t;
}
constexpr std::array<uint32_t, 256> kHints = MakeHints();

size_t SkipClass(absl::string_view text, size_t i, uint8_t cls) {
  while (i < text.size() && Is(text[i], cls)) ++i;
  return i;
}

// --- e-mail ----------------------------------------------------------------

// Top-level "domains" that are really file extensions: "icon@2x.png".
bool IsFileExtension(absl::string_view tld) {
  static constexpr absl::string_view kExtensions[] = {
      "png", "jpg", "jpeg", "gif", "svg", "webp",
      "bmp", "ico", "js",   "css", "map", "json"};
  for (absl::string_view e : kExtensions) {
    if (absl::EqualsIgnoreCase(tld, e)) return true;
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
  if (domain.front() == '-' || absl::StrContains(domain, "..")) return 0;
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
  return absl::EndsWithIgnoreCase(key, "authorization");
}
bool IsCookieKey(absl::string_view key) {
  return absl::EndsWithIgnoreCase(key, "cookie");
}

bool IsPlaceholderValue(absl::string_view v) {
  static constexpr absl::string_view kWords[] = {"null",  "none",      "true",
                                                 "false", "undefined", "nil"};
  for (absl::string_view w : kWords) {
    if (absl::EqualsIgnoreCase(v, w)) return true;
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

uint32_t ScanHints(absl::string_view text) {
  // Branch-free: one table lookup and one add per byte. The card hint is a
  // necessary condition only (>= 13 digits anywhere); FindCards decides.
  uint32_t hints = 0;
  size_t digits = 0;
  for (char c : text) {
    const uint8_t u = static_cast<uint8_t>(c);
    hints |= kHints[u];
    digits += kClasses[u] & kDigit;
  }
  if (digits >= 13) hints |= kHintCardRun;
  return hints;
}

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

void FindCards(absl::string_view text, Matches* out) {
  constexpr size_t kMaxGroups = 16;
  Group groups[kMaxGroups];
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    if (!IsDigit(text[i])) {
      ++i;
      continue;
    }
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

absl::string_view SecretPart(absl::string_view key, absl::string_view value,
                             uint16_t* tag) {
  *tag = kTagSecret;
  const std::string lower = absl::AsciiStrToLower(key);
  if (absl::StrContains(lower, "api") && absl::StrContains(lower, "key")) {
    *tag = kTagApiKey;
  }
  if (!IsAuthorizationKey(key)) return value;
  *tag = kTagAuth;
  // "Scheme credentials": keep the scheme word readable.
  size_t s = 0;
  while (s < value.size() && (IsAlnum(value[s]) || value[s] == '-')) ++s;
  if (s == 0 || s >= value.size() || value[s] != ' ') return value;
  size_t c = s;
  while (c < value.size() && value[c] == ' ') ++c;
  if (c == value.size()) return value;
  if (absl::EqualsIgnoreCase(value.substr(0, s), "bearer")) *tag = kTagBearer;
  return value.substr(c);
}

void FindKeyValues(absl::string_view text,
                   absl::FunctionRef<bool(absl::string_view)> is_sensitive,
                   Matches* out) {
  const size_t n = text.size();
  for (size_t p = 0; p < n; ++p) {
    const char op = text[p];
    if (op != '=' && op != ':') continue;
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
                                absl::StartsWithIgnoreCase(value, "basic ") ||
                                absl::StartsWithIgnoreCase(value, "token ");
      if (cred_end < v_end && single_token) v_end = cred_end;
    }
    out->push_back({begin, v_end, tag});
    p = v_end > p ? v_end - 1 : p;
  }
}

}  // namespace traversion::pii_internal
