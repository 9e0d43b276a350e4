// Runs the data-driven TimeQL tests: every tests/timeql/*.test file is one
// GoogleTest case (TimeQL.<file name>), run against a fresh store.
//
// A .test file is a sequence of blocks separated by blank lines; '#' starts a
// comment line. Blocks:
//
//   now 2024-01-15T16:00:00Z      fixes the clock ('now', '10 minutes ago')
//   param NAME VALUE              binds QueryOptions::parameters[NAME]
//   option KEY VALUE              max_rows | max_events_examined | timeout_ns
//   load                          events, one JSON line each (the format of
//   {"time_unix_nano":...}        `traversion export`), written in one batch
//
//   statement ok                  the statement runs and reads to the end
//   <TimeQL, one or more lines>
//
//   statement error <text>        the statement fails (parsing, planning or
//   <TimeQL>                      while reading rows) with a message that
//                                 contains <text>
//
//   query [header] [plan] [json] [sorted]
//   <TimeQL>
//   ----
//   <expected rows, one per line: cells joined by " | ", NULL for NULL,
//    '' for an empty string>
//
// `header` expects a first line `name:type | ...`; `plan` a line
// `plan: <QueryStats::plan>` before the rows; `json` compares
// structured_json() (one line) instead of rows; `sorted` sorts both sides
// (for answers whose order is not defined).
//
// TIMEQL_REWRITE=1 in the environment writes the actual rows of every query
// block back into its file (for new tests: review the diff before keeping
// it; the test still fails where they differed).
#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "support/test_support.h"
#include "timeql/time_literal.h"
#include "traversion/event_codec.h"
#include "traversion/query.h"
#include "traversion/store.h"

namespace traversion {
namespace {

std::string Cell(const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return "NULL";
  if (const std::string* s = std::get_if<std::string>(&v)) {
    if (s->empty()) return "''";
  }
  return ValueToString(v);
}

struct Line {
  int number;
  std::string text;
};

class TestFile {
 public:
  explicit TestFile(std::string path) : path_(std::move(path)) {}

  void Run() {
    std::ifstream in(path_);
    ASSERT_TRUE(in.good()) << "cannot read " << path_;
    std::vector<Line> lines;
    std::string text;
    int number = 0;
    while (std::getline(in, text)) {
      ++number;
      raw_.push_back(text);
      if (absl::StartsWith(text, "#")) continue;
      lines.push_back(Line{number, std::move(text)});
    }
    dir_ = std::make_unique<testing::ScratchDir>();
    auto store = Store::Open(dir_->path() + "/store");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    options_.clock = &clock_;

    size_t i = 0;
    while (i < lines.size()) {
      const Line& head = lines[i];
      const std::string h(absl::StripAsciiWhitespace(head.text));
      if (h.empty()) {
        ++i;
        continue;
      }
      // The block: lines up to the next blank one.
      size_t end = i + 1;
      while (end < lines.size() &&
             !absl::StripAsciiWhitespace(lines[end].text).empty()) {
        ++end;
      }
      std::vector<Line> body(lines.begin() + i + 1, lines.begin() + end);
      RunBlock(head, h, body);
      i = end;
    }
    if (std::getenv("TIMEQL_REWRITE") != nullptr && !rewrites_.empty()) {
      Rewrite();
    }
  }

 private:
  // Replaces the expected lines of each query block with what it returned.
  void Rewrite() {
    std::vector<std::string> out;
    size_t next = 0;
    for (size_t i = 0; i < raw_.size(); ++i) {
      const int number = static_cast<int>(i) + 1;
      if (next < rewrites_.size() && number == rewrites_[next].first_line) {
        const Rewritten& r = rewrites_[next++];
        for (const std::string& l : r.lines) out.push_back(l);
        if (r.end_line > r.first_line) {
          i = static_cast<size_t>(r.end_line) - 2;
          continue;
        }
      }
      out.push_back(raw_[i]);
    }
    for (; next < rewrites_.size(); ++next) {
      for (const std::string& l : rewrites_[next].lines) out.push_back(l);
    }
    std::ofstream file(path_);
    for (const std::string& l : out) file << l << "\n";
  }

  void Fail(int line, const std::string& message) {
    ADD_FAILURE_AT(path_.c_str(), line) << message;
  }

