#include "cli/flags.h"

#include <algorithm>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace traversion::cli {

void FlagSet::Add(absl::string_view name, absl::string_view value_name,
                  Target out, absl::string_view help) {
  flags_.push_back(
      Flag{std::string(name), std::string(value_name), std::string(help), out});
}

void FlagSet::AddString(absl::string_view name, absl::string_view value_name,
                        std::string* out, absl::string_view help) {
  Add(name, value_name, out, help);
}

void FlagSet::AddStringList(absl::string_view name,
                            absl::string_view value_name,
                            std::vector<std::string>* out,
                            absl::string_view help) {
  Add(name, value_name, out, help);
}

void FlagSet::AddUint64(absl::string_view name, absl::string_view value_name,
                        uint64_t* out, absl::string_view help) {
  Add(name, value_name, out, help);
}

void FlagSet::AddBool(absl::string_view name, bool* out,
                      absl::string_view help) {
  Add(name, "", out, help);
}

void FlagSet::AddPositional(absl::string_view name, std::string* out,
                            bool required, absl::string_view help) {
  positionals_.push_back(
      Positional{std::string(name), std::string(help), required, out});
}

FlagSet::Flag* FlagSet::Find(absl::string_view name) {
  for (Flag& flag : flags_) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

bool FlagSet::WasSet(absl::string_view name) const {
  for (const Flag& flag : flags_) {
    if (flag.name == name) return flag.set;
  }
  return false;
}

absl::Status FlagSet::SetValue(Flag& flag, absl::string_view value) {
  flag.set = true;
  if (auto* out = std::get_if<std::string*>(&flag.out)) {
    **out = std::string(value);
    return absl::OkStatus();
  }
  if (auto* out = std::get_if<std::vector<std::string>*>(&flag.out)) {
    for (absl::string_view part : absl::StrSplit(value, ',')) {
      part = absl::StripAsciiWhitespace(part);
      if (part.empty()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("--%s: empty value in '%s'", flag.name, value));
      }
      (*out)->emplace_back(part);
    }
    return absl::OkStatus();
  }
  if (auto* out = std::get_if<uint64_t*>(&flag.out)) {
    uint64_t parsed = 0;
    if (value.empty() || value[0] == '-' || value[0] == '+' ||
        !absl::SimpleAtoi(value, &parsed)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "--%s: expected a non-negative integer, got '%s'", flag.name, value));
    }
    **out = parsed;
    return absl::OkStatus();
  }
  bool parsed = false;
  if (!absl::SimpleAtob(value, &parsed)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--%s: expected true or false, got '%s'", flag.name, value));
  }
  *std::get<bool*>(flag.out) = parsed;
  return absl::OkStatus();
}

absl::Status FlagSet::Parse(absl::Span<const std::string> args) {
  std::vector<absl::string_view> positional_args;
  bool only_positionals = false;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (only_positionals || arg == "-" || !absl::StartsWith(arg, "-")) {
      positional_args.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positionals = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      help_requested_ = true;
      return absl::OkStatus();
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown flag %s (flags are spelled --name)", arg));
    }
    absl::string_view body = arg.substr(2);
    absl::string_view name = body;
    std::optional<absl::string_view> inline_value;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = body.substr(0, eq);
      inline_value = body.substr(eq + 1);
    }
    Flag* flag = Find(name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown flag --%s", name));
    }
    if (flag->is_bool()) {
      if (!inline_value.has_value()) {
        flag->set = true;
        *std::get<bool*>(flag->out) = true;
        continue;
      }
      if (absl::Status s = SetValue(*flag, *inline_value); !s.ok()) return s;
      continue;
    }
    if (inline_value.has_value()) {
      if (absl::Status s = SetValue(*flag, *inline_value); !s.ok()) return s;
      continue;
    }
    if (i + 1 >= args.size()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("flag --%s needs a value (--%s %s)", flag->name,
                          flag->name, flag->value_name));
    }
    if (absl::Status s = SetValue(*flag, args[++i]); !s.ok()) return s;
  }

  if (positional_args.size() > positionals_.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "unexpected argument '%s'", positional_args[positionals_.size()]));
  }
  for (size_t i = 0; i < positionals_.size(); ++i) {
    if (i < positional_args.size()) {
      *positionals_[i].out = std::string(positional_args[i]);
    } else if (positionals_[i].required) {
      return absl::InvalidArgumentError(
          absl::StrFormat("missing argument <%s>", positionals_[i].name));
    }
  }
  return absl::OkStatus();
}

std::string FlagSet::PositionalSynopsis() const {
  std::string out;
  for (const Positional& p : positionals_) {
    if (!out.empty()) out += ' ';
    if (p.required) {
      absl::StrAppend(&out, "<", p.name, ">");
    } else {
      absl::StrAppend(&out, "[", p.name, "]");
    }
  }
  return out;
}

namespace {

// Two-column help: the left column padded to a common width, the help text
// after it (continuation lines of the help are indented to match).
std::string TwoColumns(
    const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  std::string out;
  for (const auto& [left, help] : rows) {
    std::string pad(width - left.size() + 2, ' ');
    std::string indent(width + 4, ' ');
    std::vector<absl::string_view> lines = absl::StrSplit(help, '\n');
    absl::StrAppend(&out, "  ", left, pad, lines[0], "\n");
    for (size_t i = 1; i < lines.size(); ++i) {
      absl::StrAppend(&out, indent, lines[i], "\n");
    }
  }
  return out;
}

}  // namespace

std::string FlagSet::PositionalHelp() const {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const Positional& p : positionals_) {
    rows.emplace_back(p.required ? absl::StrCat("<", p.name, ">") : p.name,
                      p.help);
  }
  return TwoColumns(rows);
}

std::string FlagSet::FlagHelp() const {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const Flag& flag : flags_) {
    std::string left = absl::StrCat("--", flag.name);
    if (!flag.is_bool()) absl::StrAppend(&left, " ", flag.value_name);
    rows.emplace_back(std::move(left), flag.help);
  }
  rows.emplace_back("-h, --help", "show this help");
  return TwoColumns(rows);
}

}  // namespace traversion::cli
