// PiiMasker: the compiled options (MaskerState) and the walk over an Event.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pii/detectors.h"
#include "pii/siphash.h"
#include "re2/re2.h"
#include "re2/set.h"
#include "traversion/pii.h"

namespace traversion {

std::vector<std::string> DefaultPiiAttributeRules() {
  return {"password",
          "passwd",
          "pwd",
          "secret",
          "token",
          "authorization",
          "proxy-authorization",
          "cookie",
          "set-cookie",
          "api_key",
          "apikey",
          "x-api-key",
          "access_token",
          "refresh_token",
          "id_token",
          "client_secret",
          "private_key",
          "credentials",
          "ssn",
          "*password*",
          "*passwd*",
          "*secret",
          "*_token",
          "*api_key",
          "*apikey",
          "*private_key"};
}

namespace pii_internal {
namespace {

// Rules and keys are compared lowercased with '-' read as '_'.
char NormalizeKeyChar(char c) {
  return c == '-' ? '_' : absl::ascii_tolower(static_cast<unsigned char>(c));
}

std::string NormalizeKey(absl::string_view key) {
  std::string out(key.size(), '\0');
  for (size_t i = 0; i < key.size(); ++i) out[i] = NormalizeKeyChar(key[i]);
  return out;
}

// '*' matches any run of characters (possibly empty); everything else itself.
bool GlobMatch(absl::string_view glob, absl::string_view s) {
  size_t g = 0, i = 0;
  size_t star = absl::string_view::npos, resume = 0;
  while (i < s.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      resume = i;
    } else if (g < glob.size() && glob[g] == s[i]) {
      ++g;
      ++i;
    } else if (star != absl::string_view::npos) {
      g = star + 1;
      i = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

bool ValidPatternName(absl::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

// How common a pair of characters is in attribute keys and prose: 0 for
// rare, higher for more common.
size_t PairRank(absl::string_view pair) {
  static constexpr absl::string_view kCommon[] = {
      "re", "se", "co", "pr", "id", "ac", "to", "en", "on", "er", "in",
      "th", "es", "st", "at", "te", "ti", "ra", "ed", "or", "nt", "is",
      "ar", "al", "an", "ri", "ro", "le", "de", "me", "ce", "ur", "us",
      "ok", "ey", "oo", "ke", "ap", "pa", "ss", "au", "ut", "ho", "ie",
      "i_", "_t", "as", "et", "cr", "pi", "ia"};
  for (size_t i = 0; i < std::size(kCommon); ++i) {
    if (kCommon[i] == pair) return std::size(kCommon) - i;
  }
  return 0;
}

// A character the vector pair filter can look for (after folding letters
// to lower case and '-' to '_').
bool PairFilterChar(char c) {
  return absl::ascii_islower(static_cast<unsigned char>(c)) ||
         absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_';
}

// The pairs of adjacent characters of the normalized `rule` the vector pair
// filter can look for: every key matching the rule contains each of them.
std::vector<std::string> RulePairs(absl::string_view rule) {
  std::vector<std::string> pairs;
  for (size_t i = 0; i + 1 < rule.size(); ++i) {
    const char a = rule[i];
    const char b = rule[i + 1];
    if (PairFilterChar(a) && PairFilterChar(b) && !(a == '_' && b == '_')) {
      pairs.emplace_back(rule.substr(i, 2));
    }
  }
  return pairs;
}

// A KeyPairFilter for the normalized `rules`: a small set of pairs such that
// each rule holds one (greedy set cover: the pair in most rules not yet
// covered per comparison it costs, weighed against how common it is; the
// rarer on a tie). Not usable if some rule has no pair or too many are
// needed. For the default rules: sw ke ec iz ki pw ls sn.
KeyPairFilter BuildKeyPairs(const std::vector<std::string>& rules) {
  KeyPairFilter filter;
  filter.usable = true;
  std::vector<std::vector<std::string>> open;
  for (const std::string& rule : rules) {
    std::vector<std::string> pairs = RulePairs(rule);
    if (pairs.empty()) {
      filter.usable = false;
      filter.Finish();
      return filter;
    }
    open.push_back(std::move(pairs));
  }
  while (!open.empty()) {
    std::string best;
    double best_score = 0;
    size_t best_rank = 0;
    for (const std::vector<std::string>& candidates : open) {
      for (const std::string& pair : candidates) {
        size_t covers = 0;
        for (const std::vector<std::string>& other : open) {
          if (std::find(other.begin(), other.end(), pair) != other.end()) {
            ++covers;
          }
        }
        // Fewer comparisons, and pairs rare in ordinary text (so that
        // prose before a ':' rarely passes the filter).
        const double cost = (pair[0] == '_' || pair[1] == '_') ? 2 : 1;
        const size_t rank = PairRank(pair);
        const double score = static_cast<double>(covers) / cost /
                             (1 + static_cast<double>(rank) / 8);
        if (best.empty() || score > best_score ||
            (score == best_score && rank < best_rank)) {
          best = pair;
          best_score = score;
          best_rank = rank;
        }
      }
    }
    if (!filter.Add(best[0], best[1])) {
      filter.usable = false;
      filter.Finish();
      return filter;
    }
    open.erase(std::remove_if(open.begin(), open.end(),
                              [&best](const std::vector<std::string>& c) {
                                return std::find(c.begin(), c.end(), best) !=
                                       c.end();
                              }),
               open.end());
  }
  filter.Finish();
  return filter;
}

re2::StringPiece Piece(absl::string_view s) {
  return re2::StringPiece(s.data(), s.size());
}

}  // namespace

class MaskerState {
 public:
  static absl::StatusOr<std::shared_ptr<const MaskerState>> Create(
      const PiiOptions& options);

  size_t MaskText(std::string* text) const;
  size_t MaskEvent(Event* e) const;
  // The longest token: '<', a name of up to 32 characters, ':', up to 16
  // hex digits, '>'.
  static constexpr size_t kMaxToken = 1 + 32 + 1 + 16 + 1;
  // Writes the token for `value` under the tag `name` to `buf` (at least
  // name.size() + 19 bytes: kMaxToken for a tag of up to 32 characters);
  // returns its length. Allocates only to normalize an
  // e-mail address or card number longer than 256 bytes.
  size_t WriteToken(absl::string_view name, absl::string_view value,
                    char* buf) const;
  std::string TokenFor(absl::string_view tag_name,
                       absl::string_view value) const;
  bool IsSensitiveKey(absl::string_view key) const;
  bool enabled() const { return options_.enabled; }

 private:
  struct Pattern {
    std::string name;
    std::unique_ptr<RE2> re;
    bool masks_group = false;
  };
  struct Rule {
    std::string text;  // normalized
    bool whole_key = false;
    bool glob = false;
  };
  // A necessary condition for any rule to match a key: every rule holds a
  // literal piece of >= 2 characters, so a matching key contains that
  // piece's first two characters. One bit per byte pair; keys with none of
  // the pairs (most keys) are rejected in one pass.
  struct BigramFilter {
    bool usable = true;  // false: some rule has no 2-character literal
    std::vector<uint64_t> bits = std::vector<uint64_t>(65536 / 64, 0);
    void Add(absl::string_view rule);
    bool MayMatch(absl::string_view normalized_key) const;
  };

  absl::string_view TagName(uint16_t tag) const {
    return tag >= kFirstCustom
               ? absl::string_view(patterns_[tag - kFirstCustom].name)
               : BuiltinTagName(tag);
  }
  void FindPatterns(absl::string_view text, Matches* out) const;
  size_t MaskWhole(absl::string_view key, std::string* value) const;
  size_t MaskAttribute(Attribute* a) const;
  size_t MaskField(std::string* s) const {
    return s->empty() ? 0 : MaskText(s);
  }

  PiiOptions options_;
  SipKey key_;
  std::vector<Pattern> patterns_;
  // One pass over the text says whether any pattern can match at all.
  std::unique_ptr<RE2::Set> pattern_set_;
  // Exact rules, looked up by length first (a key's length picks the one or
  // two rules it can equal; no hashing).
  class ExactRules {
   public:
    void Insert(std::string rule) {
      if (rule.size() >= by_length_.size()) by_length_.resize(rule.size() + 1);
      std::vector<std::string>& bucket = by_length_[rule.size()];
      if (std::find(bucket.begin(), bucket.end(), rule) == bucket.end()) {
        bucket.push_back(std::move(rule));
      }
    }
    bool empty() const { return by_length_.empty(); }
    bool contains(absl::string_view key) const {
      if (key.size() >= by_length_.size()) return false;
      for (const std::string& r : by_length_[key.size()]) {
        if (r == key) return true;
      }
      return false;
    }

   private:
    std::vector<std::vector<std::string>> by_length_;
  };
  ExactRules exact_segment_rules_;
  ExactRules exact_key_rules_;
  std::vector<Rule> glob_rules_;
  BigramFilter rule_filter_;
  // The same necessary condition in a form the text scan and the key check
  // test 16 bytes at a time.
  KeyPairFilter key_pairs_;
  // Some rule has a dot: it is matched against the whole key.
  bool whole_key_rules_ = false;
  // The ScanHints bits of the detectors that are on.
  uint32_t hint_mask_ = 0;
  ScanHintsFn scan_hints_ = BestScanHints();
};

void MaskerState::BigramFilter::Add(absl::string_view rule) {
  // The longest literal piece between '*'s.
  absl::string_view best;
  size_t start = 0;
  while (start <= rule.size()) {
    size_t end = rule.find('*', start);
    if (end == absl::string_view::npos) end = rule.size();
    if (end - start > best.size()) best = rule.substr(start, end - start);
    start = end + 1;
  }
  if (best.size() < 2) {
    usable = false;
    return;
  }
  // Of the piece's pairs, the one least common in attribute keys and prose,
  // so that ordinary keys ("http.request.method") rarely pass.
  size_t pick = 0;
  for (size_t i = 1; i + 1 < best.size(); ++i) {
    if (PairRank(best.substr(i, 2)) < PairRank(best.substr(pick, 2))) pick = i;
  }
  const unsigned pair = (static_cast<uint8_t>(best[pick]) << 8) |
                        static_cast<uint8_t>(best[pick + 1]);
  bits[pair / 64] |= uint64_t{1} << (pair % 64);
}

bool MaskerState::BigramFilter::MayMatch(absl::string_view key) const {
  if (!usable) return true;
  for (size_t i = 0; i + 1 < key.size(); ++i) {
    const unsigned pair =
        (static_cast<uint8_t>(key[i]) << 8) | static_cast<uint8_t>(key[i + 1]);
    if (bits[pair / 64] & (uint64_t{1} << (pair % 64))) return true;
  }
  return false;
}

absl::StatusOr<std::shared_ptr<const MaskerState>> MaskerState::Create(
    const PiiOptions& options) {
  auto state = std::make_shared<MaskerState>();
  state->options_ = options;
  if (options.token_hex_digits < 8 || options.token_hex_digits > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("PiiOptions.token_hex_digits must be 8..16, got ",
                     options.token_hex_digits));
  }
  if (options.key.empty()) {
    absl::BitGen gen;  // seeded from the OS's entropy
    state->key_.k0 = absl::Uniform<uint64_t>(gen);
    state->key_.k1 = absl::Uniform<uint64_t>(gen);
  } else {
    state->key_ = DeriveSipKey(options.key);
  }

  std::vector<std::string> normalized_rules;
  for (const std::string& rule : options.attribute_rules) {
    if (rule.empty() || rule.find_first_not_of('*') == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("PiiOptions.attribute_rules: rule '", rule,
                       "' is empty or matches every key"));
    }
    Rule r{NormalizeKey(rule), rule.find('.') != std::string::npos,
           rule.find('*') != std::string::npos};
    state->rule_filter_.Add(r.text);
    normalized_rules.push_back(r.text);
    if (r.whole_key) state->whole_key_rules_ = true;
    if (r.glob) {
      state->glob_rules_.push_back(std::move(r));
    } else if (r.whole_key) {
      state->exact_key_rules_.Insert(std::move(r.text));
    } else {
      state->exact_segment_rules_.Insert(std::move(r.text));
    }
  }

  state->key_pairs_ = BuildKeyPairs(normalized_rules);
  if (options.detect_emails) state->hint_mask_ |= kHintAt;
  if (options.detect_cards) state->hint_mask_ |= kHintCardRun;
  if (options.detect_bearer) state->hint_mask_ |= kHintB | kHintKeyValue;
  if (options.detect_api_keys) state->hint_mask_ |= kHintKeyPrefix;
  if (options.detect_jwts) state->hint_mask_ |= kHintJ;
  if (options.detect_key_values) state->hint_mask_ |= kHintKeyValue;

  RE2::Options re_options;
  re_options.set_log_errors(false);
  if (!options.patterns.empty()) {
    state->pattern_set_ =
        std::make_unique<RE2::Set>(re_options, RE2::UNANCHORED);
  }
  for (const PiiPattern& p : options.patterns) {
    if (!ValidPatternName(p.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("PiiOptions.patterns: name '", p.name,
                       "' must be 1 to 32 characters of [a-z0-9_]"));
    }
    auto re = std::make_unique<RE2>(Piece(p.regex), re_options);
    if (!re->ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PiiOptions.patterns: '", p.name, "': bad regular expression '",
          p.regex, "': ", re->error()));
    }
    if (RE2::PartialMatch("", *re)) {
      return absl::InvalidArgumentError(
          absl::StrCat("PiiOptions.patterns: '", p.name, "': '", p.regex,
                       "' matches the empty string"));
    }
    std::string error;
    if (state->pattern_set_->Add(Piece(p.regex), &error) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("PiiOptions.patterns: '", p.name, "': ", error));
    }
    const bool group = re->NumberOfCapturingGroups() > 0;
    state->patterns_.push_back({p.name, std::move(re), group});
  }
  if (state->pattern_set_ != nullptr && !state->pattern_set_->Compile()) {
    // Too large for the set's memory budget: every pattern runs on its own.
    state->pattern_set_.reset();
  }
  return std::shared_ptr<const MaskerState>(std::move(state));
}

