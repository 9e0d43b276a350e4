// Reads a stream line by line with a bound on the line length, so that one
// huge line (a binary file, a missing newline in a dump) costs at most the
// bound in memory and gives a clear error instead of exhausting memory.
//
// Thread safety: used by one thread.
#ifndef TRAVERSION_CLI_LINE_READER_H_
#define TRAVERSION_CLI_LINE_READER_H_

#include <cstddef>
#include <cstdio>
#include <string>

namespace traversion::cli {

class LineReader {
 public:
  // Does not take ownership of `file`.
  LineReader(std::FILE* file, size_t max_line_bytes);
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Reads the next line into `line`, without its '\n'. Returns false at the
  // end of the input or on a read error (see error()). A line longer than
  // max_line_bytes is consumed to its end and reported with *too_long set
  // and `line` empty.
  bool Next(std::string* line, bool* too_long);

  // errno of a read error, 0 if none.
  int error() const { return error_; }
  // 1-based number of the line last returned.
  size_t line_number() const { return line_number_; }

 private:
  bool Refill();

  std::FILE* file_;
  size_t max_line_bytes_;
  std::string buffer_;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  int error_ = 0;
  size_t line_number_ = 0;
};

}  // namespace traversion::cli

#endif  // TRAVERSION_CLI_LINE_READER_H_
