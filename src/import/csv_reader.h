// A streaming RFC 4180 CSV reader for the importers.
//
// Records end at LF, CRLF or a lone CR; a field may be quoted, and a quoted
// field may hold commas, line breaks and doubled quotes (`""` is one `"`).
// The reader is strict where RFC 4180 is: a quote inside an unquoted field,
// or anything but a comma or a line end after a closing quote, makes the
// record malformed. A malformed record is reported as InvalidArgument
// ("file:line: why") and the reader skips to the end of that physical line,
// so the caller may count it and go on; any other error (reading the file)
// ends the stream. Blank lines are skipped.
//
// Input is read in chunks (1 MiB by default), so a file of any size is read
// in bounded memory; one record may not exceed `max_record_bytes`.
//
// Thread safety: a CsvReader belongs to one thread at a time.
#ifndef TRAVERSION_IMPORT_CSV_READER_H_
#define TRAVERSION_IMPORT_CSV_READER_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace traversion::import {

struct CsvReaderOptions {
  // Bytes read from the file at a time.
  size_t chunk_bytes = size_t{1} << 20;
  // A record longer than this (all fields together) is malformed: it guards
  // against an unterminated quote swallowing a whole file. Default 16 MiB.
  size_t max_record_bytes = size_t{16} << 20;
};

class CsvReader {
 public:
  // Streams the file at `path`; NotFound / PermissionDenied if it cannot be
  // opened.
  static absl::StatusOr<std::unique_ptr<CsvReader>> OpenFile(
      const std::string& path, const CsvReaderOptions& options = {});
  // Reads `text`; `name` stands for the file in error messages.
  static std::unique_ptr<CsvReader> FromString(
      std::string text, std::string name, const CsvReaderOptions& options = {});

  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;
  ~CsvReader();

  // Reads the next record. True: fields() holds it. False: the end of the
  // input. InvalidArgument: the record is malformed and was skipped (the
  // reader can go on). Other codes: reading failed; the reader is done.
  absl::StatusOr<bool> Next();

  // The fields of the last record read, valid until the next call to Next().
  const std::vector<absl::string_view>& fields() const { return fields_; }
  // The physical line (1-based) on which the last record, or the malformed
  // one, started.
  uint64_t line() const { return record_line_; }
  // Bytes consumed so far.
  uint64_t bytes_read() const { return consumed_ + pos_; }
  const std::string& name() const { return name_; }
  // "name:line" of the last record, for messages.
  std::string Where() const;

 private:
  CsvReader(std::string name, const CsvReaderOptions& options);

  // Makes at least one unread byte available; false at the end of input.
  bool Fill();
  // Skips to just past the end of the current physical line.
  void SkipRestOfLine();
  absl::Status Malformed(absl::string_view why);
  void EndField();

  std::string name_;
  CsvReaderOptions options_;
  std::FILE* file_ = nullptr;  // null when reading from memory
  bool eof_ = false;
  absl::Status io_status_;
  std::string buffer_;
  size_t pos_ = 0;         // next unread byte of buffer_
  uint64_t consumed_ = 0;  // bytes of the input before buffer_
  uint64_t line_ = 1;      // physical line of buffer_[pos_]
  uint64_t record_line_ = 0;
  // The current record: its fields' bytes back to back, and their ends.
  std::string record_;
  std::vector<size_t> field_ends_;
  std::vector<absl::string_view> fields_;
};

}  // namespace traversion::import

#endif  // TRAVERSION_IMPORT_CSV_READER_H_
