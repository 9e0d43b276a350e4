#include "cli/common.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "traversion/store.h"

namespace traversion::cli {

int UsageError(absl::string_view command, absl::string_view message) {
  if (command.empty()) {
    absl::FPrintF(stderr, "traversion: %s\n", message);
    absl::FPrintF(stderr, "Run 'traversion --help' for usage.\n");
  } else {
    absl::FPrintF(stderr, "traversion %s: %s\n", command, message);
    absl::FPrintF(stderr, "Run 'traversion %s --help' for usage.\n", command);
  }
  return kExitUsage;
}

int Fail(absl::string_view what, absl::string_view message) {
  absl::FPrintF(stderr, "traversion: %s: %s\n", what, message);
  return kExitFailure;
}

int Fail(absl::string_view what, const absl::Status& status) {
  return Fail(what, status.message());
}

std::string HelpText(const CommandHelp& help, const FlagSet& flags) {
  std::string out = absl::StrCat("Usage: traversion ", help.name);
  std::string positionals = flags.PositionalSynopsis();
  if (!positionals.empty()) absl::StrAppend(&out, " ", positionals);
  if (!help.synopsis_flags.empty()) {
    absl::StrAppend(&out, " ", help.synopsis_flags);
  }
  absl::StrAppend(&out, "\n\n", help.description, "\n");
  std::string positional_help = flags.PositionalHelp();
  if (!positional_help.empty()) {
    absl::StrAppend(&out, "\nArguments:\n", positional_help);
  }
  absl::StrAppend(&out, "\nFlags:\n", flags.FlagHelp());
  if (!help.examples.empty()) {
    absl::StrAppend(&out, "\nExamples:\n", help.examples);
  }
  return out;
}

std::optional<int> ParseCommandLine(const CommandHelp& help, FlagSet& flags,
                                    absl::Span<const std::string> args) {
  absl::Status status = flags.Parse(args);
  if (!status.ok()) return UsageError(help.name, status.message());
  if (flags.help_requested()) {
    std::string text = HelpText(help, flags);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return kExitOk;
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<Store>> OpenStoreForReading(
    const std::string& path) {
  StoreOptions options;
  options.create_if_missing = false;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path, options);
  if (!store.ok()) return StoreOpenError(path, store.status());
  return store;
}

absl::Status StoreOpenError(const std::string& path,
                            const absl::Status& status) {
  std::string message =
      absl::StrContains(status.message(), path)
          ? absl::StrCat("cannot open store: ", status.message())
          : absl::StrFormat("cannot open store '%s': %s", path,
                            status.message());
  return absl::Status(status.code(), message);
}

// --- time -----------------------------------------------------------------

namespace {

constexpr uint64_t kNanosPerSecond = 1'000'000'000;

// "10m" -> 600e9. Units: ns us ms s m h d w.
std::optional<uint64_t> ParseDurationNs(absl::string_view text) {
  size_t unit_at = 0;
  while (unit_at < text.size() &&
         (absl::ascii_isdigit(static_cast<unsigned char>(text[unit_at])) ||
          text[unit_at] == '.')) {
    ++unit_at;
  }
  double amount = 0;
  if (unit_at == 0 || !absl::SimpleAtod(text.substr(0, unit_at), &amount)) {
    return std::nullopt;
  }
  absl::string_view unit = text.substr(unit_at);
  double scale = 0;
  if (unit == "ns") {
    scale = 1;
  } else if (unit == "us" || unit == "µs") {
    scale = 1e3;
  } else if (unit == "ms") {
    scale = 1e6;
  } else if (unit == "s") {
    scale = 1e9;
  } else if (unit == "m" || unit == "min") {
    scale = 60e9;
  } else if (unit == "h") {
    scale = 3600e9;
  } else if (unit == "d") {
    scale = 86400e9;
  } else if (unit == "w") {
    scale = 7 * 86400e9;
  } else {
    return std::nullopt;
  }
  double ns = amount * scale;
  if (!(ns >= 0) || ns >= 9.2e18) return std::nullopt;
  return static_cast<uint64_t>(std::llround(ns));
}

}  // namespace

absl::StatusOr<uint64_t> ParseTimeArg(absl::string_view text, uint64_t now_ns) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (trimmed.empty()) return absl::InvalidArgumentError("empty time");
  if (trimmed == "now") return now_ns;
  if (trimmed[0] == '-') {
    std::optional<uint64_t> ago = ParseDurationNs(trimmed.substr(1));
    if (!ago.has_value()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "bad relative time '%s' (expected e.g. -10m, -2h, -1d)", text));
    }
    if (*ago > now_ns) {
      return absl::InvalidArgumentError(
          absl::StrFormat("relative time '%s' is before 1970", text));
    }
    return now_ns - *ago;
  }
  bool all_digits = true;
  for (char c : trimmed) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      all_digits = false;
      break;
    }
  }
  if (all_digits) {
    uint64_t ns = 0;
    if (!absl::SimpleAtoi(trimmed, &ns)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("time '%s' is out of range", text));
    }
    return ns;
  }
  // Formats tried in order; without an explicit offset the time is UTC.
  static constexpr const char* kFormats[] = {
      "%Y-%m-%d%ET%H:%M:%E*S%Ez",
      "%Y-%m-%d %H:%M:%E*S%Ez",
      "%Y-%m-%d%ET%H:%M:%E*S",
      "%Y-%m-%d %H:%M:%E*S",
      "%Y-%m-%d%ET%H:%M%Ez",
      "%Y-%m-%d %H:%M%Ez",
      "%Y-%m-%d%ET%H:%M",
      "%Y-%m-%d %H:%M",
      "%Y-%m-%d",
  };
  std::string input(trimmed);
  // absl's %Ez wants "+00:00"; accept the common "Z" suffix as well.
  if (!input.empty() && (input.back() == 'Z' || input.back() == 'z')) {
    input.pop_back();
    input += "+00:00";
  }
  for (const char* format : kFormats) {
    absl::Time time;
    std::string error;
    if (absl::ParseTime(format, input, &time, &error)) {
      if (time < absl::UnixEpoch()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("time '%s' is before 1970", text));
      }
      if (time > absl::FromUnixNanos(std::numeric_limits<int64_t>::max())) {
        return absl::InvalidArgumentError(
            absl::StrFormat("time '%s' is out of range", text));
      }
      return static_cast<uint64_t>(absl::ToUnixNanos(time));
    }
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("bad time '%s' (expected e.g. 2024-01-15T15:47:23Z, "
                      "'2024-01-15 15:47:23', a Unix time in ns, now, or -10m)",
                      text));
}

