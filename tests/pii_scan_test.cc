// Tests of the masker's one-pass prefilter (pii_internal::ScanHints and the
// KeyPairFilter): every hint must be a necessary condition of its detector,
// the vector passes must agree with the byte-at-a-time reference, and
// secrets must be found wherever they fall relative to the 16- and 32-byte
// blocks (the first block, the overlapping last one, texts shorter than a
// block). Seeds are fixed, so a failure replays.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pii/detectors.h"
#include "traversion/pii.h"

namespace traversion {
namespace {

using pii_internal::KeyPairFilter;
using pii_internal::Matches;

PiiMasker DefaultMasker() {
  PiiOptions o;
  o.key = "scan-test-key";
  auto m = PiiMasker::Create(o);
  EXPECT_TRUE(m.ok()) << m.status();
  return *std::move(m);
}

// Lines with a secret each, for every detector.
const std::vector<std::string>& SecretLines() {
  static const auto* lines = new std::vector<std::string>{
      "alice@example.com",
      "Bob.Smith+tag@mail.example.co.uk",
      "postgres://app:Sup3rS3cret@db.internal:5432/orders",
      "4111111111111111",
      "4111 1111 1111 1111",
      "4111-1111-1111-1111",
      "3782 822463 10005",
      "4222222222222",
      "6011 0009 9013 9424",
      "Authorization: Bearer abc123def456ghi789",
      "bearer 0a1b2c3d4e5f6a7b8c9d",
      "BEARER 0a1b2c3d4e5f6a7b8c9d",
      "Proxy-Authorization: Basic dXNlcjpwYXNzd29yZA==",
      "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
      "rk_test_51H8abcdefGHIJKLmnop",
      "AKIAIOSFODNN7EXAMPLE",
      "ASIAIOSFODNN7EXAMPLE",
      "AIzaSyA-1234567890abcdefghijklmnopqrstu",
      "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
      "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
      "glpat-abcdefghij1234567890",
      "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
      "npm_abcdefghijklmnopqrstuvwxyz0123456789",
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig",
      "password=hunter2",
      "Db-Password: pw123",
      "X-API-KEY=zzz999",
      R"("client_secret": "abcd")",
      "Cookie: session=abc; theme=dark",
      "SSN=123-45-6789",
      "access_token=def.ghi",
  };
  return *lines;
}

// Runs every built-in detector unconditionally; returns the hints each one
// that found something needs.
uint32_t NeededHints(absl::string_view text, const PiiMasker& masker) {
  uint32_t needed = 0;
  auto found = [&](void (*find)(absl::string_view, Matches*)) {
    Matches m;
    find(text, &m);
    return !m.empty();
  };
  if (found(pii_internal::FindEmails)) needed |= pii_internal::kHintAt;
  if (found(pii_internal::FindCards)) needed |= pii_internal::kHintCardRun;
  if (found(pii_internal::FindBearer)) needed |= pii_internal::kHintB;
  if (found(pii_internal::FindApiKeys)) needed |= pii_internal::kHintKeyPrefix;
  if (found(pii_internal::FindJwts)) needed |= pii_internal::kHintJ;
  Matches kv;
  pii_internal::FindKeyValues(
      text, [&](absl::string_view key) { return masker.IsSensitiveKey(key); },
      &kv);
  if (!kv.empty()) needed |= pii_internal::kHintKeyValue;
  return needed;
}

std::vector<std::pair<const char*, uint32_t (*)(absl::string_view)>>
ScanImplementations() {
  return {
    {"ScanHints", &pii_internal::ScanHints},
        {"ScanHintsScalar", &pii_internal::ScanHintsScalar},
        {"BestScanHints", pii_internal::BestScanHints()},
#if defined(__SSE2__)
        {"ScanHintsSse2", &pii_internal::ScanHintsSse2},
        {"ScanHintsAvx2", &pii_internal::ScanHintsAvx2},
#endif
  };
}

// Filler that holds no secret and no part of one.
std::string Filler(size_t n, std::mt19937* rng) {
  static constexpr char kChars[] = "abcdefhimrtuvw ,;/()[]";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(kChars[(*rng)() % (sizeof(kChars) - 1)]);
  }
  return s;
}

TEST(PiiScan, HintsAreNecessaryAtEveryOffset) {
  const PiiMasker masker = DefaultMasker();
  std::mt19937 rng(7);
  for (const std::string& line : SecretLines()) {
    for (size_t before = 0; before <= 70; ++before) {
      for (size_t after : {0, 1, 2, 3, 15, 16, 17, 31, 32, 33}) {
        std::string text = Filler(before, &rng);
        if (before > 0) text += ' ';
        text += line;
        if (after > 0) text += ' ' + Filler(after - 1, &rng);
        const uint32_t needed = NeededHints(text, masker);
        ASSERT_NE(needed, 0u) << "no detector finds the secret in: " << text;
        for (const auto& [name, scan] : ScanImplementations()) {
          ASSERT_EQ(scan(text) & needed, needed)
              << name << " misses a hint for: '" << text << "'";
        }
      }
    }
  }
}

TEST(PiiScan, SecretsAreMaskedAtEveryOffset) {
  const PiiMasker masker = DefaultMasker();
  std::mt19937 rng(11);
  struct Case {
    std::string line;
    std::string secret;
  };
  const std::vector<Case> cases = {
      {"mail alice@example.com", "alice@example.com"},
      {"card 4111 1111 1111 1111", "4111 1111 1111 1111"},
      {"card 4111111111111111", "4111111111111111"},
      {"amex 3782-822463-10005", "3782-822463-10005"},
      {"auth Bearer abc123def456ghi789", "abc123def456ghi789"},
      {"key sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc"},
      {"aws AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"},
      {"jwt eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "eyJzdWIiOiJ4In0"},
      {"login PASSWORD=hunter2", "hunter2"},
      {"x-Api-Key: k3y0123", "k3y0123"},
      {"dsn postgres://app:Sup3rS3cret@db:5432/x", "Sup3rS3cret"},
  };
  for (const Case& c : cases) {
    for (size_t before = 0; before <= 70; ++before) {
      for (size_t after : {0, 1, 16, 33}) {
        std::string text = Filler(before, &rng) + " " + c.line;
        if (after > 0) text += " " + Filler(after - 1, &rng);
        std::string masked = text;
        EXPECT_GE(masker.MaskText(&masked), 1u) << text;
        EXPECT_FALSE(absl::StrContains(masked, c.secret))
            << text << " -> " << masked;
      }
    }
  }
}

// Random text from an alphabet rich in the bytes the hints look at.
std::string RandomText(std::mt19937* rng) {
  static constexpr char kBytes[] =
      "0123456789012345678901234567890123456789      ----"
      "@=:_bBeEaAkIzAJghlxonpyJrtc.,;/\xc3\xa9\x80\xff\t";
  const size_t n = (*rng)() % 200;
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(kBytes[(*rng)() % (sizeof(kBytes) - 1)]);
  }
  return s;
}

TEST(PiiScan, VectorPassesAgreeWithTheScalarReference) {
  std::mt19937 rng(3);
  for (int round = 0; round < 20000; ++round) {
    const std::string text = RandomText(&rng);
    const uint32_t ref = pii_internal::ScanHintsScalar(text);
    EXPECT_EQ(pii_internal::ScanHints(text) & ref, ref) << text;
#if defined(__SSE2__)
    EXPECT_EQ(pii_internal::ScanHintsSse2(text), ref) << text;
    const uint32_t avx2 = pii_internal::ScanHintsAvx2(text);
    EXPECT_EQ(avx2 & ref, ref) << text;
    // The card condition is exact in every pass.
    EXPECT_EQ(avx2 & pii_internal::kHintCardRun,
              ref & pii_internal::kHintCardRun)
        << text;
#endif
  }
}

TEST(PiiScan, KeyPairFilterVectorMatchesScalar) {
  KeyPairFilter f;
  f.usable = true;
  for (const char* pair : {"sw", "ke", "_k", "i_", "z9"}) {
    ASSERT_TRUE(f.Add(pair[0], pair[1]));
  }
  f.Finish();
  std::mt19937 rng(5);
  static constexpr char kBytes[] = "swkeKE_-iIzZ9.x ";
  for (int round = 0; round < 20000; ++round) {
    std::string key;
    const size_t n = rng() % 70;
    for (size_t i = 0; i < n; ++i) {
      key.push_back(kBytes[rng() % (sizeof(kBytes) - 1)]);
    }
    const bool ref = f.MayMatchScalar(key);
    EXPECT_TRUE(!ref || f.MayMatch(key)) << key;
#if defined(__SSE2__)
    EXPECT_EQ(f.MayMatchSse2(key), ref) << key;
    EXPECT_TRUE(!ref || f.MayMatchAvx2(key)) << key;
#endif
  }
}

TEST(PiiScan, SensitiveKeysOfEveryLengthAndCase) {
  const PiiMasker masker = DefaultMasker();
  for (const char* rule_key :
       {"password", "Db-Password", "X-API-KEY", "apiKey", "PROXY-AUTHORIZATION",
        "set-cookie", "Client_Secret", "refresh-token", "ssn", "credentials",
        "private_key", "pwd"}) {
    for (size_t prefix = 0; prefix <= 40; ++prefix) {
      std::string key = std::string(prefix, 'q');
      if (prefix > 0) key += '.';
      key += rule_key;
      EXPECT_TRUE(masker.IsSensitiveKey(key)) << key;
      std::string text = std::string(prefix, 'w') + " " + rule_key + "=v4lue";
      masker.MaskText(&text);
      EXPECT_FALSE(absl::StrContains(text, "v4lue")) << text;
    }
  }
  for (const char* plain :
       {"http.request.method", "http.request.header.user-agent", "trace_id",
        "duration_ms", "order.id", "page", "total", "token_count_total"}) {
    EXPECT_FALSE(masker.IsSensitiveKey(plain)) << plain;
  }
}

TEST(PiiScan, RulesWithoutAPairStillMatch) {
  // "a*b" has no two adjacent letters: the pair filter cannot be used and
  // every key goes to the rules themselves.
  PiiOptions o;
  o.key = "k";
  o.attribute_rules = {"a*b", "x"};
  auto m = PiiMasker::Create(o);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->IsSensitiveKey("a_long_b"));
  EXPECT_TRUE(m->IsSensitiveKey("svc.X"));
  EXPECT_FALSE(m->IsSensitiveKey("y"));
  std::string text = "config x=42 and a9b: hidden";
  EXPECT_EQ(m->MaskText(&text), 2u) << text;
  EXPECT_FALSE(absl::StrContains(text, "42")) << text;
  EXPECT_FALSE(absl::StrContains(text, "hidden")) << text;
}

}  // namespace
}  // namespace traversion
