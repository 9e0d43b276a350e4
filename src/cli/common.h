// Shared pieces of the `traversion` subcommands: exit codes, error
// reporting, time parsing and formatting, output files, text helpers.
//
// Thread safety: the functions are reentrant; OutputFile is used by one
// thread.
#ifndef TRAVERSION_CLI_COMMON_H_
#define TRAVERSION_CLI_COMMON_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cli/flags.h"
#include "traversion/store.h"
#include "util/text.h"

namespace traversion::cli {

// Exit codes, documented in docs/cli.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // runtime failure: store, input, I/O
inline constexpr int kExitUsage = 2;    // bad command line
inline constexpr int kExitPartial = 3;  // import --skip-invalid skipped lines

// One subcommand: its name, a one-line summary for `traversion --help`, and
// its entry point, which receives the arguments after the command name.
struct Command {
  absl::string_view name;
  absl::string_view summary;
  int (*run)(absl::Span<const std::string> args);
};

int RunDemo(absl::Span<const std::string> args);
int RunStats(absl::Span<const std::string> args);
int RunImport(absl::Span<const std::string> args);
int RunExport(absl::Span<const std::string> args);
int RunEvents(absl::Span<const std::string> args);
int RunQuery(absl::Span<const std::string> args);
int RunShell(absl::Span<const std::string> args);

// Every subcommand, in the order `traversion --help` lists them.
absl::Span<const Command> Commands();

// Prints "traversion <command>: <message>" and a hint to use --help on
// stderr; returns kExitUsage.
int UsageError(absl::string_view command, absl::string_view message);
// Prints "traversion: <what>: <status message>" on stderr; returns
// kExitFailure.
int Fail(absl::string_view what, const absl::Status& status);
int Fail(absl::string_view what, absl::string_view message);

// Describes a command for --help: synopsis line, description, then the
// positional and flag tables of `flags`, then `examples` if not empty.
struct CommandHelp {
  absl::string_view name;
  absl::string_view synopsis_flags;  // e.g. "[--json]"
  absl::string_view description;
  absl::string_view examples;
};
std::string HelpText(const CommandHelp& help, const FlagSet& flags);

// Parses `args` into `flags`. Returns nullopt to go on, or the exit code to
// return at once: kExitOk after printing help, kExitUsage on a bad command
// line.
std::optional<int> ParseCommandLine(const CommandHelp& help, FlagSet& flags,
                                    absl::Span<const std::string> args);

// Opens an existing store for reading; the error says which path failed.
absl::StatusOr<std::unique_ptr<Store>> OpenStoreForReading(
    const std::string& path);
// The error of opening the store at `path`, saying which store it was.
absl::Status StoreOpenError(const std::string& path,
                            const absl::Status& status);

// --- time ---------------------------------------------------------------

// A time argument, as nanoseconds since the Unix epoch:
//   2024-01-15T15:47:23Z, 2024-01-15T15:47:23.5+01:00, '2024-01-15 15:47:23'
//   (no zone: UTC), 2024-01-15 (midnight UTC); a Unix time in nanoseconds
//   (a plain integer); `now`; or a relative time before `now_ns`: -10m,
//   -90s, -2h, -1d, -1w, -500ms (units ns us ms s m h d w).
absl::StatusOr<uint64_t> ParseTimeArg(absl::string_view text, uint64_t now_ns);

// "2024-01-15T15:47:23.123456789Z": ISO-8601 UTC with all nine digits.
std::string FormatTimeNs(uint64_t time_ns);
// "2024-01-15T15:47:23Z": whole seconds (rounded down).
std::string FormatTimeSeconds(uint64_t time_ns);
// "2024-01-15T15:47:23.123Z": milliseconds.
std::string FormatTimeMs(uint64_t time_ns);
// "812µs", "41.2ms", "5.82s", "10m0s": a short human duration.
std::string FormatDuration(uint64_t duration_ns);

// --- text ---------------------------------------------------------------

// "12,345".
std::string WithThousands(uint64_t n);
// "5.2 MiB".
std::string HumanBytes(uint64_t bytes);
// A JSON string literal, quotes included; invalid UTF-8 bytes become U+FFFD.
using ::traversion::text::JsonQuote;
// Cuts `text` to at most `width` display columns (UTF-8 aware, one column
// per code point), ending with "…" when cut. Newlines and tabs become
// spaces. width 0: no limit.
std::string Truncate(absl::string_view text, size_t width);
// The number of code points in `text` (its width in a terminal, for the
// text this tool prints).
size_t DisplayWidth(absl::string_view text);
// `text` padded with spaces to `width` columns (never cut).
std::string PadRight(absl::string_view text, size_t width);

// --- output -------------------------------------------------------------

// stdout for "-" or an empty path, else a file created or truncated at
// `path`. Write errors (disk full, closed pipe) are kept and reported by
// Close().
class OutputFile {
 public:
  static absl::StatusOr<std::unique_ptr<OutputFile>> Open(
      const std::string& path);
  // The error of opening the store at `path`, saying which store it was.
  absl::Status StoreOpenError(const std::string& path,
                              const absl::Status& status);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void Write(absl::string_view data);
  // Flushes and closes; the first error seen, if any.
  absl::Status Close();
  const std::string& name() const { return name_; }

 private:
  OutputFile(std::FILE* file, bool owned, std::string name)
      : file_(file), owned_(owned), name_(std::move(name)) {}
  std::FILE* file_;
  bool owned_;
  std::string name_;
  int error_ = 0;
};

// The --from, --to, --service and --type flags that `events` and `export`
// share, and their translation into an EventFilter.
struct RangeFlags {
  std::string from;
  std::string to;
  std::vector<std::string> services;
  std::vector<std::string> types;

  void Register(FlagSet* flags);
  // Sets the range, services and types of `*filter`. On a bad value, prints
  // a usage error for `command` and returns its exit code.
  std::optional<int> ApplyTo(absl::string_view command,
                             EventFilter* filter) const;
};

}  // namespace traversion::cli

#endif  // TRAVERSION_CLI_COMMON_H_
