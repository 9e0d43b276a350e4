// A small command-line flag parser for the `traversion` tool.
//
// Each subcommand declares its flags and positional arguments on a FlagSet,
// bound to variables it owns, then calls Parse(). Accepted forms:
//   --name value      --name=value      --bool-flag      --bool-flag=false
//   --                (everything after it is positional)
//   -                 (a positional argument: stdin/stdout by convention)
// A value flag always takes the next argument as its value, even when it
// starts with '-', so `--from -10m` works. `-h` and `--help` request help.
// Repeatable flags accumulate; their values may also be comma-separated.
//
// Errors are InvalidArgument with a one-line message naming the flag
// ("unknown flag --foo", "--limit: expected a non-negative integer, got
// 'x'"), meant to be printed as is.
//
// Thread safety: a FlagSet is used by one thread.
#ifndef TRAVERSION_CLI_FLAGS_H_
#define TRAVERSION_CLI_FLAGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace traversion::cli {

class FlagSet {
 public:
  FlagSet() = default;
  FlagSet(const FlagSet&) = delete;
  FlagSet& operator=(const FlagSet&) = delete;

  // `name` is given without dashes; `value_name` is shown in help
  // ("--limit N"). The bound variable keeps its value as the default.
  void AddString(absl::string_view name, absl::string_view value_name,
                 std::string* out, absl::string_view help);
  // A repeatable flag; each occurrence appends (comma-separated values are
  // split into several).
  void AddStringList(absl::string_view name, absl::string_view value_name,
                     std::vector<std::string>* out, absl::string_view help);
  void AddUint64(absl::string_view name, absl::string_view value_name,
                 uint64_t* out, absl::string_view help);
  void AddBool(absl::string_view name, bool* out, absl::string_view help);

  // Positional arguments are filled in the order they were added. Optional
  // ones must come after the required ones.
  void AddPositional(absl::string_view name, std::string* out, bool required,
                     absl::string_view help);

  // Parses `args` (the arguments after the subcommand name).
  absl::Status Parse(absl::Span<const std::string> args);

  // True if -h/--help was given; Parse() then stops and returns OK.
  bool help_requested() const { return help_requested_; }
  // True if the flag was given explicitly.
  bool WasSet(absl::string_view name) const;

  // "  <store>  help" and "  --flag VALUE  help" lines for usage texts.
  std::string PositionalHelp() const;
  std::string FlagHelp() const;
  // "<store> [FILE]" for a usage synopsis.
  std::string PositionalSynopsis() const;

 private:
  // Where a flag's value goes; its type is the flag's kind.
  using Target =
      std::variant<std::string*, std::vector<std::string>*, uint64_t*, bool*>;
  struct Flag {
    std::string name;
    std::string value_name;
    std::string help;
    Target out;
    bool set = false;

    bool is_bool() const { return std::holds_alternative<bool*>(out); }
  };
  struct Positional {
    std::string name;
    std::string help;
    bool required;
    std::string* out;
  };

  Flag* Find(absl::string_view name);
  absl::Status SetValue(Flag& flag, absl::string_view value);
  void Add(absl::string_view name, absl::string_view value_name, Target out,
           absl::string_view help);

  std::vector<Flag> flags_;
  std::vector<Positional> positionals_;
  bool help_requested_ = false;
};

}  // namespace traversion::cli

#endif  // TRAVERSION_CLI_FLAGS_H_