namespace {

std::string FormatTimeWith(uint64_t time_ns, const char* format) {
  if (time_ns > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return absl::StrCat(time_ns, "ns");
  }
  return absl::FormatTime(format,
                          absl::FromUnixNanos(static_cast<int64_t>(time_ns)),
                          absl::UTCTimeZone());
}

}  // namespace

std::string FormatTimeNs(uint64_t time_ns) {
  return FormatTimeWith(time_ns, "%Y-%m-%dT%H:%M:%E9SZ");
}

std::string FormatTimeSeconds(uint64_t time_ns) {
  return FormatTimeWith(time_ns, "%Y-%m-%dT%H:%M:%SZ");
}

std::string FormatTimeMs(uint64_t time_ns) {
  return FormatTimeWith(time_ns, "%Y-%m-%dT%H:%M:%E3SZ");
}

std::string FormatDuration(uint64_t ns) {
  if (ns < 1'000) return absl::StrCat(ns, "ns");
  if (ns < 1'000'000) return absl::StrFormat("%.0fµs", ns / 1e3);
  if (ns < 100'000'000) return absl::StrFormat("%.1fms", ns / 1e6);
  if (ns < kNanosPerSecond) return absl::StrFormat("%.0fms", ns / 1e6);
  if (ns < 60 * kNanosPerSecond) return absl::StrFormat("%.2fs", ns / 1e9);
  uint64_t seconds = ns / kNanosPerSecond;
  if (seconds < 3600)
    return absl::StrFormat("%dm%ds", seconds / 60, seconds % 60);
  if (seconds < 86400) {
    return absl::StrFormat("%dh%dm", seconds / 3600, seconds % 3600 / 60);
  }
  return absl::StrFormat("%dd%dh", seconds / 86400, seconds % 86400 / 3600);
}

// --- text -----------------------------------------------------------------

std::string WithThousands(uint64_t n) {
  std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0) return absl::StrCat(bytes, " B");
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

size_t DisplayWidth(absl::string_view text) {
  size_t width = 0;
  size_t i = 0;
  while (i < text.size()) {
    uint32_t cp = 0;
    size_t len = text::Utf8SequenceLength(text.substr(i), &cp);
    i += len == 0 ? 1 : len;
    ++width;
  }
  return width;
}

std::string Truncate(absl::string_view text, size_t width) {
  std::string out;
  size_t columns = 0;
  size_t i = 0;
  const size_t total = width == 0 ? 0 : DisplayWidth(text);
  while (i < text.size()) {
    if (width != 0 && columns + 1 == width && total > width) {
      out += "…";
      break;
    }
    uint32_t cp = 0;
    size_t len = text::Utf8SequenceLength(text.substr(i), &cp);
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for a stray byte
      len = 1;
    } else if (cp == '\n' || cp == '\t' || cp == '\r') {
      out += ' ';
    } else if (cp < 0x20 || cp == 0x7F) {
      out += '?';
    } else {
      out.append(text.data() + i, len);
    }
    i += len;
    ++columns;
  }
  return out;
}

