// traversion_nezha_eval: the causality engine on the Train Ticket corpus
// published with the Nezha paper (docs/nezha.md).
//
// For each labelled fault of a day it builds a fresh store holding that
// day's fault-free period (construct_data) and the fault's window (rca_data
// from inject_time on), asks CausalityEngine::FindRootCause for the window
// with the fault-free period as its baseline, ranks the distinct services of
// the candidates and scores the rank of the labelled service. The labels are
// read for the window's start and for scoring, nothing else.
//
//   traversion_nezha_eval <corpus-dir> <day> [--case N] [--window 3m]
//                         [--verbose] [--tmp-dir DIR] [--keep-stores DIR]
//                         [--batch N]
//
// Output: a line per case, a table per fault type, and the summary lines
// rca.cases / rca.ac1 / rca.ac3 / rca.ac5 / rca.seconds_per_case.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "import/nezha_csv.h"
#include "traversion/causality.h"
#include "traversion/store.h"

namespace tv = traversion;
namespace imp = traversion::import;
namespace fs = std::filesystem;

namespace {

constexpr char kUsage[] =
    "usage: traversion_nezha_eval <corpus-dir> <day> [options]\n"
    "\n"
    "For each labelled fault of <day> (e.g. 2023-01-29) in the Train Ticket\n"
    "corpus at <corpus-dir>: load the day's fault-free period and the fault's\n"
    "window into a fresh store, ask the causality engine for the root cause,\n"
    "and score the rank of the labelled service.\n"
    "\n"
    "options:\n"
    "  --case N           run only the N-th fault of the day (1-based, in "
    "time\n"
    "                     order)\n"
    "  --window D         the window's length from inject_time (default 3m;\n"
    "                     e.g. 90s, 2m30s), capped by the data present\n"
    "  --before D         also load the D before inject_time from the fault's\n"
    "                     own files (default 2m; 0 to leave it out): it is\n"
    "                     healthy too and joins the baseline\n"
    "  --verbose          print each case's candidates with their evidence,\n"
    "                     the anomalies and the patterns found\n"
    "  --tmp-dir DIR      where the per-case stores go (default $TMPDIR or\n"
    "                     /tmp); each is removed after its case\n"
    "  --keep-stores DIR  keep each case's store as DIR/case-NN instead\n"
    "  --batch N          events per Store::Write (default 20000)\n";

// Gaps between the corpus's minute files are a few seconds; a larger gap
// ends the data that a window can use.
constexpr uint64_t kMaxDataGapNs = 30'000'000'000;

struct Flags {
  std::string corpus;
  std::string day;
  int only_case = 0;  // 0: all
  uint64_t window_ns = uint64_t{180} * 1'000'000'000;
  uint64_t before_ns = uint64_t{120} * 1'000'000'000;
  bool verbose = false;
  std::string tmp_dir;
  std::string keep_dir;
  size_t batch = 20000;
};

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string Clock(uint64_t ns) {
  return absl::FormatTime("%H:%M:%S",
                          absl::FromUnixNanos(static_cast<int64_t>(ns)),
                          absl::UTCTimeZone());
}

std::string ClockMillis(uint64_t ns) {
  return absl::FormatTime("%H:%M:%E3S",
                          absl::FromUnixNanos(static_cast<int64_t>(ns)),
                          absl::UTCTimeZone());
}

absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags flags;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> absl::StatusOr<std::string> {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
      }
      return std::string(argv[++i]);
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--verbose" || arg == "-v") {
      flags.verbose = true;
    } else if (arg == "--case") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      if (!absl::SimpleAtoi(*v, &flags.only_case) || flags.only_case < 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("--case wants a number from 1, got '", *v, "'"));
      }
    } else if (arg == "--window") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      absl::Duration d;
      if (!absl::ParseDuration(*v, &d) || d <= absl::ZeroDuration()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--window wants a positive duration (3m, 90s), got '", *v, "'"));
      }
      flags.window_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(d));
    } else if (arg == "--before") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      absl::Duration d;
      if (!absl::ParseDuration(*v, &d) || d < absl::ZeroDuration()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--before wants a duration (2m, 0s), got '", *v, "'"));
      }
      flags.before_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(d));
    } else if (arg == "--tmp-dir") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      flags.tmp_dir = *v;
    } else if (arg == "--keep-stores") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      flags.keep_dir = *v;
    } else if (arg == "--batch") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      if (!absl::SimpleAtoi(*v, &flags.batch) || flags.batch == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--batch wants a positive number, got '", *v, "'"));
      }
    } else if (absl::StartsWith(arg, "-")) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", arg));
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2) {
    return absl::InvalidArgumentError("expected <corpus-dir> <day>");
  }
  flags.corpus = positional[0];
  flags.day = positional[1];
  if (flags.tmp_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    flags.tmp_dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  return flags;
}