  void RunBlock(const Line& head, const std::string& h,
                const std::vector<Line>& body) {
    std::vector<std::string> words =
        absl::StrSplit(h, ' ', absl::SkipWhitespace());
    const std::string& verb = words[0];
    if (verb == "now") {
      auto t = timeql::ParseTimeLiteral(h.substr(4), 0);
      if (!t.ok()) return Fail(head.number, std::string(t.status().message()));
      clock_.Set(static_cast<uint64_t>(*t));
      return;
    }
    if (verb == "param" && words.size() == 3) {
      options_.parameters[words[1]] = words[2];
      return;
    }
    if (verb == "option" && words.size() == 3) {
      int64_t v = 0;
      if (!absl::SimpleAtoi(words[2], &v)) return Fail(head.number, "number");
      if (words[1] == "max_rows") {
        options_.max_rows = static_cast<uint64_t>(v);
      } else if (words[1] == "max_events_examined") {
        options_.max_events_examined = static_cast<uint64_t>(v);
      } else if (words[1] == "timeout_ns") {
        options_.timeout_ns = v;
      } else {
        Fail(head.number, "unknown option " + words[1]);
      }
      return;
    }
    if (verb == "load") {
      std::vector<Event> events;
      for (const Line& l : body) {
        auto e = EventFromJson(l.text);
        if (!e.ok()) {
          return Fail(l.number,
                      absl::StrCat("bad event: ", e.status().ToString()));
        }
        events.push_back(std::move(*e));
      }
      auto written = store_->Write(events);
      if (!written.ok()) return Fail(head.number, written.status().ToString());
      return;
    }
    if (verb == "statement" && words.size() >= 2) {
      std::vector<std::string> query;
      for (const Line& l : body) query.push_back(l.text);
      const std::string q = absl::StrJoin(query, "\n");
      absl::Status status = RunToEnd(q, nullptr, nullptr);
      if (words[1] == "ok") {
        if (!status.ok()) Fail(head.number, status.ToString());
        return;
      }
      if (words[1] == "error") {
        const std::string expected = std::string(
            absl::StripAsciiWhitespace(h.substr(h.find("error") + 5)));
        if (status.ok()) {
          return Fail(head.number, "expected an error containing '" + expected +
                                       "', the statement ran");
        }
        if (!absl::StrContains(status.message(), expected)) {
          Fail(head.number,
               absl::StrCat("expected an error containing '", expected,
                            "', got: ", status.ToString()));
        }
        return;
      }
    }
    if (verb == "query") {
      bool header = false, plan = false, json = false, sorted = false;
      for (size_t w = 1; w < words.size(); ++w) {
        header |= words[w] == "header";
        plan |= words[w] == "plan";
        json |= words[w] == "json";
        sorted |= words[w] == "sorted";
      }
      std::vector<std::string> query, expected;
      bool after = false;
      int first_expected = 0;
      for (const Line& l : body) {
        if (!after && l.text == "----") {
          after = true;
          first_expected = l.number + 1;
          continue;
        }
        (after ? expected : query).push_back(l.text);
      }
      const int end_line =
          body.empty() ? head.number + 1 : body.back().number + 1;
      if (!after) return Fail(head.number, "query block without ----");
      std::vector<std::string> got;
      std::unique_ptr<Result> result;
      absl::Status status = RunToEnd(absl::StrJoin(query, "\n"), &got, &result);
      if (!status.ok()) return Fail(head.number, status.ToString());
      std::vector<std::string> actual;
      if (header) {
        std::vector<std::string> cols;
        for (const Column& c : result->columns()) {
          cols.push_back(absl::StrCat(c.name, ":", ColumnTypeName(c.type)));
        }
        actual.push_back(absl::StrJoin(cols, " | "));
      }
      if (plan) actual.push_back("plan: " + result->stats().plan);
      if (json) {
        actual.push_back(result->structured_json());
      } else {
        if (sorted) {
          std::sort(got.begin(), got.end());
          std::sort(expected.begin() + (header ? 1 : 0) + (plan ? 1 : 0),
                    expected.end());
        }
        actual.insert(actual.end(), got.begin(), got.end());
      }
      if (actual != expected) {
        rewrites_.push_back(Rewritten{first_expected, end_line, actual});
        Fail(head.number,
             absl::StrCat("query: ", absl::StrJoin(query, " "), "\nexpected:\n",
                          absl::StrJoin(expected, "\n"), "\nactual:\n",
                          absl::StrJoin(actual, "\n")));
      }
      return;
    }
    Fail(head.number, "unknown block: " + h);
  }

  absl::Status RunToEnd(const std::string& q, std::vector<std::string>* rows,
                        std::unique_ptr<Result>* keep) {
    auto result = Query(*store_, q, options_);
    if (!result.ok()) return result.status();
    while (result->Next()) {
      if (rows == nullptr) continue;
      std::vector<std::string> cells;
      for (const Value& v : result->row()) cells.push_back(Cell(v));
      rows->push_back(absl::StrJoin(cells, " | "));
    }
    if (!result->status().ok()) return result->status();
    if (keep != nullptr) *keep = std::make_unique<Result>(std::move(*result));
    return absl::OkStatus();
  }

  struct Rewritten {
    int first_line;  // the first expected line (after ----)
    int end_line;    // one past the block's last line
    std::vector<std::string> lines;
  };

  std::string path_;
  std::vector<std::string> raw_;
  std::vector<Rewritten> rewrites_;
  std::unique_ptr<testing::ScratchDir> dir_;
  std::unique_ptr<Store> store_;
  ManualClock clock_;
  QueryOptions options_;
};

class TimeQLFileTest : public ::testing::Test {
 public:
  explicit TimeQLFileTest(std::string path) : path_(std::move(path)) {}
  void TestBody() override { TestFile(path_).Run(); }

 private:
  std::string path_;
};

std::vector<std::string> TestFiles() {
  const std::string dir = std::string(TRAVERSION_SOURCE_DIR) + "/tests/timeql";
  std::vector<std::string> files;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* entry = readdir(d)) {
      const std::string name = entry->d_name;
      if (absl::EndsWith(name, ".test")) files.push_back(name);
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace
}  // namespace traversion

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const std::string dir = std::string(TRAVERSION_SOURCE_DIR) + "/tests/timeql";
  for (const std::string& name : traversion::TestFiles()) {
    const std::string path = dir + "/" + name;
    std::string test_name = name.substr(0, name.size() - 5);
    ::testing::RegisterTest("TimeQL", test_name.c_str(), nullptr, nullptr,
                            path.c_str(), 1, [path]() -> ::testing::Test* {
                              return new traversion::TimeQLFileTest(path);
                            });
  }
  return RUN_ALL_TESTS();
}
