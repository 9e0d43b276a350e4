// traversion/pii.h — masking personal data and secrets before they reach disk.
//
// A PiiMasker replaces e-mail addresses, payment card numbers (Luhn-checked),
// bearer tokens and other Authorization credentials, API keys, JWTs, values of
// secret-named keys and any configured pattern by a token such as
//
//     <email:9f3a1c0e7b21>
//
// the detector's tag and a truncated keyed hash (SipHash-2-4 under a key
// derived from PiiOptions::key) of the value. Equal values under the same key
// give equal tokens, so joins and group-bys on masked values still work;
// without the key the tokens cannot be reversed by hashing guesses. What each
// detector matches, and what it deliberately leaves alone (order ids,
// timestamps, UUIDs, trace ids, version strings, IP addresses, hex hashes,
// digit runs that fail the Luhn check), is in docs/pii.md.
//
// The Recorder masks every event with one before handing it to the store;
// the masker is also usable on its own.
//
// Thread safety: a PiiMasker is immutable after Create(). All its methods are
// const and may be called from any number of threads at once; copies share
// the same compiled state (a copy is cheap).
#ifndef TRAVERSION_PII_H_
#define TRAVERSION_PII_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "traversion/event.h"

namespace traversion {

// A configured extra detector.
struct PiiPattern {
  // The tag of its tokens: 1 to 32 characters of [a-z0-9_], e.g. "ssn".
  std::string name;
  // An RE2 regular expression (linear-time: no backreferences or
  // lookaround). If it has a capturing group, only the text of the first
  // group is masked (`ssn=(\d{3}-\d{2}-\d{4})` keeps "ssn="); otherwise the
  // whole match is. A pattern that can match the empty string is refused.
  std::string regex;
};

// The attribute-name rules in force when PiiOptions::attribute_rules is left
// at its default: password, passwd, pwd, secret, token, authorization,
// proxy-authorization, cookie, set-cookie, api_key, apikey, x-api-key,
// access_token, refresh_token, id_token, client_secret, private_key,
// credentials, ssn, and the globs *password*, *passwd*, *secret, *_token,
// *api_key, *apikey, *private_key (so "db_password", "stripe_secret",
// "x-goog-api-key" match). The list is in docs/pii.md.
std::vector<std::string> DefaultPiiAttributeRules();

struct PiiOptions {
  // Masking on or off. Default: on.
  bool enabled = true;

  // The secret of the keyed hash. Any length; it is compressed to a 128-bit
  // SipHash key. Keep it stable (for example stored with the data) for tokens
  // to join across restarts and processes. Empty: Create() draws a random key
  // for this masker, so tokens join only among values it masked.
  std::string key;

  // The built-in text detectors, each on by default.
  bool detect_emails = true;
  // 13 to 19 digits, contiguous or grouped by single spaces or dashes
  // (4-4-4-4, 4-6-5, ...), with a card-network prefix and a valid Luhn
  // check digit.
  bool detect_cards = true;
  // "Bearer <token>" anywhere, and the credentials after "Authorization:" or
  // "Proxy-Authorization:" (the scheme word stays readable).
  bool detect_bearer = true;
  // Well-known key prefixes: sk_live_/sk_test_/rk_live_/rk_test_ (Stripe),
  // AKIA/ASIA (AWS access key ids), ghp_/gho_/ghu_/ghs_/ghr_/github_pat_
  // (GitHub), xoxb-/xoxa-/xoxp-/xoxr-/xoxs- (Slack), glpat- (GitLab), AIza
  // (Google), npm_ (npm).
  bool detect_api_keys = true;
  // Three base64url segments joined by dots whose header starts "eyJ".
  bool detect_jwts = true;
  // In free text, `name=value`, `name: value` and `"name": "value"` where
  // `name` matches an attribute rule: the value is masked (so
  // "?api_key=abc&x=1" keeps "?api_key=" and "&x=1").
  bool detect_key_values = true;

  // Extra detectors. They run over the same text as the built-in ones; where
  // matches of any detectors overlap, the one starting first wins (the longer
  // one on a tie, a configured pattern on equal ranges).
  std::vector<PiiPattern> patterns;

  // Attribute-name rules: an attribute (or entity-state field) whose key
  // matches one has its whole value masked, whatever it contains. Matching
  // is case-insensitive, treats '-' and '_' alike, and is done against the
  // last dot-separated segment of the key ("http.request.header.authorization"
  // matches "authorization"); a rule containing a dot is matched against the
  // whole key instead. '*' in a rule matches any run of characters.
  std::vector<std::string> attribute_rules = DefaultPiiAttributeRules();

  // Hex digits of the keyed hash in a token, 8 to 16. Default 12 (48 bits:
  // among a million distinct values the chance that any two share a token
  // is about 0.2 %).
  int token_hex_digits = 12;
};

namespace pii_internal {
class MaskerState;
}  // namespace pii_internal

class PiiMasker {
 public:
  // Compiles `options`. InvalidArgument on a bad pattern (syntax, empty
  // match, bad name), a bad attribute rule (empty) or token_hex_digits out
  // of range.
  static absl::StatusOr<PiiMasker> Create(const PiiOptions& options);

  // A masker that masks nothing (as with enabled = false; TokenFor still
  // works, under a random key).
  PiiMasker();

  // Masks every free-text field of `*e` in place: name, semantic intent,
  // category and tags, attribute string values (and the whole value of
  // attributes named by a rule), entity refs, and in the payload the span
  // status message, HTTP url and route, DB statement, log body, error type,
  // message and stack trace, kernel filename, Kubernetes reason and message,
  // entity name and field values (fields named by a rule wholly), and every
  // UI field. Ids, times, trace context, service identity, severities,
  // numbers and the other names are never touched. Returns the number of
  // values replaced.
  size_t MaskEvent(Event* e) const;

  // Runs the text detectors over `*text`, replacing what they find. Returns
  // the number of values replaced (0: the string is unchanged).
  size_t MaskText(std::string* text) const;

  // The token that replaces `value` found by the detector tagged `tag`
  // ("email", "card", ... or a pattern's name): "<tag:hash>". Card numbers
  // are hashed by their digits alone and e-mail addresses lowercased, so
  // "4111 1111 1111 1111" and "4111-1111-1111-1111" give the same token.
  std::string TokenFor(absl::string_view tag, absl::string_view value) const;

  // Whether an attribute key matches one of the attribute rules.
  bool IsSensitiveKey(absl::string_view key) const;

  bool enabled() const;

 private:
  explicit PiiMasker(std::shared_ptr<const pii_internal::MaskerState> state);
  std::shared_ptr<const pii_internal::MaskerState> state_;
};

}  // namespace traversion

#endif  // TRAVERSION_PII_H_