// The *.csv files of a directory, sorted by name. NotFound if it is absent.
absl::StatusOr<std::vector<std::string>> CsvFiles(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat(dir.string(), ": no such directory"));
  }
  std::vector<std::string> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".csv")
      files.push_back(entry.path().string());
  }
  if (ec)
    return absl::UnavailableError(
        absl::StrCat(dir.string(), ": ", ec.message()));
  std::sort(files.begin(), files.end());
  return files;
}

struct TimedFile {
  std::string path;
  imp::NezhaTimeRange range;
};

// Reads the rows of `paths` in [from, to) and appends their events.
absl::Status ReadFiles(const std::vector<std::string>& paths, uint64_t from_ns,
                       uint64_t to_ns, std::vector<tv::Event>* events,
                       imp::NezhaImportStats* stats) {
  imp::NezhaImportOptions options;
  options.from_ns = from_ns;
  options.to_ns = to_ns;
  for (const std::string& path : paths) {
    absl::Status status = imp::ReadNezhaCsvFile(
        path, options,
        [&](tv::Event&& e) {
          events->push_back(std::move(e));
          return absl::OkStatus();
        },
        stats);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// The rows of the day's metric files, parsed once: each file holds the
// whole day (a row a minute per pod), and a case needs only the few rows of
// its window, so re-reading the files for every case would be most of the
// load time.
class MetricRows {
 public:
  absl::Status Load(const std::vector<std::string>& paths,
                    imp::NezhaImportStats* stats) {
    constexpr uint64_t kMaxSkipped = 1000;
    for (const std::string& path : paths) {
      absl::StatusOr<std::unique_ptr<imp::CsvReader>> reader =
          imp::CsvReader::OpenFile(path);
      if (!reader.ok()) return reader.status();
      imp::CsvReader& csv = **reader;
      absl::StatusOr<bool> got = csv.Next();
      if (!got.ok()) return got.status();
      if (!*got) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": empty file (no header)"));
      }
      absl::StatusOr<imp::NezhaCsvConverter> converter =
          imp::NezhaCsvConverter::FromHeader(csv.fields());
      if (!converter.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(csv.Where(), ": ", converter.status().message()));
      }
      File file{path, *std::move(converter), {}};
      uint64_t skipped = 0;
      while (true) {
        got = csv.Next();
        std::string reason;
        if (got.ok() && !*got) break;
        ++stats->rows;
        if (got.ok()) {
          absl::StatusOr<uint64_t> time = file.converter.RowTime(csv.fields());
          if (time.ok()) {
            Row row{*time, {}, {}};
            for (absl::string_view field : csv.fields()) {
              row.text.append(field.data(), field.size());
              row.ends.push_back(static_cast<uint32_t>(row.text.size()));
            }
            file.rows.push_back(std::move(row));
            continue;
          }
          reason = absl::StrCat(csv.Where(), ": ", time.status().message());
        } else if (got.status().code() == absl::StatusCode::kInvalidArgument) {
          reason = std::string(got.status().message());
        } else {
          return got.status();
        }
        ++stats->skipped;
        if (++skipped > kMaxSkipped) {
          return absl::InvalidArgumentError(
              absl::StrCat(reason, " (more than ", kMaxSkipped,
                           " malformed rows; giving up on the file)"));
        }
        if (stats->skip_reasons.size() < 10) {
          stats->skip_reasons.push_back(std::move(reason));
        }
      }
      stats->bytes += csv.bytes_read();
      rows_ += file.rows.size();
      files_.push_back(std::move(file));
    }
    return absl::OkStatus();
  }

  // Appends the events of the rows in [from_ns, to_ns).
  absl::Status Read(uint64_t from_ns, uint64_t to_ns,
                    std::vector<tv::Event>* events,
                    imp::NezhaImportStats* stats) const {
    std::vector<absl::string_view> fields;
    for (const File& file : files_) {
      for (const Row& row : file.rows) {
        if (row.time_ns < from_ns || row.time_ns >= to_ns) continue;
        fields.clear();
        uint32_t begin = 0;
        for (uint32_t end : row.ends) {
          fields.push_back(
              absl::string_view(row.text).substr(begin, end - begin));
          begin = end;
        }
        const size_t before = events->size();
        absl::Status converted = file.converter.Convert(fields, events);
        if (!converted.ok()) {
          ++stats->skipped;
          if (stats->skip_reasons.size() < 10) {
            stats->skip_reasons.push_back(
                absl::StrCat(file.path, ": ", converted.message()));
          }
          continue;
        }
        stats->events += events->size() - before;
      }
    }
    return absl::OkStatus();
  }

  size_t files() const { return files_.size(); }
  size_t rows() const { return rows_; }

 private:
  struct Row {
    uint64_t time_ns;
    std::string text;            // the fields back to back
    std::vector<uint32_t> ends;  // where each field ends in `text`
  };
  struct File {
    std::string path;
    imp::NezhaCsvConverter converter;
    std::vector<Row> rows;
  };
  std::vector<File> files_;
  size_t rows_ = 0;
};

