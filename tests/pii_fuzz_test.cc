// Randomized tests of the PII masker: generated card numbers, e-mail
// addresses and keys must be masked, generated ids, timestamps and hashes
// must not, arbitrary bytes never crash it, and masking is idempotent and
// line-local. Seeds are fixed (and printed on failure) so a failure replays.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "pii/detectors.h"
#include "traversion/pii.h"

namespace traversion {
namespace {

constexpr int kRounds = 2000;

PiiMasker Masker() {
  PiiOptions o;
  o.key = "fuzz-key";
  o.patterns = {{"ssn", R"(\b\d{3}-\d{2}-\d{4}\b)"}};
  auto m = PiiMasker::Create(o);
  EXPECT_TRUE(m.ok()) << m.status();
  return *std::move(m);
}

std::string Masked(const PiiMasker& m, std::string s) {
  m.MaskText(&s);
  return s;
}

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  int Int(int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }
  uint64_t U64(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }
  char Digit() { return static_cast<char>('0' + Int(0, 9)); }
  char Hex() { return "0123456789abcdef"[Int(0, 15)]; }
  char Lower() { return static_cast<char>('a' + Int(0, 25)); }
  std::string Hexes(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(Hex());
    return s;
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Int(0, static_cast<int>(v.size()) - 1)];
  }

  // A card number of a real network's prefix and length with a valid (or,
  // with `valid` false, an invalid) Luhn digit.
  std::string CardDigits(bool valid) {
    struct Network {
      std::string prefix;
      int length;
    };
    static const std::vector<Network> kNetworks = {
        {"4", 16},    {"4", 13},    {"4", 19},    {"51", 16}, {"55", 16},
        {"2221", 16}, {"2720", 16}, {"34", 15},   {"37", 15}, {"6011", 16},
        {"65", 16},   {"62", 19},   {"3528", 16}, {"36", 14}, {"300", 14}};
    const Network& n = Pick(kNetworks);
    std::string d = n.prefix;
    while (static_cast<int>(d.size()) < n.length - 1) d.push_back(Digit());
    for (char check = '0'; check <= '9'; ++check) {
      if (pii_internal::LuhnValid(d + check) == valid) {
        return d + check;
      }
    }
    return d;  // unreachable: one of ten digits satisfies Luhn
  }
  // The digits grouped as printed on cards, or not at all.
  std::string Grouped(const std::string& d) {
    const int style = Int(0, 2);
    if (style == 0) return d;
    const char sep = style == 1 ? ' ' : '-';
    std::vector<int> sizes;
    if (d.size() == 15) {
      sizes = {4, 6, 5};
    } else {
      for (size_t left = d.size(); left > 0;) {
        const int g = static_cast<int>(left >= 4 ? 4 : left);
        sizes.push_back(g);
        left -= g;
      }
    }
    std::string out;
    size_t pos = 0;
    for (int g : sizes) {
      if (!out.empty()) out.push_back(sep);
      out += d.substr(pos, g);
      pos += g;
    }
    return out;
  }
  std::string Email() {
    std::string local;
    for (int i = Int(1, 12); i > 0; --i) {
      local.push_back("abcxyz019._+-"[Int(0, 12)]);
    }
    if (local.front() == '.') local[0] = 'q';
    std::string domain;
    for (int labels = Int(1, 3); labels > 0; --labels) {
      for (int i = Int(1, 8); i > 0; --i) domain.push_back(Lower());
      domain.push_back('.');
    }
    static const std::vector<std::string> kTlds = {"com", "io", "de", "org",
                                                   "travel"};
    return absl::StrCat(local, "@", domain, Pick(kTlds));
  }
  std::string Uuid() {
    return absl::StrCat(Hexes(8), "-", Hexes(4), "-", Hexes(4), "-", Hexes(4),
                        "-", Hexes(12));
  }
  std::string DigitUuid() {
    std::string s;
    for (int g : {8, 4, 4, 4, 12}) {
      if (!s.empty()) s.push_back('-');
      for (int i = 0; i < g; ++i) s.push_back(Digit());
    }
    return s;
  }
  // Unix time in s, ms, us or ns between 2001 and 2033.
  std::string UnixTime() {
    const uint64_t s = U64(1000000000ULL, 1999999999ULL);
    switch (Int(0, 3)) {
      case 0:
        return absl::StrCat(s);
      case 1:
        return absl::StrCat(s * 1000 + U64(0, 999));
      case 2:
        return absl::StrCat(s * 1000000 + U64(0, 999999));
      default:
        return absl::StrCat(s * 1000000000 + U64(0, 999999999));
    }
  }
  std::string Iso8601() {
    return absl::StrCat(Int(2000, 2099), "-", Int(10, 12), "-", Int(10, 28),
                        "T", Int(10, 23), ":", Int(10, 59), ":", Int(10, 59),
                        ".", U64(100000000, 999999999), "Z");
  }
  std::string Version() {
    return absl::StrCat(Int(0, 30), ".", Int(0, 99), ".", Int(0, 9999));
  }
  std::string OrderId() {
    return absl::StrCat("ORD-", Int(2000, 2099), "-", U64(0, 99999999));
  }

  std::mt19937 rng_;
};

