// `traversion`: the command-line tool. main() picks the subcommand and makes
// sure that nothing escapes as a crash: every exception becomes a one-line
// error and exit code 1.
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cli/common.h"

namespace traversion::cli {

absl::Span<const Command> Commands() {
  static constexpr Command kCommands[] = {
      {"demo", "record a generated multi-service workload and show it",
       &RunDemo},
      {"stats", "show what a store holds: counts, time span, sizes", &RunStats},
      {"events", "list events in a time range, filtered", &RunEvents},
      {"import", "add events from JSON lines (a file or stdin)", &RunImport},
      {"export", "write events as JSON lines, in time order", &RunExport},
      {"query", "run one TimeQL statement: table, JSON lines or CSV",
       &RunQuery},
      {"shell", "an interactive TimeQL prompt (history, multi-line)",
       &RunShell},
  };
  return kCommands;
}

namespace {

const Command* FindCommand(absl::string_view name) {
  for (const Command& command : Commands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

void PrintMainHelp() {
  std::string text =
      "Usage: traversion <command> [arguments] [flags]\n"
      "\n"
      "Traversion records a service's events into a local store and answers\n"
      "questions about its history. This tool works on a store directory.\n"
      "\n"
      "Commands:\n";
  for (const Command& command : Commands()) {
    absl::StrAppendFormat(&text, "  %-8s %s\n", command.name, command.summary);
  }
  absl::StrAppend(
      &text,
      "  help     show the help of a command: traversion help <command>\n"
      "\n"
      "Run 'traversion <command> --help' for a command's arguments and "
      "flags.\n"
      "Start with: traversion demo\n"
      "\n"
      "Exit status: 0 success, 1 runtime failure (store, input, I/O),\n"
      "2 bad command line, 3 import --skip-invalid skipped some lines.\n");
  std::fwrite(text.data(), 1, text.size(), stdout);
}

int Main(absl::Span<const std::string> args) {
  if (args.empty()) return UsageError("", "missing command");
  absl::string_view first = args[0];
  if (first == "--help" || first == "-h") {
    PrintMainHelp();
    return kExitOk;
  }
  if (first == "help") {
    if (args.size() == 1) {
      PrintMainHelp();
      return kExitOk;
    }
    if (args.size() > 2) {
      return UsageError(
          "", absl::StrCat("help takes one command, got '", args[2], "' too"));
    }
    const Command* command = FindCommand(args[1]);
    if (command == nullptr) {
      return UsageError("", absl::StrCat("unknown command '", args[1], "'"));
    }
    const std::string help_flag = "--help";
    return command->run(absl::MakeConstSpan(&help_flag, 1));
  }
  if (!first.empty() && first[0] == '-') {
    return UsageError("", absl::StrCat("unknown flag ", first,
                                       " (flags go after the command)"));
  }
  const Command* command = FindCommand(first);
  if (command == nullptr) {
    return UsageError("", absl::StrCat("unknown command '", first, "'"));
  }
  return command->run(args.subspan(1));
}

}  // namespace
}  // namespace traversion::cli

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    int code = traversion::cli::Main(args);
    if (std::fflush(stdout) != 0 && code == traversion::cli::kExitOk) {
      return traversion::cli::Fail("output", "cannot write to stdout");
    }
    return code;
  } catch (const std::bad_alloc&) {
    std::fputs("traversion: out of memory\n", stderr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "traversion: internal error: %s\n", e.what());
  } catch (...) {
    std::fputs("traversion: internal error: unknown exception\n", stderr);
  }
  return traversion::cli::kExitFailure;
}