// Writes `events` (sorted here by id, so the store appends) in batches.
absl::StatusOr<uint64_t> WriteSorted(tv::Store& store,
                                     std::vector<tv::Event>& events,
                                     size_t batch) {
  std::sort(events.begin(), events.end(),
            [](const tv::Event& a, const tv::Event& b) { return a.id < b.id; });
  uint64_t written = 0;
  for (size_t at = 0; at < events.size(); at += batch) {
    const size_t n = std::min(batch, events.size() - at);
    absl::StatusOr<tv::WriteResult> result =
        store.Write(absl::MakeConstSpan(events.data() + at, n));
    if (!result.ok()) return result.status();
    written += result->written;
  }
  return written;
}

// The distinct services of a report's candidates, best first.
std::vector<std::string> RankedServices(const tv::RootCauseReport& report) {
  std::vector<std::string> services;
  for (const tv::RootCause& c : report.candidates) {
    std::string service = c.service;
    if (service.empty() && c.kind == "service") service = c.name;
    if (service.empty()) continue;
    if (std::find(services.begin(), services.end(), service) ==
        services.end()) {
      services.push_back(std::move(service));
    }
  }
  return services;
}

struct CaseResult {
  int index = 0;
  imp::NezhaFault fault;
  uint64_t from_ns = 0;
  uint64_t to_ns = 0;
  int rank = 0;  // 1-based; 0: not among the candidates
  std::vector<std::string> ranked;
  uint64_t events = 0;  // written to the store
  uint64_t csv_bytes = 0;
  double load_s = 0;
  double load_cpu_s = 0;  // this process's CPU time while loading
  double write_s = 0;
  double analysis_s = 0;
  std::string error;
};

