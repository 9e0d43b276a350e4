// PII masking: what each detector masks (true positives) and what it must
// leave alone (false positives), the token format and its keyed hash,
// attribute-name rules, configured patterns, and the walk over every
// free-text field of an Event.
#include "traversion/pii.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pii/detectors.h"
#include "pii/siphash.h"

namespace traversion {
namespace {

PiiMasker MakeMasker(PiiOptions options = {}) {
  if (options.key.empty()) options.key = "test-key";
  auto masker = PiiMasker::Create(options);
  EXPECT_TRUE(masker.ok()) << masker.status();
  return *std::move(masker);
}

std::string Masked(const PiiMasker& m, std::string text) {
  m.MaskText(&text);
  return text;
}

// --- true positives
// -------------------------------------------------------------

struct Positive {
  std::string text;    // a line holding the secret
  std::string secret;  // must not survive masking
  std::string tag;     // a token with this tag must appear
};

const std::vector<Positive>& Positives() {
  static const auto* cases = new std::vector<Positive>{
      // e-mail
      {"contact alice@example.com now", "alice@example.com", "email"},
      {"from Bob.Smith+tag@mail.example.co.uk.", "Bob.Smith+tag@mail", "email"},
      {"user=first_last@sub.domain.io;", "first_last@sub.domain.io", "email"},
      {"<jane-doe@company.org>", "jane-doe@company.org", "email"},
      {"mailto:x.y@z.travel", "x.y@z.travel", "email"},
      {R"({"email":"a1@b2.de"})", "a1@b2.de", "email"},
      {"UPPER@EXAMPLE.COM signed in", "UPPER@EXAMPLE.COM", "email"},
      // payment cards
      {"card 4111111111111111 declined", "4111111111111111", "card"},
      {"card 4111 1111 1111 1111 declined", "4111 1111 1111 1111", "card"},
      {"card=4111-1111-1111-1111", "4111-1111-1111-1111", "card"},
      {"mc 5555555555554444", "5555555555554444", "card"},
      {"mc 5105 1051 0510 5100", "5105 1051 0510 5100", "card"},
      {"mc2 2223003122003222", "2223003122003222", "card"},
      {"amex 378282246310005", "378282246310005", "card"},
      {"amex 3782 822463 10005", "3782 822463 10005", "card"},
      {"amex 371449635398431", "371449635398431", "card"},
      {"discover 6011111111111117", "6011111111111117", "card"},
      {"discover 6011 0009 9013 9424", "6011 0009 9013 9424", "card"},
      {"jcb 3530111333300000", "3530111333300000", "card"},
      {"diners 30569309025904", "30569309025904", "card"},
      {"diners 36227206271667", "36227206271667", "card"},
      {"visa13 4222222222222", "4222222222222", "card"},
      {"unionpay 6200000000000005", "6200000000000005", "card"},
      {"/pay?pan=4012888888881881&x=1", "4012888888881881", "card"},
      {"order 12345 paid with 4111111111111111", "4111111111111111", "card"},
      // bearer tokens and Authorization headers
      {"Authorization: Bearer abc123def456ghi789", "abc123def456ghi789",
       "bearer"},
      {"sent bearer 0a1b2c3d4e5f6a7b8c9d to upstream", "0a1b2c3d4e5f6a7b8c9d",
       "bearer"},
      {"Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==",
       "auth"},
      {"curl -H 'Authorization: Token 9f8e7d6c5b4a'", "9f8e7d6c5b4a", "auth"},
      {R"({"authorization":"Bearer tok_live.9a8b7c"})", "tok_live.9a8b7c",
       "bearer"},
      // API keys
      {"key sk_live_4eC39HqLyjWDarjtT1zdp7dc",
       "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "api_key"},
      {"stripe=sk_test_51H8abcdefGHIJKLmnop", "sk_test_51H8abcdefGHIJKLmnop",
       "api_key"},
      {"aws AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE", "api_key"},
      {"gh ghp_abcdefghijklmnopqrstuvwxyz0123456789",
       "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "api_key"},
      {"gh github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
       "github_pat_11ABCDEFG0123456789", "api_key"},
      {"slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
       "xoxb-123456789012", "api_key"},
      {"gitlab glpat-abcdefghij1234567890", "glpat-abcdefghij1234567890",
       "api_key"},
      {"google AIzaSyA-1234567890abcdefghijklmnopqrstu",
       "AIzaSyA-1234567890abcdefghijklmnopqrstu", "api_key"},
      {"GET /v1?api_key=abc123xyz&page=2", "abc123xyz", "api_key"},
      {"apikey: 0123456789abcdef", "0123456789abcdef", "api_key"},
      {"GET /v1?api-key=zzz999&page=2", "zzz999", "api_key"},
      // JWTs
      {"jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
       "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
       "eyJzdWIiOiIxMjM0NTY3ODkwIn0", "jwt"},
      {"id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
       "eyJhbGciOiJub25lIn0", "jwt"},
      // secret-named keys in text
      {"login password=hunter2 ok", "hunter2", "secret"},
      {R"({"password": "s3cr3t!"})", "s3cr3t!", "secret"},
      {"client_secret=abcd&grant_type=x", "abcd", "secret"},
      {"Cookie: session=abc; theme=dark", "session=abc; theme=dark", "secret"},
      {"dsn postgres://app:Sup3rS3cret@db.internal:5432/orders", "Sup3rS3cret",
       "secret"},
      {"refresh_token=def.ghi", "def.ghi", "secret"},
      {"db_password: pw123", "pw123", "secret"},
  };
  return *cases;
}

TEST(PiiDetectors, TruePositivesAreMasked) {
  const PiiMasker m = MakeMasker();
  ASSERT_GE(Positives().size(), 40u);
  for (const Positive& p : Positives()) {
    std::string text = p.text;
    const size_t n = m.MaskText(&text);
    EXPECT_GE(n, 1u) << p.text;
    EXPECT_FALSE(absl::StrContains(text, p.secret)) << p.text << " -> " << text;
    EXPECT_TRUE(absl::StrContains(text, "<" + p.tag + ":"))
        << p.text << " -> " << text;
  }
}

TEST(PiiDetectors, ContextAroundAMatchIsKept) {
  const PiiMasker m = MakeMasker();
  EXPECT_EQ(Masked(m, "Authorization: Bearer abc123def456ghi789 next"),
            "Authorization: Bearer " +
                m.TokenFor("bearer", "abc123def456ghi789") + " next");
  EXPECT_EQ(
      Masked(m, "GET /v1?api_key=abc123xyz&page=2"),
      "GET /v1?api_key=" + m.TokenFor("api_key", "abc123xyz") + "&page=2");
  EXPECT_EQ(Masked(m, "mail alice@example.com, bob@example.org."),
            "mail " + m.TokenFor("email", "alice@example.com") + ", " +
                m.TokenFor("email", "bob@example.org") + ".");
  EXPECT_EQ(Masked(m, "postgres://app:pw1@db:5432/x"),
            "postgres://app:" + m.TokenFor("secret", "pw1") + "@db:5432/x");
}

// --- false positives
// ------------------------------------------------------------

const std::vector<std::string>& Negatives() {
  static const auto* cases = new std::vector<std::string>{
      "order ORD-2024-000123 shipped",
      "order 123456 total 99.95",
      "2024-01-15T15:47:23.123456789Z",
      "2024-01-15 15:47:23,123 INFO started",
      "ts=1705333643",
      "ts=1705333643123",        // unix ms, Luhn-valid
      "ts=1705333643123459",     // unix us, Luhn-valid
      "ts=1705333643123456780",  // unix ns, Luhn-valid
      "request 550e8400-e29b-41d4-a716-446655440000 done",
      "id 12345678-1234-1234-1234-123456789012",
      "trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
      "span_id=00f067aa0ba902b7",
      "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "version 1.2.3-rc.1+build.5",
      "installed lodash@4.17.21",
      "from 192.168.10.254 and ::1 and 2001:db8::ff00:42:8329",
      "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
      "commit 9cedaee",
      "not a card 4111111111111112",     // fails Luhn
      "not a card 4111 1111 1111 1112",  // fails Luhn
      "big 12345678901234567890",
      "order 9012345678901238",  // Luhn-valid, no card network
      "phone +1-555-123-4567",
      "ratio 0.4111111111111111",
      "icon@2x.png",
      "import @types/node",
      "mail to root@localhost",
      "Bearer authentication required",
      "token expired for user 42",
      "tokens=42 max_tokens=100",
      "page_size=50&sort=asc",
      "ghp_short",
      "AKIA1234",
      "eyJhbGciOi without dots",
      "password reset email sent",
      "secret_name=db-creds",
      "use sk_live_ keys only",
      "duration=1500ms status=200 bytes=4096",
      "GET /api/v1/orders/98765?page=2 HTTP/1.1",
      "pod api-7d9f8c6b5-x2x4z restarted",
      "memory 17179869184 bytes",
      "ids 1111 2222 3333 4444",
      "SELECT * FROM orders WHERE id = 42",
      "at com.example.Foo.bar(Foo.java:123)",
      "build 10.0.19045.3803",
      "cpu=80% mem=90%",
      "/2024/01/15/report",
      "token=<secret:0123456789ab>",
      "password=null",
      "password: ******",
      "https://example.com/path?q=1",
      "ORD4111111111111111",
      "x-4111111111111111",
  };
  return *cases;
}

TEST(PiiDetectors, FalsePositivesAreLeftAlone) {
  const PiiMasker m = MakeMasker();
  ASSERT_GE(Negatives().size(), 40u);
  for (const std::string& n : Negatives()) {
    std::string text = n;
    EXPECT_EQ(m.MaskText(&text), 0u) << n << " -> " << text;
    EXPECT_EQ(text, n);
  }
}

TEST(PiiDetectors, LuhnCheck) {
  using pii_internal::LuhnValid;
  EXPECT_TRUE(LuhnValid("4111111111111111"));
  EXPECT_TRUE(LuhnValid("79927398713"));
  EXPECT_FALSE(LuhnValid("79927398710"));
  EXPECT_FALSE(LuhnValid("4111111111111112"));
}

TEST(PiiDetectors, EachDetectorCanBeTurnedOff) {
  const std::string line =
      "a@b.io 4111111111111111 Bearer abc123def456ghi789 "
      "AKIAIOSFODNN7EXAMPLE eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0. pwd=hunter2";
  PiiOptions off;
  off.detect_emails = off.detect_cards = off.detect_bearer = false;
  off.detect_api_keys = off.detect_jwts = off.detect_key_values = false;
  EXPECT_EQ(Masked(MakeMasker(off), line), line);
  struct Switch {
    bool PiiOptions::*field;
    const char* tag;
  };
  for (Switch s : {Switch{&PiiOptions::detect_emails, "email"},
                   Switch{&PiiOptions::detect_cards, "card"},
                   Switch{&PiiOptions::detect_bearer, "bearer"},
                   Switch{&PiiOptions::detect_api_keys, "api_key"},
                   Switch{&PiiOptions::detect_jwts, "jwt"},
                   Switch{&PiiOptions::detect_key_values, "secret"}}) {
    PiiOptions one = off;
    one.*(s.field) = true;
    const std::string out = Masked(MakeMasker(one), line);
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("<", s.tag, ":")))
        << s.tag << ": " << out;
  }
  PiiOptions disabled;
  disabled.enabled = false;
  EXPECT_EQ(Masked(MakeMasker(disabled), line), line);
  EXPECT_EQ(Masked(PiiMasker(), line), line);
}

// --- tokens and the keyed hash
// ----------------------------------------------------

TEST(PiiTokens, FormatIsTagAndTruncatedKeyedHash) {
  const PiiMasker m = MakeMasker();
  const std::string token = m.TokenFor("email", "alice@example.com");
  ASSERT_EQ(token.size(), std::string("<email:>").size() + 12) << token;
  EXPECT_TRUE(absl::StartsWith(token, "<email:")) << token;
  EXPECT_TRUE(pii_internal::IsToken(token)) << token;
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef", 7), token.size() - 1);
  for (int digits : {8, 16}) {
    PiiOptions o;
    o.token_hex_digits = digits;
    const std::string t = MakeMasker(o).TokenFor("card", "4111111111111111");
    EXPECT_EQ(t.size(), std::string("<card:>").size() + digits) << t;
  }
}

TEST(PiiTokens, EqualValuesJoinAndKeysSeparate) {
  PiiOptions a;
  a.key = "key-a";
  PiiOptions b;
  b.key = "key-b";
  const PiiMasker ma = MakeMasker(a);
  const PiiMasker ma2 = MakeMasker(a);
  const PiiMasker mb = MakeMasker(b);
  const std::string line = "user alice@example.com paid 4111 1111 1111 1111";
  EXPECT_EQ(Masked(ma, line), Masked(ma2, line));
  EXPECT_NE(Masked(ma, line), Masked(mb, line));
  // Spellings of one value give one token.
  EXPECT_EQ(Masked(ma, "4111 1111 1111 1111"),
            Masked(ma, "4111-1111-1111-1111"));
  EXPECT_EQ(Masked(ma, "4111 1111 1111 1111"), Masked(ma, "4111111111111111"));
  EXPECT_EQ(Masked(ma, "Alice@Example.COM"), Masked(ma, "alice@example.com"));
  EXPECT_NE(Masked(ma, "alice@example.com"), Masked(ma, "alicia@example.com"));
  // Two random keys (empty PiiOptions::key) differ.
  auto r1 = PiiMasker::Create(PiiOptions{});
  auto r2 = PiiMasker::Create(PiiOptions{});
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_NE(r1->TokenFor("email", "a@b.io"), r2->TokenFor("email", "a@b.io"));
}

TEST(PiiTokens, MaskingTwiceChangesNothing) {
  const PiiMasker m = MakeMasker();
  for (const Positive& p : Positives()) {
    const std::string once = Masked(m, p.text);
    EXPECT_EQ(Masked(m, once), once) << p.text;
  }
}

TEST(PiiSipHash, MatchesTheReferenceVectors) {
  // The SipHash paper's key 00 01 .. 0f; messages 00 01 .. (n-1).
  pii_internal::SipKey key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  EXPECT_EQ(pii_internal::SipHash24(key, ""), 0x726fdb47dd0e0e31ULL);
  std::string msg;
  for (int i = 0; i < 15; ++i) msg.push_back(static_cast<char>(i));
  // Appendix A of the paper.
  EXPECT_EQ(pii_internal::SipHash24(key, msg), 0xa129ca6149be45e5ULL);
  const pii_internal::SipKey k1 = pii_internal::DeriveSipKey("one");
  const pii_internal::SipKey k2 = pii_internal::DeriveSipKey("two");
  EXPECT_NE(k1.k0, k2.k0);
  EXPECT_NE(k1.k0, k1.k1);
}

// --- options
// --------------------------------------------------------------------

TEST(PiiOptionsTest, BadOptionsAreInvalidArgument) {
  auto with_pattern = [](std::string name, std::string regex) {
    PiiOptions o;
    o.patterns.push_back({std::move(name), std::move(regex)});
    return PiiMasker::Create(o).status();
  };
  EXPECT_EQ(with_pattern("ssn", "(").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with_pattern("ssn", "a*").code(),
            absl::StatusCode::kInvalidArgument);  // matches ""
  EXPECT_EQ(with_pattern("SSN", "x").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with_pattern("", "x").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(with_pattern("ssn", R"(\d{3}-\d{2}-\d{4})").ok());
  PiiOptions o;
  o.token_hex_digits = 7;
  EXPECT_EQ(PiiMasker::Create(o).status().code(),
            absl::StatusCode::kInvalidArgument);
  o.token_hex_digits = 17;
  EXPECT_EQ(PiiMasker::Create(o).status().code(),
            absl::StatusCode::kInvalidArgument);
  PiiOptions r;
  r.attribute_rules = {"password", ""};
  EXPECT_EQ(PiiMasker::Create(r).status().code(),
            absl::StatusCode::kInvalidArgument);
  r.attribute_rules = {"**"};
  EXPECT_EQ(PiiMasker::Create(r).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PiiOptionsTest, ConfiguredPatterns) {
  PiiOptions o;
  o.patterns = {{"ssn", R"(ssn=(\d{3}-\d{2}-\d{4}))"},
                {"employee", R"(\bEMP-[0-9]{6}\b)"}};
  const PiiMasker m = MakeMasker(o);
  EXPECT_EQ(Masked(m, "ssn=123-45-6789 ok"),
            "ssn=" + m.TokenFor("ssn", "123-45-6789") + " ok");
  EXPECT_EQ(Masked(m, "by EMP-123456 and EMP-654321"),
            "by " + m.TokenFor("employee", "EMP-123456") + " and " +
                m.TokenFor("employee", "EMP-654321"));
  EXPECT_EQ(Masked(m, "EMP-1234567 is no employee id"),
            "EMP-1234567 is no employee id");
  // Built-in detectors still run beside the patterns.
  EXPECT_EQ(Masked(m, "EMP-123456 a@b.io"),
            m.TokenFor("employee", "EMP-123456") + " " +
                m.TokenFor("email", "a@b.io"));
}

TEST(PiiOptionsTest, AttributeRules) {
  const PiiMasker m = MakeMasker();
  for (const char* key :
       {"password", "Password", "PASSWD", "http.request.header.authorization",
        "http.request.header.cookie", "http.response.header.set-cookie",
        "X-Api-Key", "api-key", "apikey", "db.password", "user_password_hash",
        "stripe_secret", "oauth.access_token", "csrf_token", "token",
        "client_secret", "ssn"}) {
    EXPECT_TRUE(m.IsSensitiveKey(key)) << key;
  }
  for (const char* key :
       {"user.id", "http.request.method", "token_count", "tokens",
        "secret_name", "http.route", "passage", "keyboard", "session.id",
        "authorization.mode.enabled", ""}) {
    EXPECT_FALSE(m.IsSensitiveKey(key)) << key;
  }
  PiiOptions custom;
  custom.attribute_rules = {"app.config.dsn", "pin", "*_iban"};
  const PiiMasker c = MakeMasker(custom);
  EXPECT_TRUE(c.IsSensitiveKey("app.config.dsn"));
  EXPECT_FALSE(c.IsSensitiveKey("other.config.dsn"));
  EXPECT_TRUE(c.IsSensitiveKey("card.PIN"));
  EXPECT_TRUE(c.IsSensitiveKey("payer_iban"));
  EXPECT_FALSE(c.IsSensitiveKey("password"));
}

// --- events ------------------------------------------------------------------

Event EventWithPiiEverywhere() {
  Event e;
  e.id = EventId{1705333643123456789ULL, 7};
  e.time_ns = 1705333643123456789ULL;
  e.source = "app";
  e.service = {"api-gateway", "i-1", "host-1", "1.2.3", "ns", "prod"};
  e.trace.trace_id = *ParseTraceId("4bf92f3577b34da6a3ce929d0e0e4736");
  e.trace.span_id = *ParseSpanId("00f067aa0ba902b7");
  e.severity = Severity::kError;
  e.name = "login a@b.io";
  e.semantic.intent = "reset for a@b.io";
  e.semantic.category = "auth";
  e.semantic.tags = {"user:a@b.io", "plain"};
  e.attributes = {{"user.email", std::string("a@b.io")},
                  {"http.request.header.authorization",
                   std::string("Bearer abc123def456ghi789")},
                  {"db.password", int64_t{1234}},
                  {"password_set", true},
                  {"retries", int64_t{3}},
                  {"order.id", std::string("ORD-2024-000123")}};
  e.entity_refs = {"user/a@b.io", "pool/main"};
  return e;
}

TEST(PiiEvent, EveryFreeTextFieldIsMaskedAndIdentityIsNot) {
  const PiiMasker m = MakeMasker();
  const std::string email = m.TokenFor("email", "a@b.io");

  Event e = EventWithPiiEverywhere();
  const Event before = e;
  SpanData span;
  span.status_message = "failed for a@b.io";
  span.http = HttpInfo{"GET", "/u/a@b.io", "/login?api_key=abc123xyz&x=1",
                       500,   "10.0.0.1",  0,
                       0};
  span.db = DbInfo{"postgresql", "shop", "SELECT",
                   "SELECT * FROM users WHERE email = 'a@b.io'", "users"};
  e.payload = span;

  EXPECT_EQ(m.MaskEvent(&e), 11u);
  EXPECT_EQ(e.name, "login " + email);
  EXPECT_EQ(e.semantic.intent, "reset for " + email);
  EXPECT_EQ(e.semantic.tags[0], "user:" + email);
  EXPECT_EQ(e.entity_refs[0], "user/" + email);
  EXPECT_EQ(std::get<std::string>(e.attributes[0].value), email);
  EXPECT_EQ(std::get<std::string>(e.attributes[1].value),
            "Bearer " + m.TokenFor("bearer", "abc123def456ghi789"));
  EXPECT_EQ(std::get<std::string>(e.attributes[2].value),
            m.TokenFor("secret", "1234"));
  EXPECT_EQ(std::get<bool>(e.attributes[3].value), true);
  EXPECT_EQ(std::get<int64_t>(e.attributes[4].value), 3);
  EXPECT_EQ(std::get<std::string>(e.attributes[5].value), "ORD-2024-000123");
  const SpanData& s = *e.span();
  EXPECT_EQ(s.status_message, "failed for " + email);
  EXPECT_EQ(s.http->route, "/u/" + email);
  EXPECT_EQ(s.http->url,
            "/login?api_key=" + m.TokenFor("api_key", "abc123xyz") + "&x=1");
  EXPECT_EQ(s.http->client_ip, "10.0.0.1");
  EXPECT_EQ(s.db->statement,
            "SELECT * FROM users WHERE email = '" + email + "'");
  // Identity, time and context are never touched.
  EXPECT_EQ(e.id, before.id);
  EXPECT_EQ(e.time_ns, before.time_ns);
  EXPECT_EQ(e.service.name, "api-gateway");
  EXPECT_EQ(e.trace.trace_id, before.trace.trace_id);
  EXPECT_EQ(e.semantic.category, "auth");
  EXPECT_EQ(e.entity_refs[1], "pool/main");
  // Masking an already masked event changes nothing.
  const Event once = e;
  EXPECT_EQ(m.MaskEvent(&e), 0u);
  EXPECT_EQ(e, once);
}

TEST(PiiEvent, EveryPayloadLayer) {
  const PiiMasker m = MakeMasker();
  const std::string email = m.TokenFor("email", "a@b.io");
  auto masked = [&](Payload p) {
    Event e;
    e.payload = std::move(p);
    m.MaskEvent(&e);
    return e;
  };
  {
    LogData l{"login by a@b.io", "auth.logger", "a@b.io.cc", 3};
    const Event e = masked(l);
    EXPECT_EQ(e.log()->body, "login by " + email);
    EXPECT_EQ(e.log()->logger, "auth.logger");
  }
  {
    ErrorData x{"E(a@b.io)", "no user a@b.io", "at f(a@b.io)", false, false};
    const Event e = masked(x);
    EXPECT_EQ(e.error()->exception_type, "E(" + email + ")");
    EXPECT_EQ(e.error()->message, "no user " + email);
    EXPECT_EQ(e.error()->stacktrace, "at f(" + email + ")");
  }
  {
    KernelData k;
    k.comm = "worker";
    k.filename = "/home/a@b.io/.netrc";
    const Event e = masked(k);
    EXPECT_EQ(e.kernel()->filename, "/home/" + email + "/.netrc");
    EXPECT_EQ(e.kernel()->comm, "worker");
  }
  {
    KubernetesData k{
        "prod",          "api-7d9f8c6b5-x2x4z",  "api", "node-1", "Pod",
        "Failed a@b.io", "token=abc123 rejected"};
    const Event e = masked(k);
    EXPECT_EQ(e.kubernetes()->pod, "api-7d9f8c6b5-x2x4z");
    EXPECT_EQ(e.kubernetes()->reason, "Failed " + email);
    EXPECT_EQ(e.kubernetes()->message,
              "token=" + m.TokenFor("secret", "abc123") + " rejected");
  }
  {
    EntityStateData s{"user/a@b.io",
                      "user",
                      {{"email", "a@b.io"},
                       {"password", "hunter2"},
                       {"plan", "pro"},
                       {"last_login", "2024-01-15T15:47:23Z"}},
                      false};
    const Event e = masked(s);
    const EntityStateData& d = *e.entity_state();
    EXPECT_EQ(d.entity, "user/" + email);
    EXPECT_EQ(d.fields[0].value, email);
    EXPECT_EQ(d.fields[1].value, m.TokenFor("secret", "hunter2"));
    EXPECT_EQ(d.fields[2].value, "pro");
    EXPECT_EQ(d.fields[3].value, "2024-01-15T15:47:23Z");
  }
  {
    UiInteractionData u{"type a@b.io", "#email a@b.io", "/p?email=a@b.io",
                        "550e8400-e29b-41d4-a716-446655440000", "a@b.io"};
    const Event e = masked(u);
    EXPECT_EQ(e.ui()->action, "type " + email);
    EXPECT_EQ(e.ui()->target, "#email " + email);
    EXPECT_EQ(e.ui()->page, "/p?email=" + email);
    EXPECT_EQ(e.ui()->session_id, "550e8400-e29b-41d4-a716-446655440000");
    EXPECT_EQ(e.ui()->user_id, email);
  }
  {
    MetricData md;
    md.unit = "a@b.io";  // a unit is a name, not free text
    EXPECT_EQ(masked(md).metric()->unit, "a@b.io");
  }
}

TEST(PiiEvent, ConcurrentMaskingGivesTheSameResult) {
  PiiOptions o;
  o.patterns = {{"ssn", R"(\d{3}-\d{2}-\d{4})"}};
  const PiiMasker m = MakeMasker(o);
  std::vector<std::string> expected;
  for (const Positive& p : Positives()) expected.push_back(Masked(m, p.text));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const PiiMasker copy = m;  // copies share the compiled state
      for (int round = 0; round < 50; ++round) {
        for (size_t i = 0; i < Positives().size(); ++i) {
          if (Masked(copy, Positives()[i].text) != expected[i]) {
            ++mismatches[t];
          }
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int n : mismatches) EXPECT_EQ(n, 0);
}

}  // namespace
}  // namespace traversion
