#include "import/csv_reader.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace traversion::import {

namespace {

bool IsUnquotedSpecial(char c) {
  return c == ',' || c == '"' || c == '\n' || c == '\r';
}

}  // namespace

CsvReader::CsvReader(std::string name, const CsvReaderOptions& options)
    : name_(std::move(name)), options_(options) {
  if (options_.chunk_bytes == 0) options_.chunk_bytes = 1;
}

CsvReader::~CsvReader() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::StatusOr<std::unique_ptr<CsvReader>> CsvReader::OpenFile(
    const std::string& path, const CsvReaderOptions& options) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int err = errno;
    std::string message = absl::StrCat(path, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(message);
    if (err == EACCES || err == EPERM) {
      return absl::PermissionDeniedError(message);
    }
    return absl::UnavailableError(message);
  }
  std::unique_ptr<CsvReader> reader(new CsvReader(path, options));
  reader->file_ = file;
  return reader;
}

std::unique_ptr<CsvReader> CsvReader::FromString(
    std::string text, std::string name, const CsvReaderOptions& options) {
  std::unique_ptr<CsvReader> reader(new CsvReader(std::move(name), options));
  reader->buffer_ = std::move(text);
  reader->eof_ = true;
  return reader;
}

std::string CsvReader::Where() const {
  return absl::StrCat(name_, ":", record_line_);
}

bool CsvReader::Fill() {
  if (pos_ < buffer_.size()) return true;
  if (file_ == nullptr || eof_) return false;
  consumed_ += buffer_.size();
  buffer_.resize(options_.chunk_bytes);
  const size_t n = std::fread(buffer_.data(), 1, buffer_.size(), file_);
  buffer_.resize(n);
  pos_ = 0;
  if (n == 0) {
    eof_ = true;
    if (std::ferror(file_)) {
      io_status_ = absl::DataLossError(absl::StrCat(
          name_, ":", line_, ": read failed: ", std::strerror(errno)));
    }
    return false;
  }
  return true;
}

void CsvReader::SkipRestOfLine() {
  while (Fill()) {
    const char* start = buffer_.data() + pos_;
    const size_t avail = buffer_.size() - pos_;
    const void* nl = std::memchr(start, '\n', avail);
    if (nl == nullptr) {
      pos_ = buffer_.size();
      continue;
    }
    pos_ += static_cast<const char*>(nl) - start + 1;
    ++line_;
    return;
  }
}

absl::Status CsvReader::Malformed(absl::string_view why) {
  absl::Status status =
      absl::InvalidArgumentError(absl::StrCat(Where(), ": ", why));
  SkipRestOfLine();
  return status;
}

void CsvReader::EndField() { field_ends_.push_back(record_.size()); }

absl::StatusOr<bool> CsvReader::Next() {
  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
  while (true) {
    record_.clear();
    field_ends_.clear();
    fields_.clear();
    if (!Fill()) {
      if (!io_status_.ok()) return io_status_;
      return false;
    }
    record_line_ = line_;
    State state = State::kFieldStart;
    bool blank = true;  // nothing but a line end so far
    bool done = false;
    while (!done) {
      if (record_.size() > options_.max_record_bytes) {
        return Malformed(absl::StrCat("record longer than ",
                                      options_.max_record_bytes, " bytes"));
      }
      if (!Fill()) {
        if (!io_status_.ok()) return io_status_;
        if (state == State::kQuoted) {
          return Malformed("unterminated quoted field at the end of the input");
        }
        EndField();
        break;
      }
      const char c = buffer_[pos_];
      switch (state) {
        case State::kFieldStart:
          if (c == '"') {
            ++pos_;
            blank = false;
            state = State::kQuoted;
          } else {
            state = State::kUnquoted;
          }
          break;
        case State::kUnquoted: {
          size_t end = pos_;
          while (end < buffer_.size() && !IsUnquotedSpecial(buffer_[end])) {
            ++end;
          }
          if (end > pos_) blank = false;
          record_.append(buffer_, pos_, end - pos_);
          pos_ = end;
          if (pos_ == buffer_.size()) break;  // refill and go on
          const char special = buffer_[pos_];
          if (special == ',') {
            ++pos_;
            blank = false;
            EndField();
            state = State::kFieldStart;
          } else if (special == '"') {
            return Malformed("quote inside an unquoted field");
          } else {
            done = true;
          }
          break;
        }
        case State::kQuoted: {
          const char* start = buffer_.data() + pos_;
          const size_t avail = buffer_.size() - pos_;
          const void* quote = std::memchr(start, '"', avail);
          const size_t run = quote == nullptr
                                 ? avail
                                 : static_cast<size_t>(
                                       static_cast<const char*>(quote) - start);
          for (size_t i = 0; i < run; ++i) {
            if (start[i] == '\n') ++line_;
          }
          record_.append(start, run);
          pos_ += run;
          if (quote != nullptr) {
            ++pos_;
            state = State::kQuoteInQuoted;
          }
          break;
        }
        case State::kQuoteInQuoted:
          if (c == '"') {
            record_.push_back('"');
            ++pos_;
            state = State::kQuoted;
          } else if (c == ',') {
            ++pos_;
            EndField();
            state = State::kFieldStart;
          } else if (c == '\n' || c == '\r') {
            done = true;
          } else {
            return Malformed("unexpected character after a closing quote");
          }
          break;
      }
      if (done) {
        // Consume the line end: LF, CRLF or a lone CR.
        const char end = buffer_[pos_++];
        if (end == '\r' && Fill() && buffer_[pos_] == '\n') ++pos_;
        ++line_;
        EndField();
      }
    }
    if (blank && field_ends_.size() == 1) continue;
    fields_.reserve(field_ends_.size());
    size_t begin = 0;
    for (size_t end : field_ends_) {
      fields_.push_back(absl::string_view(record_).substr(begin, end - begin));
      begin = end;
    }
    return true;
  }
}

}  // namespace traversion::import