void PrintReport(const tv::RootCauseReport& report) {
  std::string baseline;
  for (const tv::TimeRange& r : report.baseline) {
    absl::StrAppend(&baseline, baseline.empty() ? "" : ", ",
                    ClockMillis(r.from_ns), "-", ClockMillis(r.to_ns));
  }
  std::printf("    examined %llu events; baseline %s\n",
              static_cast<unsigned long long>(report.events_examined),
              baseline.c_str());
  const size_t shown = std::min<size_t>(report.candidates.size(), 10);
  std::printf("    candidates (%zu):\n", report.candidates.size());
  for (size_t i = 0; i < shown; ++i) {
    const tv::RootCause& c = report.candidates[i];
    std::printf("    %2zu. [%s] %s (service %s) confidence %.3f\n", i + 1,
                c.kind.c_str(), c.name.c_str(),
                c.service.empty() ? "-" : c.service.c_str(), c.confidence);
    for (const std::string& line : c.evidence) {
      std::printf("          - %s\n", line.c_str());
    }
  }
  const size_t anomalies = std::min<size_t>(report.anomalies.size(), 25);
  std::printf("    anomalies (%zu, strongest %zu):\n", report.anomalies.size(),
              anomalies);
  for (size_t i = 0; i < anomalies; ++i) {
    const tv::Anomaly& a = report.anomalies[i];
    std::printf("      %-28s %-11s %-40s base %-10.4g obs %-10.4g score %.2f\n",
                a.service.c_str(), a.signal.c_str(),
                a.subject.substr(0, 40).c_str(), a.baseline, a.observed,
                a.score);
    if (!a.description.empty()) {
      std::printf("        %s\n", a.description.c_str());
    }
  }
  for (const tv::PatternOccurrence& p : report.patterns) {
    std::printf("    pattern %s on %s (confidence %.2f): %s\n",
                p.pattern.c_str(), p.key.c_str(), p.confidence,
                p.description.c_str());
  }
}

