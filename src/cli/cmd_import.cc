// `traversion import <store> [FILE|-]`: JSON lines into a store.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "cli/line_reader.h"
#include "traversion/event.h"
#include "traversion/event_codec.h"
#include "traversion/store.h"

namespace traversion::cli {
namespace {

constexpr size_t kMaxLineBytes = size_t{8} << 20;

constexpr CommandHelp kHelp = {
    "import",
    "[--batch N] [--skip-invalid]",
    "Adds events from JSON lines: one traversion.v1.Event per line in\n"
    "protobuf's JSON mapping, as written by `traversion export`. Blank lines\n"
    "are skipped. The store is created if it does not exist.\n"
    "\n"
    "Events keep their ids, and an event whose id is already stored is not\n"
    "added again: importing the same file twice adds nothing the second time.\n"
    "An event without an id gets one derived from its time and content, so\n"
    "this holds for such files too.\n"
    "\n"
    "Events are written in batches, one transaction each. On a bad line\n"
    "(malformed JSON, invalid UTF-8, an event over 1 MiB, a line over 8 MiB)\n"
    "the import stops with the line number and exit status 1; the events of\n"
    "the lines before it are committed and stay. With --skip-invalid, bad\n"
    "lines are reported and skipped, and the exit status is 3 if any were.",
    "  traversion import ./store events.jsonl\n"
    "  traversion export ./old | traversion import ./new\n"
    "  traversion import ./store big.jsonl --batch 20000 --skip-invalid\n",
};

// 64-bit FNV-1a: a stable hash (unlike absl::Hash, which is seeded per
// process), so the same event gets the same id in every import.
uint64_t StableHash(absl::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

struct ImportTotals {
  uint64_t written = 0;
  uint64_t duplicates = 0;
  uint64_t skipped = 0;
  uint64_t new_revisions = 0;
};

class Importer {
 public:
  Importer(Store& store, size_t batch_size)
      : store_(store), batch_size_(batch_size) {
    batch_.reserve(batch_size);
  }

  // Adds an event; commits when the batch is full.
  absl::Status Add(Event event, size_t line) {
    if (batch_.empty()) batch_first_line_ = line;
    batch_last_line_ = line;
    batch_.push_back(std::move(event));
    if (batch_.size() >= batch_size_) return Commit();
    return absl::OkStatus();
  }

  absl::Status Commit() {
    if (batch_.empty()) return absl::OkStatus();
    absl::StatusOr<WriteResult> result = store_.Write(batch_);
    if (!result.ok()) {
      return absl::Status(
          result.status().code(),
          absl::StrFormat("writing the events of lines %d-%d: %s",
                          batch_first_line_, batch_last_line_,
                          result.status().message()));
    }
    totals_.written += result->written;
    totals_.duplicates += result->duplicates;
    totals_.new_revisions += result->new_revisions;
    batch_.clear();
    return absl::OkStatus();
  }

  ImportTotals& totals() { return totals_; }

 private:
  Store& store_;
  size_t batch_size_;
  std::vector<Event> batch_;
  size_t batch_first_line_ = 0;
  size_t batch_last_line_ = 0;
  ImportTotals totals_;
};

std::string Summary(const ImportTotals& totals) {
  std::string out = absl::StrFormat("imported %d events (%d already present)",
                                    totals.written, totals.duplicates);
  if (totals.new_revisions > 0) {
    absl::StrAppendFormat(&out, ", %d new entity revisions",
                          totals.new_revisions);
  }
  if (totals.skipped > 0) {
    absl::StrAppendFormat(&out, "; skipped %d invalid line%s", totals.skipped,
                          totals.skipped == 1 ? "" : "s");
  }
  return out;
}

// Parses and checks one line; the error says what is wrong with it.
absl::StatusOr<Event> ParseLine(absl::string_view line,
                                const ValidationLimits& limits) {
  if (!IsValidUtf8(line)) {
    return absl::InvalidArgumentError("not valid UTF-8");
  }
  absl::StatusOr<Event> event = EventFromJson(line);
  if (!event.ok()) return event.status();
  absl::Status valid = ValidateEvent(*event, limits);
  if (!valid.ok()) return valid;
  if (event->id.empty() && event->time_ns != 0) {
    event->id = EventId{event->time_ns, StableHash(EventToBinary(*event))};
  }
  return event;
}

// Parser errors may quote the input over several lines (a snippet and a
// caret); the report keeps to one line per problem.
absl::string_view FirstLine(absl::string_view message) {
  return message.substr(0, message.find('\n'));
}

}  // namespace

int RunImport(absl::Span<const std::string> args) {
  std::string path;
  std::string input = "-";
  uint64_t batch_size = 4096;
  bool skip_invalid = false;
  FlagSet flags;
  flags.AddPositional("store", &path, /*required=*/true,
                      "the store directory (created if missing)");
  flags.AddPositional("FILE", &input, /*required=*/false,
                      "JSON lines to read; - or absent: stdin");
  flags.AddUint64("batch", "N", &batch_size,
                  "events per transaction (default 4096)");
  flags.AddBool("skip-invalid", &skip_invalid,
                "report and skip bad lines instead of stopping (exit 3 if "
                "any)");
  if (std::optional<int> exit = ParseCommandLine(kHelp, flags, args)) {
    return *exit;
  }
  if (batch_size == 0 || batch_size > 10'000'000) {
    return UsageError("import", "--batch: expected 1 to 10000000");
  }

  std::FILE* file = stdin;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> owned_file(nullptr,
                                                             &std::fclose);
  if (input != "-") {
    file = std::fopen(input.c_str(), "rb");
    if (file == nullptr) {
      return Fail("import", absl::ErrnoToStatus(
                                errno, absl::StrCat("cannot open ", input)));
    }
    owned_file.reset(file);
    // Reading a directory fails only at the first read; say so before the
    // store is created.
    struct stat info {};
    if (fstat(fileno(file), &info) == 0 && S_ISDIR(info.st_mode)) {
      return Fail("import",
                  absl::StrFormat("cannot read %s: it is a directory", input));
    }
  } else if (isatty(STDIN_FILENO)) {
    absl::FPrintF(stderr,
                  "traversion import: reading JSON lines from stdin "
                  "(Ctrl-D ends)\n");
  }

  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  if (!store.ok()) {
    return Fail("import", StoreOpenError(path, store.status()));
  }
  const ValidationLimits limits = (*store)->options().limits;
  Importer importer(**store, static_cast<size_t>(batch_size));

  LineReader reader(file, kMaxLineBytes);
  std::string line;
  bool too_long = false;
  while (reader.Next(&line, &too_long)) {
    const size_t number = reader.line_number();
    absl::Status bad;
    if (too_long) {
      bad = absl::InvalidArgumentError(absl::StrFormat(
          "line is longer than %d bytes (8 MiB)", kMaxLineBytes));
    } else if (absl::StripAsciiWhitespace(line).empty()) {
      continue;
    } else {
      absl::StatusOr<Event> event = ParseLine(line, limits);
      if (event.ok()) {
        if (absl::Status s = importer.Add(*std::move(event), number); !s.ok()) {
          absl::FPrintF(stderr, "traversion: import: %s before the failure\n",
                        Summary(importer.totals()));
          return Fail("import", s);
        }
        continue;
      }
      bad = event.status();
    }
    if (skip_invalid) {
      ++importer.totals().skipped;
      absl::FPrintF(stderr, "traversion: import: line %d: %s (skipped)\n",
                    number, FirstLine(bad.message()));
      continue;
    }
    // Keep what the earlier lines brought, then stop at the bad line.
    absl::Status committed = importer.Commit();
    if (!committed.ok()) return Fail("import", committed);
    if (number > 1) {
      absl::FPrintF(stderr, "traversion: import: lines 1-%d committed: %s\n",
                    number - 1, Summary(importer.totals()));
    }
    return Fail("import", absl::StrFormat("line %d: %s", number,
                                          FirstLine(bad.message())));
  }
  absl::Status status = importer.Commit();
  if (!status.ok()) {
    absl::FPrintF(stderr, "traversion: import: %s before the failure\n",
                  Summary(importer.totals()));
    return Fail("import", status);
  }
  if (reader.error() != 0) {
    absl::FPrintF(stderr, "traversion: import: %s before the read error\n",
                  Summary(importer.totals()));
    return Fail("import",
                absl::ErrnoToStatus(
                    reader.error(),
                    absl::StrCat("reading ", input == "-" ? "stdin" : input)));
  }
  absl::PrintF("%s\n", Summary(importer.totals()));
  return importer.totals().skipped > 0 ? kExitPartial : kExitOk;
}

}  // namespace traversion::cli
