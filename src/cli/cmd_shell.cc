// `traversion shell <store>`: an interactive TimeQL prompt. On a terminal it
// uses GNU readline (line editing, history kept in ~/.traversion_history);
// from a pipe or a file it reads plain lines, prints no prompt, and exits 1
// if any statement failed.
#include <readline/history.h>
#include <readline/readline.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/types/span.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "cli/query_output.h"
#include "traversion/query.h"
#include "traversion/store.h"

namespace traversion::cli {
namespace {

constexpr CommandHelp kHelp = {
    "shell",
    "[--format table|jsonl|csv] [--limit N] [--param NAME=VALUE]",
    "An interactive TimeQL prompt on the store. A statement may span lines;\n"
    "it runs at a line ending with ';', at a blank line or before a command.\n"
    "Commands (lines starting with '.'): .help, .format [table|jsonl|csv], "
    ".limit [N],\n"
    ".param NAME=VALUE, .explain on|off, .quit (or end of input).\n"
    "\n"
    "On a terminal, lines can be edited (GNU readline), Ctrl-C drops the\n"
    "statement being typed, and statements are kept in\n"
    "~/.traversion_history. From a pipe, statements are read without\n"
    "prompts and the exit status is 1 if any of them failed.",
    "  traversion shell ./traversion-demo\n"
    "  echo \"TIMELINE IN LAST 1 hour WHERE type = 'error';\" | traversion "
    "shell ./store --format csv\n",
};

constexpr absl::string_view kShellHelp =
    "Type a TimeQL statement; it runs at a line ending with ';' or at a blank\n"
    "line. Examples:\n"
    "  TIMELINE IN LAST 1 hour WHERE type = 'error';\n"
    "  EVENTS service, COUNT(*) AS n GROUP BY service ORDER BY n DESC;\n"
    "  STATE AT '2024-01-15 15:47:23' WHERE service = 'api-gateway';\n"
    "The language: docs/timeql.md.\n"
    "Commands:\n"
    "  .help                     this text\n"
    "  .format [table|jsonl|csv] show or set the output format\n"
    "  .limit [N]                show or set the rows printed (0: all)\n"
    "  .param NAME=VALUE         bind a name used where an event is expected\n"
    "  .explain on|off           print plan and counts instead of rows\n"
    "  .quit                     leave (also .exit, or Ctrl-D)\n";

constexpr int kHistoryLines = 1000;

// Where a statement being typed stands: inside a quote (a string or a
// quoted name may span lines) and whether its last significant character
// is ';'.
class StatementScanner {
 public:
  void Add(absl::string_view line) {
    ends_with_semicolon_ = false;
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (quote_ != 0) {
        if (c == quote_) quote_ = 0;  // a doubled quote reopens at once
        continue;
      }
      if (c == '-' && i + 1 < line.size() && line[i + 1] == '-') break;
      if (c == '\'' || c == '"') {
        quote_ = c;
        ends_with_semicolon_ = false;
      } else if (!absl::ascii_isspace(static_cast<unsigned char>(c))) {
        ends_with_semicolon_ = c == ';';
      }
    }
  }
  bool complete() const { return quote_ == 0 && ends_with_semicolon_; }
  bool in_quote() const { return quote_ != 0; }
  void Reset() {
    quote_ = 0;
    ends_with_semicolon_ = false;
  }

 private:
  char quote_ = 0;
  bool ends_with_semicolon_ = false;
};

// Ctrl-C at the prompt drops the line being typed (and any statement being
// continued) instead of leaving the shell. While a query runs, SIGINT keeps
// its default action, so Ctrl-C still stops a long query.
volatile sig_atomic_t g_interrupted = 0;

void OnInterrupt(int) { g_interrupted = 1; }

// readline's character source: read(2), except that Ctrl-C at the prompt
// empties the line and ends it, so readline returns at once.
int ReadChar(FILE* stream) {
  while (true) {
    unsigned char c = 0;
    ssize_t n = read(fileno(stream), &c, 1);
    if (n == 1) return c;
    if (n == 0) return EOF;
    if (errno != EINTR) return EOF;
    if (g_interrupted) {
      rl_replace_line("", 0);
      return '\n';
    }
  }
}

class LineSource {
 public:
  explicit LineSource(bool interactive) : interactive_(interactive) {
    if (!interactive_) return;
    rl_catch_signals = 0;
    rl_getc_function = ReadChar;
    if (const char* home = std::getenv("HOME"); home != nullptr && *home) {
      history_path_ = absl::StrCat(home, "/.traversion_history");
      using_history();
      stifle_history(kHistoryLines);
      read_history(history_path_.c_str());  // missing on the first run
    }
  }
  ~LineSource() {
    if (interactive_ && !history_path_.empty()) {
      write_history(history_path_.c_str());
    }
  }

