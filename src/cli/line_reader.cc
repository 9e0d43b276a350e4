#include "cli/line_reader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace traversion::cli {

namespace {
constexpr size_t kChunkBytes = 1 << 20;
}  // namespace

LineReader::LineReader(std::FILE* file, size_t max_line_bytes)
    : file_(file),
      max_line_bytes_(max_line_bytes),
      buffer_(kChunkBytes, '\0') {}

bool LineReader::Refill() {
  if (eof_ || error_ != 0) return false;
  size_t n = std::fread(buffer_.data(), 1, buffer_.size(), file_);
  pos_ = 0;
  end_ = n;
  if (n == 0) {
    if (std::ferror(file_)) {
      error_ = errno != 0 ? errno : EIO;
    } else {
      eof_ = true;
    }
    return false;
  }
  return true;
}

bool LineReader::Next(std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  bool got_any = false;
  while (true) {
    if (pos_ == end_ && !Refill()) {
      // The last line may lack its '\n'; a read error ends the input.
      if (error_ != 0) return false;
      if (got_any) ++line_number_;
      return got_any;
    }
    got_any = true;
    const char* start = buffer_.data() + pos_;
    const void* newline = std::memchr(start, '\n', end_ - pos_);
    size_t take =
        newline == nullptr
            ? end_ - pos_
            : static_cast<size_t>(static_cast<const char*>(newline) - start);
    if (!*too_long) {
      if (line->size() + take > max_line_bytes_) {
        *too_long = true;
        line->clear();
        line->shrink_to_fit();
      } else {
        line->append(start, take);
      }
    }
    pos_ += take;
    if (newline != nullptr) {
      ++pos_;
      ++line_number_;
      return true;
    }
  }
}

}  // namespace traversion::cli
