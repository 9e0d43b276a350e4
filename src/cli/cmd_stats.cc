// `traversion stats <store>`: what a store holds.
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "traversion/store.h"

namespace traversion::cli {
namespace {

constexpr CommandHelp kHelp = {
    "stats",
    "[--json]",
    "Opens a store read-only and prints what it holds: format version, event\n"
    "count, time span, services, entities and revisions, sizes and the\n"
    "entries of each internal table.",
    "  traversion stats ./traversion-demo\n"
    "  traversion stats ./traversion-demo --json | jq .events\n",
};

std::string TextReport(const std::string& path, const StoreStats& stats) {
  std::string out;
  const auto line = [&out](absl::string_view label, absl::string_view value) {
    absl::StrAppend(&out, PadRight(label, 18), value, "\n");
  };
  line("store", path);
  line("format version", absl::StrCat(stats.format_version));
  line("events", WithThousands(stats.events));
  if (stats.events == 0) {
    line("time span", "(empty)");
  } else {
    line("first event", FormatTimeNs(stats.first_event_ns));
    line("last event", FormatTimeNs(stats.last_event_ns));
    line("time span",
         FormatDuration(stats.last_event_ns - stats.first_event_ns));
  }
  line("services", stats.services.empty()
                       ? std::string("(none)")
                       : absl::StrCat(stats.services.size(), ": ",
                                      absl::StrJoin(stats.services, ", ")));
  line("entities", WithThousands(stats.entities));
  line("revisions", WithThousands(stats.revisions));
  line("current revision", absl::StrCat(stats.current_revision));
  line("live bytes", absl::StrFormat("%s (%s)", HumanBytes(stats.live_bytes),
                                     WithThousands(stats.live_bytes)));
  line("file bytes", absl::StrFormat("%s (%s)", HumanBytes(stats.file_bytes),
                                     WithThousands(stats.file_bytes)));
  line("map size", absl::StrFormat("%s (%s)", HumanBytes(stats.map_size_bytes),
                                   WithThousands(stats.map_size_bytes)));
  if (stats.events > 0 && stats.live_bytes > 0) {
    line("bytes per event",
         absl::StrFormat("%.0f", static_cast<double>(stats.live_bytes) /
                                     static_cast<double>(stats.events)));
  }
  if (!stats.tables.empty()) {
    absl::StrAppend(&out, "tables\n");
    size_t width = 0;
    for (const auto& [name, entries] : stats.tables) {
      width = std::max(width, DisplayWidth(name));
    }
    for (const auto& [name, entries] : stats.tables) {
      absl::StrAppend(&out, "  ", PadRight(name, width + 2),
                      WithThousands(entries), "\n");
    }
  }
  return out;
}

std::string JsonReport(const std::string& path, const StoreStats& stats) {
  std::string out = absl::StrCat("{\"store\":", JsonQuote(path),
                                 ",\"format_version\":", stats.format_version,
                                 ",\"events\":", stats.events);
  if (stats.events > 0) {
    absl::StrAppend(
        &out, ",\"first_event_ns\":", stats.first_event_ns,
        ",\"last_event_ns\":", stats.last_event_ns,
        ",\"first_event\":", JsonQuote(FormatTimeNs(stats.first_event_ns)),
        ",\"last_event\":", JsonQuote(FormatTimeNs(stats.last_event_ns)));
  } else {
    absl::StrAppend(&out,
                    ",\"first_event_ns\":null,\"last_event_ns\":null,"
                    "\"first_event\":null,\"last_event\":null");
  }
  absl::StrAppend(&out, ",\"services\":[");
  for (size_t i = 0; i < stats.services.size(); ++i) {
    if (i > 0) out += ',';
    out += JsonQuote(stats.services[i]);
  }
  absl::StrAppend(&out, "],\"entities\":", stats.entities,
                  ",\"revisions\":", stats.revisions,
                  ",\"current_revision\":", stats.current_revision,
                  ",\"live_bytes\":", stats.live_bytes,
                  ",\"file_bytes\":", stats.file_bytes,
                  ",\"map_size_bytes\":", stats.map_size_bytes,
                  ",\"tables\":{");
  for (size_t i = 0; i < stats.tables.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, JsonQuote(stats.tables[i].first), ":",
                    stats.tables[i].second);
  }
  absl::StrAppend(&out, "}}\n");
  return out;
}

}  // namespace

int RunStats(absl::Span<const std::string> args) {
  std::string path;
  bool json = false;
  FlagSet flags;
  flags.AddPositional("store", &path, /*required=*/true, "the store directory");
  flags.AddBool("json", &json, "print one JSON object instead of text");
  if (std::optional<int> exit = ParseCommandLine(kHelp, flags, args)) {
    return *exit;
  }

  absl::StatusOr<std::unique_ptr<Store>> store = OpenStoreForReading(path);
  if (!store.ok()) return Fail("stats", store.status());
  absl::StatusOr<StoreStats> stats = (*store)->Stats();
  if (!stats.ok()) return Fail("stats", stats.status());
  std::string report =
      json ? JsonReport(path, *stats) : TextReport(path, *stats);
  std::fwrite(report.data(), 1, report.size(), stdout);
  return kExitOk;
}

}  // namespace traversion::cli