  // The next line without its newline; nullopt at the end of input.
  std::optional<std::string> Read(bool continuation) {
    if (!interactive_) {
      std::string line;
      if (!std::getline(std::cin, line)) return std::nullopt;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    // No SA_RESTART: the interrupted read returns to ReadChar.
    struct sigaction interrupt = {};
    interrupt.sa_handler = OnInterrupt;
    sigemptyset(&interrupt.sa_mask);
    struct sigaction previous = {};
    g_interrupted = 0;
    sigaction(SIGINT, &interrupt, &previous);
    char* raw = readline(continuation ? "   ...> " : "timeql> ");
    sigaction(SIGINT, &previous, nullptr);
    interrupted_ = g_interrupted != 0;
    if (raw == nullptr) return std::nullopt;
    std::string line(raw);
    std::free(raw);
    return line;
  }

  // Whether the last Read() was ended by Ctrl-C.
  bool interrupted() const { return interrupted_; }

  void Remember(const std::string& statement) {
    if (interactive_ && !statement.empty()) add_history(statement.c_str());
  }

 private:
  bool interactive_;
  bool interrupted_ = false;
  std::string history_path_;
};

struct ShellState {
  const Store* store = nullptr;
  QueryOptions options;
  ResultOutputOptions output;
  bool explain = false;
  bool any_failed = false;
};

void Run(ShellState& state, const std::string& text) {
  absl::StatusOr<Result> result = Query(*state.store, text, state.options);
  if (!result.ok()) {
    absl::FPrintF(stderr, "error: %s\n", result.status().message());
    state.any_failed = true;
    return;
  }
  absl::StatusOr<std::unique_ptr<OutputFile>> out =
      OutputFile::Open(state.explain ? "/dev/null" : "-");
  if (!out.ok()) {
    absl::FPrintF(stderr, "error: %s\n", out.status().message());
    state.any_failed = true;
    return;
  }
  absl::StatusOr<ResultSummary> summary =
      WriteResult(*result, state.output, **out);
  absl::Status closed = (*out)->Close();
  std::fflush(stdout);
  if (!summary.ok() || !closed.ok()) {
    absl::FPrintF(stderr, "error: %s\n",
                  (!summary.ok() ? summary.status() : closed).message());
    state.any_failed = true;
    return;
  }
  if (state.explain) {
    absl::StatusOr<std::string> canonical = FormatQuery(text);
    std::string explained =
        ExplainText(canonical.ok() ? *canonical : text, *result, *summary);
    std::fwrite(explained.data(), 1, explained.size(), stdout);
  } else if (state.output.format == OutputFormat::kTable) {
    if (summary->more) {
      absl::FPrintF(stderr, "(%d rows shown; more rows: .limit N)\n",
                    summary->rows);
    } else {
      absl::FPrintF(stderr, "(%d row%s)\n", summary->rows,
                    summary->rows == 1 ? "" : "s");
    }
  }
  std::fflush(stdout);
}

// A dot command. False to leave the shell.
bool DotCommand(ShellState& state, absl::string_view line) {
  std::vector<absl::string_view> words =
      absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  absl::string_view name = words[0];
  auto fail = [&](absl::string_view message) {
    absl::FPrintF(stderr, "error: %s\n", message);
    state.any_failed = true;
    return true;
  };
  if (name == ".quit" || name == ".exit" || name == ".q") return false;
  if (name == ".help") {
    std::fwrite(kShellHelp.data(), 1, kShellHelp.size(), stdout);
  } else if (name == ".format") {
    if (words.size() == 1) {
      absl::PrintF("%s\n", OutputFormatName(state.output.format));
    } else if (std::optional<OutputFormat> format = ParseOutputFormat(words[1]);
               format && words.size() == 2) {
      state.output.format = *format;
    } else {
      return fail(".format takes table, jsonl or csv");
    }
  } else if (name == ".limit") {
    uint64_t limit = 0;
    if (words.size() == 1) {
      absl::PrintF("%d\n", state.output.limit);
    } else if (words.size() == 2 && absl::SimpleAtoi(words[1], &limit)) {
      state.output.limit = limit;
    } else {
      return fail(".limit takes a whole number (0: all rows)");
    }
  } else if (name == ".param") {
    absl::string_view rest = absl::StripAsciiWhitespace(
        absl::StripPrefix(absl::StripLeadingAsciiWhitespace(line), ".param"));
    size_t equals = rest.find('=');
    if (equals == 0 || equals == absl::string_view::npos) {
      return fail(".param takes NAME=VALUE");
    }
    state.options.parameters[std::string(
        absl::StripAsciiWhitespace(rest.substr(0, equals)))] =
        std::string(absl::StripAsciiWhitespace(rest.substr(equals + 1)));
  } else if (name == ".explain") {
    if (words.size() == 2 && (words[1] == "on" || words[1] == "off")) {
      state.explain = words[1] == "on";
    } else {
      return fail(".explain takes on or off");
    }
  } else {
    return fail(absl::StrCat("unknown command '", name, "' (try .help)"));
  }
  std::fflush(stdout);
  return true;
}

}  // namespace

int RunShell(absl::Span<const std::string> args) {
  std::string path;
  std::string format_name = "table";
  uint64_t limit = 0;
  std::vector<std::string> params;
  FlagSet flags;
  flags.AddPositional("store", &path, /*required=*/true, "the store directory");
  flags.AddString("format", "FORMAT", &format_name,
                  "table (default), jsonl or csv");
  flags.AddUint64("limit", "N", &limit,
                  "print at most N rows of each result (default 0: all)");
  flags.AddStringList("param", "NAME=VALUE", &params,
                      "a value for a bare name where an event is expected;\n"
                      "repeatable");
  if (std::optional<int> exit = ParseCommandLine(kHelp, flags, args)) {
    return *exit;
  }
  ShellState state;
  std::optional<OutputFormat> format = ParseOutputFormat(format_name);
  if (!format) {
    return UsageError("shell",
                      absl::StrFormat("--format: unknown format '%s' (table, "
                                      "jsonl or csv)",
                                      format_name));
  }
  state.output.format = *format;
  state.output.limit = limit;
  if (std::optional<int> exit = ApplyParams("shell", params, &state.options)) {
    return *exit;
  }
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStoreForReading(path);
  if (!store.ok()) return Fail("shell", store.status());
  state.store = store->get();

  const bool interactive = isatty(STDIN_FILENO) != 0;
  if (interactive) {
    absl::PrintF(
        "TimeQL shell on %s. End a statement with ';' or a blank line; "
        ".help for help, .quit to leave.\n",
        path);
  }
  LineSource lines(interactive);
  StatementScanner scanner;
  std::string statement;
  while (true) {
    std::optional<std::string> line = lines.Read(!statement.empty());
    if (!line) break;
    if (lines.interrupted()) {
      statement.clear();
      scanner.Reset();
      continue;
    }
    absl::string_view trimmed = absl::StripAsciiWhitespace(*line);
    if (statement.empty() && trimmed.empty()) continue;
    if (!scanner.in_quote() && !trimmed.empty() && trimmed[0] == '.') {
      // A command ends a statement left without ';' first.
      if (!statement.empty()) {
        lines.Remember(statement);
        Run(state, statement);
        statement.clear();
        scanner.Reset();
      }
      lines.Remember(std::string(trimmed));
      if (!DotCommand(state, trimmed)) break;
      continue;
    }
    bool blank = trimmed.empty() && !scanner.in_quote();
    if (!blank) {
      if (!statement.empty()) statement += '\n';
      statement += *line;
      scanner.Add(*line);
    }
    if (blank || scanner.complete()) {
      lines.Remember(statement);
      Run(state, statement);
      statement.clear();
      scanner.Reset();
    }
  }
  if (!absl::StripAsciiWhitespace(statement).empty()) {
    lines.Remember(statement);
    Run(state, statement);
  }
  if (interactive) absl::PrintF("\n");
  return state.any_failed && !interactive ? kExitFailure : kExitOk;
}

}  // namespace traversion::cli