int Run(const Flags& flags) {
  const fs::path rca = fs::path(flags.corpus) / "rca_data" / flags.day;
  const fs::path construct =
      fs::path(flags.corpus) / "construct_data" / flags.day;
  const std::string labels = (rca / (flags.day + "-fault_list.json")).string();

  absl::StatusOr<std::vector<imp::NezhaFault>> faults =
      imp::LoadNezhaFaults(labels);
  if (!faults.ok()) {
    std::fprintf(stderr, "nezha: %s\n", faults.status().ToString().c_str());
    return 1;
  }
  if (flags.only_case > static_cast<int>(faults->size())) {
    std::fprintf(stderr, "nezha: --case %d: the day has %zu faults\n",
                 flags.only_case, faults->size());
    return 2;
  }
  std::printf(
      "nezha: %s day %s: %zu labelled faults, window %s from inject_time\n",
      flags.corpus.c_str(), flags.day.c_str(), faults->size(),
      absl::FormatDuration(absl::Nanoseconds(flags.window_ns)).c_str());

  auto die = [](const absl::Status& status) {
    std::fprintf(stderr, "nezha: %s\n", status.ToString().c_str());
    return 1;
  };

  // Where each minute file's rows lie in time (from the content: a file
  // named HH_MM holds roughly the minute before HH:MM, some hold more).
  const auto index_start = std::chrono::steady_clock::now();
  std::vector<TimedFile> window_files;
  uint64_t indexed_bytes = 0;
  for (const char* kind : {"trace", "log"}) {
    absl::StatusOr<std::vector<std::string>> files = CsvFiles(rca / kind);
    if (!files.ok()) return die(files.status());
    for (const std::string& path : *files) {
      absl::StatusOr<imp::NezhaTimeRange> range = imp::ScanNezhaTimeRange(path);
      if (!range.ok()) return die(range.status());
      if (range->rows == 0) continue;
      std::error_code ec;
      indexed_bytes += fs::file_size(path, ec);
      window_files.push_back({path, *range});
    }
  }
  std::sort(window_files.begin(), window_files.end(),
            [](const TimedFile& a, const TimedFile& b) {
              return a.range.first_ns < b.range.first_ns;
            });
  absl::StatusOr<std::vector<std::string>> metric_files =
      CsvFiles(rca / "metric");
  if (!metric_files.ok()) return die(metric_files.status());
  const double index_s =
      Seconds(std::chrono::steady_clock::now() - index_start);
  std::printf(
      "index: %zu trace/log files, %.1f MB, time ranges read in %.2f s\n",
      window_files.size(), static_cast<double>(indexed_bytes) / 1e6, index_s);
  const auto metrics_start = std::chrono::steady_clock::now();
  MetricRows metric_rows;
  imp::NezhaImportStats metric_stats;
  if (absl::Status status = metric_rows.Load(*metric_files, &metric_stats);
      !status.ok()) {
    return die(status);
  }
  std::printf("metrics: %zu files, %zu rows, %.1f MB, read in %.2f s\n",
              metric_rows.files(), metric_rows.rows(),
              static_cast<double>(metric_stats.bytes) / 1e6,
              Seconds(std::chrono::steady_clock::now() - metrics_start));
  for (const std::string& reason : metric_stats.skip_reasons) {
    std::printf("  skipped: %s\n", reason.c_str());
  }

  // The fault-free period: its trace and log files whole, and the metric
  // rows within its time span. Parsed once, written into every case's store.
  const auto baseline_start = std::chrono::steady_clock::now();
  std::vector<tv::Event> baseline;
  imp::NezhaImportStats baseline_stats;
  {
    std::vector<std::string> files;
    for (const char* kind : {"trace", "log"}) {
      absl::StatusOr<std::vector<std::string>> some =
          CsvFiles(construct / kind);
      if (!some.ok()) return die(some.status());
      files.insert(files.end(), some->begin(), some->end());
    }
    absl::Status status =
        ReadFiles(files, 0, UINT64_MAX, &baseline, &baseline_stats);
    if (!status.ok()) return die(status);
  }
  if (baseline.empty()) {
    return die(absl::FailedPreconditionError(
        absl::StrCat(construct.string(), ": no spans or logs")));
  }
  const uint64_t baseline_from = baseline_stats.min_time_ns;
  const uint64_t baseline_to = baseline_stats.max_time_ns + 1;
  const size_t baseline_traces_logs = baseline.size();
  {
    absl::StatusOr<std::vector<std::string>> files =
        CsvFiles(construct / "metric");
    if (!files.ok()) return die(files.status());
    absl::Status status = ReadFiles(*files, baseline_from, baseline_to,
                                    &baseline, &baseline_stats);
    if (!status.ok()) return die(status);
  }
  std::printf(
      "baseline: construct_data %s-%s UTC: %zu spans and logs (%llu error "
      "logs), %zu metric samples; parsed in %.2f s\n",
      ClockMillis(baseline_from).c_str(), ClockMillis(baseline_to).c_str(),
      baseline_traces_logs,
      static_cast<unsigned long long>(baseline_stats.error_logs),
      baseline.size() - baseline_traces_logs,
      Seconds(std::chrono::steady_clock::now() - baseline_start));
  for (const std::string& reason : baseline_stats.skip_reasons) {
    std::printf("  skipped: %s\n", reason.c_str());
  }

  fs::path scratch;
  {
    std::string pattern =
        (fs::path(flags.tmp_dir) / "nezha-eval-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return die(absl::UnavailableError(
          absl::StrCat("cannot make a directory in ", flags.tmp_dir)));
    }
    scratch = pattern;
  }
  if (!flags.keep_dir.empty()) {
    std::error_code ec;
    fs::create_directories(flags.keep_dir, ec);
    if (ec) {
      return die(absl::UnavailableError(
          absl::StrCat(flags.keep_dir, ": ", ec.message())));
    }
  }

  std::printf("\n%-4s %-8s %-15s %-30s %-4s %-70s %8s %7s %7s\n", "case",
              "inject", "type", "true service", "rank", "top 3", "events",
              "load_s", "rca_s");
  std::vector<CaseResult> results;
  imp::NezhaImportStats window_stats;
  bool any_error = false;
  for (size_t i = 0; i < faults->size(); ++i) {
    if (flags.only_case != 0 && static_cast<int>(i) + 1 != flags.only_case) {
      continue;
    }
    CaseResult r;
    r.index = static_cast<int>(i) + 1;
    r.fault = (*faults)[i];
    r.from_ns = r.fault.inject_ns;

    // The files whose rows reach into the window, and the end of the data
    // that follows inject_time without a gap.
    const uint64_t nominal_to = r.from_ns + flags.window_ns;
    std::vector<std::string> files;
    uint64_t covered = r.from_ns;
    bool any_data = false;
    for (const TimedFile& f : window_files) {
      if (f.range.last_ns < r.from_ns - flags.before_ns ||
          f.range.first_ns >= nominal_to)
        continue;
      files.push_back(f.path);
      if (f.range.first_ns <= covered + kMaxDataGapNs) {
        covered = std::max(covered, f.range.last_ns);
        any_data = true;
      }
    }
    r.to_ns = std::min(nominal_to, covered + 1);

    const auto load_start = std::chrono::steady_clock::now();
    const std::clock_t load_cpu_start = std::clock();
    std::unique_ptr<tv::Store> store;
    const fs::path store_dir =
        flags.keep_dir.empty()
            ? scratch / absl::StrFormat("case-%02d", r.index)
            : fs::path(flags.keep_dir) / absl::StrFormat("case-%02d", r.index);
    absl::Status status = absl::OkStatus();
    if (!any_data) {
      status =
          absl::NotFoundError("no trace or log rows at or after inject_time");
    }
    std::vector<tv::Event> events;
    if (status.ok()) {
      std::error_code ec;
      fs::remove_all(store_dir, ec);
      tv::StoreOptions options;
      options.sync = tv::SyncMode::kNoSync;
      absl::StatusOr<std::unique_ptr<tv::Store>> opened =
          tv::Store::Open(store_dir.string(), options);
      if (opened.ok()) {
        store = std::move(*opened);
      } else {
        status = opened.status();
      }
    }
    if (status.ok()) {
      events = baseline;
      imp::NezhaImportStats stats;
      // The minutes before inject_time in the fault's own files are healthy:
      // they join the baseline (--before).
      status = ReadFiles(files, r.from_ns - flags.before_ns, r.to_ns, &events,
                         &stats);
      if (status.ok()) {
        status = metric_rows.Read(r.from_ns - flags.before_ns, r.to_ns, &events,
                                  &stats);
      }
      r.csv_bytes = stats.bytes;
      window_stats.Merge(stats);
    }
    if (status.ok()) {
      const auto write_start = std::chrono::steady_clock::now();
      absl::StatusOr<uint64_t> written =
          WriteSorted(*store, events, flags.batch);
      r.write_s = Seconds(std::chrono::steady_clock::now() - write_start);
      if (written.ok()) {
        r.events = *written;
      } else {
        status = written.status();
      }
    }
    r.load_s = Seconds(std::chrono::steady_clock::now() - load_start);
    r.load_cpu_s =
        static_cast<double>(std::clock() - load_cpu_start) / CLOCKS_PER_SEC;

    tv::RootCauseReport report;
    if (status.ok()) {
      tv::CausalityOptions options;
      options.baseline.push_back({baseline_from, baseline_to});
      if (flags.before_ns > 0) {
        options.baseline.push_back({r.from_ns - flags.before_ns, r.from_ns});
      }
      tv::CausalityEngine engine(options);
      const auto analysis_start = std::chrono::steady_clock::now();
      absl::StatusOr<tv::RootCauseReport> found =
          engine.FindRootCause(*store, r.from_ns, r.to_ns);
      r.analysis_s = Seconds(std::chrono::steady_clock::now() - analysis_start);
      if (found.ok()) {
        report = std::move(*found);
      } else {
        status = found.status();
      }
    }
    if (status.ok()) {
      r.ranked = RankedServices(report);
      for (size_t k = 0; k < r.ranked.size(); ++k) {
        if (r.ranked[k] == r.fault.service) {
          r.rank = static_cast<int>(k) + 1;
          break;
        }
      }
    } else {
      r.error = status.ToString();
      any_error = true;
    }
    store.reset();
    if (flags.keep_dir.empty()) {
      std::error_code ec;
      fs::remove_all(store_dir, ec);
    }

    const std::vector<std::string> top(
        r.ranked.begin(),
        r.ranked.begin() + std::min<size_t>(3, r.ranked.size()));
    const std::string rank = r.rank > 0 ? absl::StrCat(r.rank) : "-";
    const std::string answer = top.empty() ? "(none)" : absl::StrJoin(top, ",");
    std::printf("%-4d %-8s %-15s %-30s %-4s %-70s %8llu %7.2f %7.2f\n", r.index,
                Clock(r.fault.inject_ns).c_str(), r.fault.type.c_str(),
                r.fault.service.c_str(), rank.c_str(), answer.c_str(),
                static_cast<unsigned long long>(r.events), r.load_s,
                r.analysis_s);
    if (!r.error.empty()) std::printf("     error: %s\n", r.error.c_str());
    if (flags.verbose && r.error.empty()) {
      std::printf("    window %s-%s UTC (%zu files)\n",
                  ClockMillis(r.from_ns).c_str(), ClockMillis(r.to_ns).c_str(),
                  files.size());
      PrintReport(report);
    }
    std::fflush(stdout);
    results.push_back(std::move(r));
  }
  std::error_code ec;
  fs::remove_all(scratch, ec);

  // Per fault type, in order of first appearance, then all.
  std::vector<std::string> types;
  for (const CaseResult& r : results) {
    if (std::find(types.begin(), types.end(), r.fault.type) == types.end()) {
      types.push_back(r.fault.type);
    }
  }
  auto ac = [](const std::vector<const CaseResult*>& cases, int k) {
    if (cases.empty()) return 0.0;
    int hits = 0;
    for (const CaseResult* r : cases) hits += r->rank >= 1 && r->rank <= k;
    return static_cast<double>(hits) / static_cast<double>(cases.size());
  };
  std::printf("\n%-16s %5s %6s %6s %6s\n", "fault type", "cases", "AC@1",
              "AC@3", "AC@5");
  std::vector<const CaseResult*> all;
  for (const CaseResult& r : results) all.push_back(&r);
  for (const std::string& type : types) {
    std::vector<const CaseResult*> cases;
    for (const CaseResult& r : results) {
      if (r.fault.type == type) cases.push_back(&r);
    }
    std::printf("%-16s %5zu %6.2f %6.2f %6.2f\n", type.c_str(), cases.size(),
                ac(cases, 1), ac(cases, 3), ac(cases, 5));
  }
  std::printf("%-16s %5zu %6.2f %6.2f %6.2f\n", "all", all.size(), ac(all, 1),
              ac(all, 3), ac(all, 5));

  double load_s = 0, load_cpu_s = 0, write_s = 0, analysis_s = 0;
  uint64_t events = 0, csv_bytes = 0;
  for (const CaseResult& r : results) {
    load_s += r.load_s;
    load_cpu_s += r.load_cpu_s;
    write_s += r.write_s;
    analysis_s += r.analysis_s;
    events += r.events;
    csv_bytes += r.csv_bytes;
  }
  std::printf(
      "\nload: %llu events into %zu stores in %.2f s, %.2f s CPU (%.0f "
      "events/s); window CSV %.1f MB read at %.1f MB/s; store writes %.2f s "
      "(%.0f events/s)\n",
      static_cast<unsigned long long>(events), results.size(), load_s,
      load_cpu_s, load_s > 0 ? static_cast<double>(events) / load_s : 0.0,
      static_cast<double>(csv_bytes) / 1e6,
      load_s - write_s > 0
          ? static_cast<double>(csv_bytes) / 1e6 / (load_s - write_s)
          : 0.0,
      write_s, write_s > 0 ? static_cast<double>(events) / write_s : 0.0);
  std::printf(
      "trace/log rows: %llu read, %llu in the cases' time ranges, %llu "
      "skipped as malformed, "
      "%llu error logs\n",
      static_cast<unsigned long long>(window_stats.rows),
      static_cast<unsigned long long>(
          window_stats.rows - window_stats.out_of_range - window_stats.skipped),
      static_cast<unsigned long long>(window_stats.skipped),
      static_cast<unsigned long long>(window_stats.error_logs));
  for (const std::string& reason : window_stats.skip_reasons) {
    std::printf("  skipped: %s\n", reason.c_str());
  }
  std::printf(
      "analysis: %.2f s in all, %.2f s per case\n", analysis_s,
      results.empty() ? 0.0 : analysis_s / static_cast<double>(results.size()));
  std::printf("rca.cases: %zu\n", results.size());
  std::printf("rca.ac1: %.2f\n", ac(all, 1));
  std::printf("rca.ac3: %.2f\n", ac(all, 3));
  std::printf("rca.ac5: %.2f\n", ac(all, 5));
  std::printf("rca.seconds_per_case: %.2f\n",
              results.empty() ? 0.0
                              : (load_s + analysis_s) /
                                    static_cast<double>(results.size()));
  return any_error ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<Flags> flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::fprintf(stderr, "nezha: %s\n\n%s",
                 std::string(flags.status().message()).c_str(), kUsage);
    return 2;
  }
  return Run(*flags);
}
