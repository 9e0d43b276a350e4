#include "cli/query_output.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace traversion::cli {
namespace {

// Rows buffered to size the table's columns before it starts printing.
constexpr size_t kSizingRows = 1000;

bool RightAligned(ColumnType type) {
  return type == ColumnType::kInt64 || type == ColumnType::kDouble ||
         type == ColumnType::kDuration;
}

class TableWriter {
 public:
  TableWriter(const std::vector<Column>& columns, size_t max_cell_width,
              OutputFile& out)
      : columns_(columns), max_cell_(max_cell_width), out_(out) {
    widths_.resize(columns.size());
    for (size_t i = 0; i < columns.size(); ++i) {
      widths_[i] = Fit(DisplayWidth(columns[i].name));
    }
  }

  void Add(std::vector<std::string> cells) {
    if (sized_) {
      Print(cells);
      return;
    }
    for (size_t i = 0; i < cells.size() && i < widths_.size(); ++i) {
      widths_[i] = std::max(widths_[i], Fit(DisplayWidth(Clean(cells[i]))));
    }
    pending_.push_back(std::move(cells));
    if (pending_.size() >= kSizingRows) Flush();
  }

  void Flush() {
    if (sized_) return;
    sized_ = true;
    std::vector<std::string> header;
    std::vector<std::string> rule;
    for (size_t i = 0; i < columns_.size(); ++i) {
      header.push_back(columns_[i].name);
      rule.push_back(std::string(widths_[i], '-'));
    }
    Print(header, /*header=*/true);
    Print(rule, /*header=*/true);
    for (const auto& cells : pending_) Print(cells);
    pending_.clear();
  }

 private:
  size_t Fit(size_t width) const {
    return max_cell_ == 0 ? width : std::min(width, max_cell_);
  }

  // Newlines and tabs would break the grid.
  static std::string Clean(absl::string_view text) {
    std::string out(text);
    for (char& c : out) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    return out;
  }

  void Print(const std::vector<std::string>& cells, bool header = false) {
    std::string line;
    for (size_t i = 0; i < widths_.size(); ++i) {
      if (i > 0) line += "  ";
      std::string cell = Truncate(
          Clean(i < cells.size() ? cells[i] : std::string()), widths_[i]);
      size_t pad = widths_[i] - std::min(widths_[i], DisplayWidth(cell));
      if (!header && RightAligned(columns_[i].type)) {
        line.append(pad, ' ');
        line += cell;
      } else {
        line += cell;
        line.append(pad, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    line += '\n';
    out_.Write(line);
  }

  const std::vector<Column>& columns_;
  size_t max_cell_;
  OutputFile& out_;
  std::vector<size_t> widths_;
  bool sized_ = false;
  std::vector<std::vector<std::string>> pending_;
};

}  // namespace

std::optional<OutputFormat> ParseOutputFormat(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "table") return OutputFormat::kTable;
  if (lower == "jsonl" || lower == "json") return OutputFormat::kJsonl;
  if (lower == "csv") return OutputFormat::kCsv;
  return std::nullopt;
}

absl::string_view OutputFormatName(OutputFormat format) {
  switch (format) {
    case OutputFormat::kTable:
      return "table";
    case OutputFormat::kJsonl:
      return "jsonl";
    case OutputFormat::kCsv:
      return "csv";
  }
  return "table";
}

std::string CellText(const Value& value) {
  if (std::holds_alternative<std::monostate>(value)) return "";
  return ValueToString(value);
}

std::string CsvField(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(text);
  }
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string JsonValue(const Value& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "null"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return absl::StrCat(i); }
    std::string operator()(double d) const {
      if (!std::isfinite(d)) return "null";
      char buffer[32];
      auto result = std::to_chars(buffer, buffer + sizeof(buffer), d);
      return std::string(buffer, result.ptr);
    }
    std::string operator()(const std::string& s) const { return JsonQuote(s); }
    std::string operator()(TimeValue t) const {
      return JsonQuote(ValueToString(Value(t)));
    }
    std::string operator()(DurationValue d) const { return absl::StrCat(d.ns); }
  };
  return std::visit(Visitor{}, value);
}

absl::StatusOr<ResultSummary> WriteResult(Result& result,
                                          const ResultOutputOptions& options,
                                          OutputFile& out) {
  const std::vector<Column>& columns = result.columns();
  ResultSummary summary;
  TableWriter table(columns, options.max_cell_width, out);
  std::vector<std::string> keys;
  for (const Column& column : columns) {
    keys.push_back(JsonQuote(column.name));
  }
  if (options.format == OutputFormat::kCsv) {
    std::vector<std::string> header;
    for (const Column& column : columns) {
      header.push_back(CsvField(column.name));
    }
    out.Write(absl::StrCat(absl::StrJoin(header, ","), "\n"));
  }

  while (true) {
    if (options.limit != 0 && summary.rows == options.limit) {
      // Reading one more row tells whether the limit cut anything.
      summary.more = result.Next();
      break;
    }
    if (!result.Next()) break;
    const Row& row = result.row();
    ++summary.rows;
    switch (options.format) {
      case OutputFormat::kTable: {
        std::vector<std::string> cells;
        cells.reserve(row.size());
        for (const Value& value : row) cells.push_back(CellText(value));
        table.Add(std::move(cells));
        break;
      }
      case OutputFormat::kJsonl: {
        std::string line = "{";
        for (size_t i = 0; i < row.size() && i < keys.size(); ++i) {
          if (i > 0) line += ",";
          absl::StrAppend(&line, keys[i], ":", JsonValue(row[i]));
        }
        line += "}\n";
        out.Write(line);
        break;
      }
      case OutputFormat::kCsv: {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) {
          if (i > 0) line += ",";
          line += CsvField(CellText(row[i]));
        }
        line += "\n";
        out.Write(line);
        break;
      }
    }
  }
  if (options.format == OutputFormat::kTable) table.Flush();
  if (!summary.more && !result.status().ok()) return result.status();
  return summary;
}

std::string ExplainText(absl::string_view canonical_query, const Result& result,
                        const ResultSummary& summary) {
  const QueryStats& stats = result.stats();
  std::vector<std::string> columns;
  for (const Column& column : result.columns()) {
    columns.push_back(
        absl::StrCat(column.name, " (", ColumnTypeName(column.type), ")"));
  }
  return absl::StrCat(
      "query:     ", canonical_query, "\n", "kind:      ", result.kind(), "\n",
      "columns:   ", absl::StrJoin(columns, ", "), "\n",
      "plan:      ", stats.plan.empty() ? "-" : stats.plan, "\n",
      "examined:  ", WithThousands(stats.events_examined), " events\n",
      "rows:      ", WithThousands(summary.rows), summary.more ? " (more)" : "",
      "\n", "elapsed:   ",
      FormatDuration(
          static_cast<uint64_t>(std::max<int64_t>(0, stats.elapsed_ns))),
      "\n");
}

}  // namespace traversion::cli