size_t MaskerState::WriteToken(absl::string_view name, absl::string_view value,
                               char* buf) const {
  // Cards hash by their digits alone, e-mail addresses lowercased, so
  // spellings of one value join.
  char small[256];
  std::string large;
  const bool card = name == "card";
  if (card || name == "email") {
    char* out = small;
    if (value.size() > sizeof(small)) {
      large.resize(value.size());
      out = large.data();
    }
    size_t n = 0;
    if (card) {
      for (char c : value) {
        if (c >= '0' && c <= '9') out[n++] = c;
      }
    } else {
      for (char c : value) {
        out[n++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
      }
    }
    value = absl::string_view(out, n);
  }
  const uint64_t h = SipHash24(key_, value);
  const int digits = options_.token_hex_digits;
  static constexpr char kHex[] = "0123456789abcdef";
  size_t len = 0;
  buf[len++] = '<';
  std::memcpy(buf + len, name.data(), name.size());
  len += name.size();
  buf[len++] = ':';
  for (int i = 0; i < digits; ++i) buf[len++] = kHex[(h >> (60 - 4 * i)) & 0xf];
  buf[len++] = '>';
  return len;
}

std::string MaskerState::TokenFor(absl::string_view name,
                                  absl::string_view value) const {
  std::string out(name.size() + kMaxToken, '\0');
  out.resize(WriteToken(name, value, out.data()));
  return out;
}

bool MaskerState::IsSensitiveKey(absl::string_view key) const {
  // Most keys fail the pair filter; the rest are normalized (the last
  // segment only, unless a rule names whole keys) into a stack buffer.
  if (key.empty() || !key_pairs_.MayMatch(key)) return false;
  char buf[128];
  std::string heap;
  auto normalize = [&](absl::string_view s) {
    char* out = buf;
    if (s.size() > sizeof(buf)) {
      heap.resize(s.size());
      out = heap.data();
    }
    for (size_t i = 0; i < s.size(); ++i) out[i] = NormalizeKeyChar(s[i]);
    return absl::string_view(out, s.size());
  };
  if (!whole_key_rules_) {
    const size_t dot = key.rfind('.');
    const absl::string_view segment =
        normalize(dot == absl::string_view::npos ? key : key.substr(dot + 1));
    if (exact_segment_rules_.contains(segment)) return true;
    for (const Rule& r : glob_rules_) {
      if (GlobMatch(r.text, segment)) return true;
    }
    return false;
  }
  const absl::string_view norm = normalize(key);
  if (!rule_filter_.MayMatch(norm)) return false;
  const size_t dot = norm.rfind('.');
  const absl::string_view segment =
      dot == absl::string_view::npos ? norm : norm.substr(dot + 1);
  if (exact_segment_rules_.contains(segment)) return true;
  if (!exact_key_rules_.empty() && exact_key_rules_.contains(norm)) return true;
  for (const Rule& r : glob_rules_) {
    if (GlobMatch(r.text, r.whole_key ? norm : segment)) return true;
  }
  return false;
}

void MaskerState::FindPatterns(absl::string_view text, Matches* out) const {
  const re2::StringPiece piece = Piece(text);
  std::vector<int> hits;
  if (pattern_set_ != nullptr) {
    RE2::Set::ErrorInfo info{};
    if (!pattern_set_->Match(piece, &hits, &info)) {
      if (info.kind == RE2::Set::kNoError) return;  // no pattern matches
      hits.clear();  // the DFA gave up: try every pattern
    }
  }
  if (hits.empty()) {
    for (size_t i = 0; i < patterns_.size(); ++i) {
      hits.push_back(static_cast<int>(i));
    }
  }
  for (int index : hits) {
    const Pattern& p = patterns_[index];
    re2::StringPiece sub[2];
    size_t pos = 0;
    while (pos <= text.size() &&
           p.re->Match(piece, pos, text.size(), RE2::UNANCHORED, sub, 2)) {
      const size_t begin = sub[0].data() - text.data();
      const size_t end = begin + sub[0].size();
      pos = end > begin ? end : end + 1;
      re2::StringPiece masked = sub[0];
      if (p.masks_group) {
        if (sub[1].data() == nullptr) continue;  // the group did not take part
        masked = sub[1];
      }
      if (masked.empty()) continue;
      const size_t m_begin = masked.data() - text.data();
      out->push_back({m_begin, m_begin + masked.size(),
                      static_cast<uint16_t>(kFirstCustom + index)});
    }
  }
}

size_t MaskerState::MaskText(std::string* text) const {
  if (!options_.enabled || text->empty()) return 0;
  const absl::string_view t(*text);
  // Only the hints of detectors that are on; none and no patterns: done.
  const uint32_t hints = scan_hints_(t) & hint_mask_;
  if (hints == 0 && patterns_.empty()) return 0;
  Matches found;
  if (options_.detect_emails && (hints & kHintAt)) FindEmails(t, &found);
  if (options_.detect_cards && (hints & kHintCardRun)) FindCards(t, &found);
  if (options_.detect_bearer && (hints & kHintB)) FindBearer(t, &found);
  if (options_.detect_api_keys && (hints & kHintKeyPrefix)) {
    FindApiKeys(t, &found);
  }
  if (options_.detect_jwts && (hints & kHintJ)) FindJwts(t, &found);
  if ((options_.detect_key_values || options_.detect_bearer) &&
      (hints & kHintKeyValue) && key_pairs_.MayMatch(t)) {
    // (A sensitive key holds one of the filter's pairs, and so does any
    // text it is in.)
    // With key-value forms off, Authorization headers are still found (they
    // belong to the bearer detector).
    const bool all = options_.detect_key_values;
    FindKeyValues(
        t,
        [this, all](absl::string_view key) {
          if (!IsSensitiveKey(key)) return false;
          return all || absl::EndsWithIgnoreCase(key, "authorization");
        },
        &found);
  }
  if (!patterns_.empty()) FindPatterns(t, &found);
  if (found.empty()) return 0;

  // Where matches overlap, the one that starts first wins, the longer one on
  // a tie; on equal ranges a configured pattern wins over the built-ins.
  if (found.size() > 1) {
    std::sort(found.begin(), found.end(), [](const Match& a, const Match& b) {
      if (a.begin != b.begin) return a.begin < b.begin;
      if (a.end != b.end) return a.end > b.end;
      return a.tag > b.tag;  // a configured pattern, then the more specific tag
    });
  }
  std::string out;
  out.reserve(t.size() + kMaxToken * found.size());
  size_t copied = 0;
  size_t count = 0;
  char token[kMaxToken];
  for (const Match& m : found) {
    if (m.begin < copied || m.end <= m.begin) continue;
    out.append(t.data() + copied, m.begin - copied);
    out.append(token, WriteToken(TagName(m.tag),
                                 t.substr(m.begin, m.end - m.begin), token));
    copied = m.end;
    ++count;
  }
  out.append(t.data() + copied, t.size() - copied);
  *text = std::move(out);
  return count;
}

size_t MaskerState::MaskWhole(absl::string_view key, std::string* value) const {
  if (value->empty() || IsToken(*value)) return 0;
  uint16_t tag;
  const absl::string_view part = SecretPart(key, *value, &tag);
  if (IsToken(part)) return 0;
  const size_t prefix = part.data() - value->data();
  char token[kMaxToken];
  const size_t len = WriteToken(TagName(tag), part, token);
  value->replace(prefix, std::string::npos, token, len);  // in place if it fits
  return 1;
}

size_t MaskerState::MaskAttribute(Attribute* a) const {
  if (!IsSensitiveKey(a->key)) {
    if (auto* s = std::get_if<std::string>(&a->value)) return MaskField(s);
    return 0;
  }
  // A secret-named attribute is masked whatever its type (a numeric PIN is
  // still a PIN); it becomes a string token. Booleans carry no secret.
  std::string text;
  if (auto* s = std::get_if<std::string>(&a->value)) {
    return MaskWhole(a->key, s);
  } else if (auto* i = std::get_if<int64_t>(&a->value)) {
    text = absl::StrCat(*i);
  } else if (auto* d = std::get_if<double>(&a->value)) {
    text = absl::StrCat(*d);
  } else if (auto* b = std::get_if<std::vector<uint8_t>>(&a->value)) {
    if (b->empty()) return 0;
    text.assign(b->begin(), b->end());
  } else {
    return 0;
  }
  MaskWhole(a->key, &text);
  a->value = std::move(text);
  return 1;
}

size_t MaskerState::MaskEvent(Event* e) const {
  if (!options_.enabled) return 0;
  size_t n = MaskField(&e->name);
  n += MaskField(&e->semantic.intent);
  n += MaskField(&e->semantic.category);
  for (std::string& tag : e->semantic.tags) n += MaskField(&tag);
  for (Attribute& a : e->attributes) n += MaskAttribute(&a);
  // Entity names may carry PII ("user/bob@example.com"); masking them is
  // deterministic, so an entity's refs and its state events still agree.
  for (std::string& ref : e->entity_refs) n += MaskField(&ref);

  struct Visitor {
    const MaskerState* m;
    size_t operator()(std::monostate&) const { return 0; }
    size_t operator()(MetricData&) const { return 0; }
    size_t operator()(SpanData& s) const {
      size_t k = m->MaskField(&s.status_message);
      if (s.http.has_value()) {
        k += m->MaskField(&s.http->url);
        k += m->MaskField(&s.http->route);
      }
      if (s.db.has_value()) k += m->MaskField(&s.db->statement);
      return k;
    }
    size_t operator()(LogData& l) const { return m->MaskField(&l.body); }
    size_t operator()(ErrorData& x) const {
      return m->MaskField(&x.exception_type) + m->MaskField(&x.message) +
             m->MaskField(&x.stacktrace);
    }
    size_t operator()(KernelData& k) const { return m->MaskField(&k.filename); }
    size_t operator()(KubernetesData& k) const {
      return m->MaskField(&k.reason) + m->MaskField(&k.message);
    }
    size_t operator()(EntityStateData& s) const {
      size_t k = m->MaskField(&s.entity);
      for (EntityField& f : s.fields) {
        k += m->IsSensitiveKey(f.name) ? m->MaskWhole(f.name, &f.value)
                                       : m->MaskField(&f.value);
      }
      return k;
    }
    size_t operator()(UiInteractionData& u) const {
      return m->MaskField(&u.action) + m->MaskField(&u.target) +
             m->MaskField(&u.page) + m->MaskField(&u.session_id) +
             m->MaskField(&u.user_id);
    }
  };
  n += std::visit(Visitor{this}, e->payload);
  return n;
}

}  // namespace pii_internal

absl::StatusOr<PiiMasker> PiiMasker::Create(const PiiOptions& options) {
  auto state = pii_internal::MaskerState::Create(options);
  if (!state.ok()) return state.status();
  return PiiMasker(*std::move(state));
}

PiiMasker::PiiMasker()
    : state_(*pii_internal::MaskerState::Create(PiiOptions{.enabled = false})) {
}

PiiMasker::PiiMasker(std::shared_ptr<const pii_internal::MaskerState> state)
    : state_(std::move(state)) {}

size_t PiiMasker::MaskEvent(Event* e) const { return state_->MaskEvent(e); }

size_t PiiMasker::MaskText(std::string* text) const {
  return state_->MaskText(text);
}

std::string PiiMasker::TokenFor(absl::string_view tag,
                                absl::string_view value) const {
  return state_->TokenFor(tag, value);
}

bool PiiMasker::IsSensitiveKey(absl::string_view key) const {
  return state_->IsSensitiveKey(key);
}

bool PiiMasker::enabled() const { return state_->enabled(); }

}  // namespace traversion