// Text around a value: words and separators that end a value.
std::string Around(Gen& g) {
  static const std::vector<std::string> kWords = {
      "", " ", "user ", "id=", "(", "[", "\"", " at ", "value: ", "x "};
  return g.Pick(kWords);
}
std::string After(Gen& g) {
  static const std::vector<std::string> kWords = {"",  " ",  " ok",    ")",
                                                  "]", "\"", ", next", ";"};
  return g.Pick(kWords);
}

TEST(PiiFuzz, GeneratedSecretsAreMasked) {
  const PiiMasker m = Masker();
  Gen g(20240115);
  for (int round = 0; round < kRounds; ++round) {
    std::string secret;
    switch (round % 4) {
      case 0:
        secret = g.Grouped(g.CardDigits(true));
        break;
      case 1:
        secret = g.Email();
        break;
      case 2:
        secret = absl::StrCat("AKIA", g.Hexes(16));
        for (char& c : secret) c = static_cast<char>(std::toupper(c));
        break;
      default:
        secret = absl::StrCat(g.Int(100, 999), "-", g.Int(10, 99), "-",
                              g.Int(1000, 9999));  // the "ssn" pattern
        break;
    }
    const std::string text = Around(g) + secret + After(g);
    const std::string out = Masked(m, text);
    EXPECT_FALSE(absl::StrContains(out, secret))
        << "round " << round << ": " << text << " -> " << out;
  }
}

TEST(PiiFuzz, GeneratedNonSecretsAreLeftAlone) {
  const PiiMasker m = Masker();
  Gen g(777);
  for (int round = 0; round < kRounds; ++round) {
    std::string value;
    switch (round % 8) {
      case 0: {
        // Fails Luhn. Grouped 19-digit numbers are left out: their leading
        // 13 to 16 digits may well be a valid card of their own.
        const std::string digits = g.CardDigits(false);
        value = digits.size() > 16 ? digits : g.Grouped(digits);
        break;
      }
      case 1:
        value = g.Uuid();
        break;
      case 2:
        value = g.DigitUuid();
        break;
      case 3:
        value = g.UnixTime();
        break;
      case 4:
        value = g.Iso8601();
        break;
      case 5:
        value = g.Hexes(g.Pick(std::vector<int>{16, 32, 40, 64}));
        break;
      case 6:
        value = g.Version();
        break;
      default:
        value = g.OrderId();
        break;
    }
    const std::string text = Around(g) + value + After(g);
    EXPECT_EQ(Masked(m, text), text) << "round " << round;
  }
}

TEST(PiiFuzz, ArbitraryBytesNeverCrashAndMaskingIsIdempotent) {
  const PiiMasker m = Masker();
  Gen g(4242);
  const std::string alphabet =
      "@.-_ :=\"'<>/\n0123456789eyJBbearerAKIAsk_live_xoxb-ghp_passwordtoken"
      "Authorization";
  for (int round = 0; round < kRounds; ++round) {
    std::string text;
    const int len = g.Int(0, 200);
    const bool raw = round % 2 == 0;
    for (int i = 0; i < len; ++i) {
      text.push_back(raw ? static_cast<char>(g.Int(0, 255))
                         : alphabet[g.Int(0, alphabet.size() - 1)]);
    }
    std::string once = text;
    const size_t n = m.MaskText(&once);
    if (n == 0) {
      EXPECT_EQ(once, text) << "round " << round;
    }
    std::string twice = once;
    EXPECT_EQ(m.MaskText(&twice), 0u)
        << "round " << round << ": " << once << " -> " << twice;
  }
}

TEST(PiiFuzz, MaskingIsLineLocal) {
  // Lines of secrets and of look-alikes in random order: each line masks as
  // it does alone, so no detector reaches across a line or a neighbour.
  const PiiMasker m = Masker();
  const std::vector<std::string> lines = {
      "contact alice@example.com now",
      "card 4111 1111 1111 1111 declined",
      "Authorization: Bearer abc123def456ghi789",
      "Cookie: session=abc; theme=dark",
      "key sk_live_4eC39HqLyjWDarjtT1zdp7dc",
      "api_key=abc123xyz&page=2",
      R"({"password": "s3cr3t!"})",
      "jwt eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
      "ts=1705333643123",
      "request 550e8400-e29b-41d4-a716-446655440000 done",
      "2024-01-15 15:47:23,123 INFO started",
      "ids 1111 2222 3333 4444",
      "not a card 4111 1111 1111 1112",
      "version 1.2.3-rc.1+build.5",
      "installed lodash@4.17.21",
      "password: ******",
      "5555",
      "4111",
      "",
  };
  Gen g(99);
  for (int round = 0; round < kRounds / 4; ++round) {
    std::vector<std::string> picked;
    std::vector<std::string> expected;
    for (int i = g.Int(1, 8); i > 0; --i) {
      picked.push_back(g.Pick(lines));
      expected.push_back(Masked(m, picked.back()));
    }
    const std::string out = Masked(m, absl::StrJoin(picked, "\n"));
    EXPECT_EQ(out, absl::StrJoin(expected, "\n")) << "round " << round;
  }
}

}  // namespace
}  // namespace traversion
