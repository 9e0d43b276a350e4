// The TimeQL lexer: token kinds, values and byte ranges.
#include "timeql/lexer.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace traversion::timeql {
namespace {

// "kind:text@begin-end" per token, without the final end token.
std::string Tokens(absl::string_view text) {
  absl::StatusOr<std::vector<Token>> tokens = Lex(text);
  if (!tokens.ok()) return absl::StrCat("ERROR: ", tokens.status().message());
  std::vector<std::string> parts;
  for (const Token& token : *tokens) {
    if (token.kind == TokenKind::kEnd) break;
    std::string value;
    switch (token.kind) {
      case TokenKind::kInt:
      case TokenKind::kDuration:
        value = absl::StrCat("=", token.int_value);
        break;
      case TokenKind::kFloat:
      case TokenKind::kPercent:
        value = absl::StrCat("=", token.float_value);
        break;
      default:
        break;
    }
    parts.push_back(absl::StrCat(TokenKindName(token.kind), ":", token.text,
                                 value, "@", token.range.begin, "-",
                                 token.range.end));
  }
  return absl::StrJoin(parts, " ");
}

TEST(LexerTest, WordsAndKeywords) {
  absl::StatusOr<std::vector<Token>> tokens =
      Lex("select Where errorRate error_occurred _x");
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 6u);
  EXPECT_EQ((*tokens)[0].keyword, Keyword::kNone);
  EXPECT_EQ((*tokens)[1].keyword, Keyword::kWhere);
  EXPECT_EQ((*tokens)[1].text, "Where");
  EXPECT_EQ((*tokens)[2].text, "errorRate");
  EXPECT_EQ((*tokens)[3].text, "error_occurred");
  EXPECT_EQ((*tokens)[4].text, "_x");
  EXPECT_EQ((*tokens)[5].kind, TokenKind::kEnd);
  EXPECT_EQ((*tokens)[5].range.begin, 40u);
  EXPECT_EQ(KeywordOf("followed"), Keyword::kFollowed);
  EXPECT_EQ(KeywordOf("FoLLoWiNg"), Keyword::kFollowing);
  EXPECT_EQ(KeywordOf("followd"), Keyword::kNone);
  EXPECT_TRUE(IsReserved(Keyword::kWhere));
  EXPECT_FALSE(IsReserved(Keyword::kState));
  EXPECT_FALSE(IsReserved(Keyword::kWindow));
}

TEST(LexerTest, StringsAndQuotedIdentifiers) {
  EXPECT_EQ(Tokens("'it''s' \"a \"\"b\"\"\" ''"),
            "string:it's@0-7 quoted name:a \"b\"@8-17 string:@18-20");
  EXPECT_EQ(Tokens("'two\nlines'"), "string:two\nlines@0-11");
  EXPECT_EQ(Tokens("'open"),
            "ERROR: 1:1: unterminated string: missing closing '\n'open\n^~~~~");
  EXPECT_EQ(Tokens("\"\""), "ERROR: 1:1: empty quoted identifier\n\"\"\n^~");
}

TEST(LexerTest, Numbers) {
  EXPECT_EQ(Tokens("42 4.5 1e3 2.5E-2 0"),
            "integer:42=42@0-2 number:4.5=4.5@3-6 number:1e3=1000@7-10 "
            "number:2.5E-2=0.025@11-17 integer:0=0@18-19");
  EXPECT_EQ(Tokens("80% 99.5%"),
            "percentage:80%=80@0-3 percentage:99.5%=99.5@4-9");
  EXPECT_EQ(Tokens("5.x"), "integer:5=5@0-1 '.':.@1-2 name:x@2-3");
  EXPECT_EQ(Tokens("9223372036854775807"),
            "integer:9223372036854775807=9223372036854775807@0-19");
  EXPECT_EQ(Tokens("9223372036854775808").substr(0, 30),
            "ERROR: 1:1: integer out of ran");
}

