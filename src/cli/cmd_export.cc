// `traversion export <store> [FILE|-]`: events as JSON lines.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "traversion/clock.h"
#include "traversion/event.h"
#include "traversion/event_codec.h"
#include "traversion/store.h"

namespace traversion::cli {
namespace {

constexpr CommandHelp kHelp = {
    "export",
    "[--from T] [--to T] [--service S]... [--type T]...",
    "Writes events as JSON lines (one traversion.v1.Event per line in\n"
    "protobuf's JSON mapping), in time order. `traversion import` reads them\n"
    "back without loss: exporting a store imported from an export gives the\n"
    "same bytes.\n"
    "\n"
    "Times T: 2024-01-15T15:47:23Z, '2024-01-15 15:47:23' (UTC), a Unix time\n"
    "in nanoseconds, now, or relative to now: -10m, -2h, -1d.",
    "  traversion export ./traversion-demo > demo.jsonl\n"
    "  traversion export ./store errors.jsonl --type error --from -1h\n"
    "  traversion export ./old | traversion import ./new\n",
};

}  // namespace

int RunExport(absl::Span<const std::string> args) {
  std::string path;
  std::string output = "-";
  RangeFlags range;
  FlagSet flags;
  flags.AddPositional("store", &path, /*required=*/true, "the store directory");
  flags.AddPositional("FILE", &output, /*required=*/false,
                      "where to write; - or absent: stdout");
  range.Register(&flags);
  if (std::optional<int> exit = ParseCommandLine(kHelp, flags, args)) {
    return *exit;
  }

  EventFilter filter;
  if (std::optional<int> exit = range.ApplyTo("export", &filter)) return *exit;

  absl::StatusOr<std::unique_ptr<Store>> store = OpenStoreForReading(path);
  if (!store.ok()) return Fail("export", store.status());
  absl::StatusOr<std::unique_ptr<OutputFile>> out = OutputFile::Open(output);
  if (!out.ok()) return Fail("export", out.status());

  uint64_t exported = 0;
  EventCursor cursor = (*store)->Scan(filter);
  std::string line;
  while (cursor.Next()) {
    absl::StatusOr<std::string> json = EventToJson(cursor.event());
    if (!json.ok()) {
      return Fail("export",
                  absl::StrFormat("event %s: %s", cursor.event().id.ToString(),
                                  json.status().message()));
    }
    json->push_back('\n');
    (*out)->Write(*json);
    ++exported;
  }
  if (!cursor.status().ok()) {
    (void)(*out)->Close();
    return Fail("export", cursor.status());
  }
  absl::Status closed = (*out)->Close();
  if (!closed.ok()) return Fail("export", closed);
  if (output != "-") {
    absl::PrintF("exported %d events to %s\n", exported, output);
  }
  return kExitOk;
}

}  // namespace traversion::cli
