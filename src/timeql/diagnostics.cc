#include "timeql/diagnostics.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace traversion::timeql {
namespace {

bool IsContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Characters (code points) in text[begin, end).
int CountChars(absl::string_view text, size_t begin, size_t end) {
  int count = 0;
  for (size_t i = begin; i < end && i < text.size(); ++i) {
    if (!IsContinuationByte(text[i])) ++count;
  }
  return count;
}

}  // namespace

LineCol LineColAt(absl::string_view text, uint32_t offset) {
  size_t limit = std::min<size_t>(offset, text.size());
  LineCol at;
  size_t line_start = 0;
  for (size_t i = 0; i < limit; ++i) {
    if (text[i] == '\n') {
      ++at.line;
      line_start = i + 1;
    }
  }
  at.column = 1 + CountChars(text, line_start, limit);
  return at;
}

std::string FormatDiagnostic(absl::string_view text, SourceRange range,
                             absl::string_view message) {
  size_t begin = std::min<size_t>(range.begin, text.size());
  size_t end =
      std::max<size_t>(begin, std::min<size_t>(range.end, text.size()));
  LineCol at = LineColAt(text, static_cast<uint32_t>(begin));

  size_t newline =
      begin == 0 ? absl::string_view::npos : text.rfind('\n', begin - 1);
  size_t line_start = newline == absl::string_view::npos ? 0 : newline + 1;
  size_t line_end = text.find('\n', begin);
  if (line_end == absl::string_view::npos) line_end = text.size();
  absl::string_view line = text.substr(line_start, line_end - line_start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

  // Copy tabs so the caret lines up whatever the terminal's tab width.
  std::string caret;
  for (size_t i = line_start; i < begin; ++i) {
    if (IsContinuationByte(text[i])) continue;
    caret.push_back(text[i] == '\t' ? '\t' : ' ');
  }
  caret.push_back('^');
  int width = CountChars(text, begin, std::min(end, line_end));
  for (int i = 1; i < width; ++i) caret.push_back('~');

  return absl::StrCat(at.line, ":", at.column, ": ", message, "\n", line, "\n",
                      caret);
}

absl::Status SyntaxError(absl::string_view text, SourceRange range,
                         absl::string_view message) {
  return absl::InvalidArgumentError(FormatDiagnostic(text, range, message));
}

int EditDistance(absl::string_view a, absl::string_view b) {
  const size_t n = a.size();
  const size_t m = b.size();
  // Three rows are enough for the adjacent-swap rule.
  std::vector<int> before(m + 1), previous(m + 1), current(m + 1);
  for (size_t j = 0; j <= m; ++j) previous[j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    current[0] = static_cast<int>(i);
    char ai = absl::ascii_tolower(static_cast<unsigned char>(a[i - 1]));
    for (size_t j = 1; j <= m; ++j) {
      char bj = absl::ascii_tolower(static_cast<unsigned char>(b[j - 1]));
      int cost = ai == bj ? 0 : 1;
      int best = std::min(
          {previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 &&
          ai == absl::ascii_tolower(static_cast<unsigned char>(b[j - 2])) &&
          absl::ascii_tolower(static_cast<unsigned char>(a[i - 2])) == bj) {
        best = std::min(best, before[j - 2] + 1);
      }
      current[j] = best;
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[m];
}

std::string SuggestClosest(absl::string_view word,
                           absl::Span<const absl::string_view> candidates) {
  if (word.empty()) return "";
  int allowed = word.size() <= 2   ? 0
                : word.size() <= 4 ? 1
                : word.size() <= 8 ? 2
                                   : 3;
  int best_distance = allowed + 1;
  absl::string_view best;
  for (absl::string_view candidate : candidates) {
    // A length difference alone costs that many edits.
    size_t gap = candidate.size() > word.size()
                     ? candidate.size() - word.size()
                     : word.size() - candidate.size();
    if (static_cast<int>(gap) >= best_distance) continue;
    int distance = EditDistance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best_distance <= allowed ? std::string(best) : std::string();
}

}  // namespace traversion::timeql