std::string PadRight(absl::string_view text, size_t width) {
  std::string out(text);
  size_t have = DisplayWidth(text);
  if (have < width) out.append(width - have, ' ');
  return out;
}

// --- output ---------------------------------------------------------------

absl::StatusOr<std::unique_ptr<OutputFile>> OutputFile::Open(
    const std::string& path) {
  if (path.empty() || path == "-") {
    return std::unique_ptr<OutputFile>(
        new OutputFile(stdout, /*owned=*/false, "<stdout>"));
  }
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot create ", path));
  }
  return std::unique_ptr<OutputFile>(
      new OutputFile(file, /*owned=*/true, path));
}

OutputFile::~OutputFile() {
  if (file_ != nullptr) {
    if (owned_) {
      std::fclose(file_);
    } else {
      std::fflush(file_);
    }
  }
}

void OutputFile::Write(absl::string_view data) {
  if (error_ != 0 || file_ == nullptr) return;
  if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
    error_ = errno != 0 ? errno : EIO;
  }
}

absl::Status OutputFile::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  if (std::fflush(file_) != 0 && error_ == 0) error_ = errno;
  if (owned_ && std::fclose(file_) != 0 && error_ == 0) error_ = errno;
  file_ = nullptr;
  if (error_ != 0) {
    return absl::ErrnoToStatus(error_, absl::StrCat("cannot write ", name_));
  }
  return absl::OkStatus();
}

void RangeFlags::Register(FlagSet* flags) {
  flags->AddString("from", "T", &from, "first instant (inclusive)");
  flags->AddString("to", "T", &to, "last instant (exclusive)");
  flags->AddStringList("service", "S", &services,
                       "only events of service S (repeatable)");
  flags->AddStringList("type", "TYPE", &types,
                       "only events of this type (repeatable): span, log,\n"
                       "error, metric, kernel, kubernetes, entity_state, ui,\n"
                       "custom");
}

std::optional<int> RangeFlags::ApplyTo(absl::string_view command,
                                       EventFilter* filter) const {
  const uint64_t now = Clock::Real()->NowNanos();
  if (!from.empty()) {
    absl::StatusOr<uint64_t> t = ParseTimeArg(from, now);
    if (!t.ok()) {
      return UsageError(command,
                        absl::StrCat("--from: ", t.status().message()));
    }
    filter->from_ns = *t;
  }
  if (!to.empty()) {
    absl::StatusOr<uint64_t> t = ParseTimeArg(to, now);
    if (!t.ok()) {
      return UsageError(command, absl::StrCat("--to: ", t.status().message()));
    }
    filter->to_ns = *t;
  }
  filter->services = services;
  for (const std::string& name : types) {
    std::optional<EventType> type = ParseEventType(name);
    if (!type.has_value()) {
      return UsageError(command,
                        absl::StrFormat("--type: unknown type '%s'", name));
    }
    filter->types.push_back(*type);
  }
  return std::nullopt;
}

}  // namespace traversion::cli