TEST(LexerTest, Durations) {
  EXPECT_EQ(Tokens("200ms"), "duration:200ms=200000000@0-5");
  EXPECT_EQ(Tokens("5 minutes"), "duration:5 minutes=300000000000@0-9");
  EXPECT_EQ(Tokens("5\n  MINUTES)"),
            "duration:5\n  MINUTES=300000000000@0-11 ')':)@11-12");
  EXPECT_EQ(Tokens("1h30m"), "duration:1h30m=5400000000000@0-5");
  EXPECT_EQ(Tokens("1.5s"), "duration:1.5s=1500000000@0-4");
  EXPECT_EQ(Tokens("3 ns 4us 5µs 6 sec 7 min 8 hr 9 d 2 w"),
            "duration:3 ns=3@0-4 duration:4us=4000@5-8 "
            "duration:5µs=5000@9-13 duration:6 sec=6000000000@14-19 "
            "duration:7 min=420000000000@20-25 "
            "duration:8 hr=28800000000000@26-30 "
            "duration:9 d=777600000000000@31-34 "
            "duration:2 w=1209600000000000@35-38");
  // A word after a number that is not a unit stays a separate token.
  EXPECT_EQ(Tokens("5 AND"), "integer:5=5@0-1 name:AND@2-5");
  EXPECT_EQ(Tokens("5 seconds2"), "integer:5=5@0-1 name:seconds2@2-10");
}

TEST(LexerTest, DurationErrors) {
  EXPECT_EQ(Tokens("5parsecs"),
            "ERROR: 1:1: unknown duration unit 'parsecs' (ns, us, ms, s, m, "
            "h, d, w or their names: seconds, minutes...)\n5parsecs\n^~~~~~~~");
  EXPECT_EQ(Tokens("5s_"), "ERROR: 1:1: invalid number '5s_'\n5s_\n^~~");
  EXPECT_EQ(Tokens("1e3ms"), "ERROR: 1:1: invalid number '1e3ms'\n1e3ms\n^~~~");
  EXPECT_EQ(Tokens("99999999999d").substr(0, 36),
            "ERROR: 1:1: duration out of range\n99");
}

TEST(LexerTest, Operators) {
  EXPECT_EQ(Tokens("= == != <> < <= > >= =~ !~ + - * / ( ) [ ] , . ;"),
            "'=':=@0-1 '=':==@2-4 '!=':!=@5-7 '!=':<>@8-10 '<':<@11-12 "
            "'<=':<=@13-15 '>':>@16-17 '>=':>=@18-20 '=~':=~@21-23 "
            "'!~':!~@24-26 '+':+@27-28 '-':-@29-30 '*':*@31-32 '/':/@33-34 "
            "'(':(@35-36 ')':)@37-38 '[':[@39-40 ']':]@41-42 ',':,@43-44 "
            "'.':.@45-46 ';':;@47-48");
  EXPECT_EQ(Tokens("a<=b"), "name:a@0-1 '<=':<=@1-3 name:b@3-4");
}

TEST(LexerTest, Comments) {
  EXPECT_EQ(Tokens("a -- comment = 'x\nb--c"), "name:a@0-1 name:b@18-19");
  EXPECT_EQ(Tokens("a - -b"), "name:a@0-1 '-':-@2-3 '-':-@4-5 name:b@5-6");
  EXPECT_EQ(Tokens("-- only"), "");
}

TEST(LexerTest, UnknownCharacters) {
  EXPECT_EQ(Tokens("a @ b"),
            "ERROR: 1:3: unexpected character '@'\na @ b\n  ^");
  EXPECT_EQ(Tokens(absl::string_view("a\0b", 3)),
            absl::StrCat("ERROR: 1:2: unexpected character '\\x00'\n",
                         absl::string_view("a\0b", 3), "\n ^"));
}

}  // namespace
}  // namespace traversion::timeql
