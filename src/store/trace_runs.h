// The trace index as sorted runs (a small log-structured merge inside LMDB).
//
// Why: trace ids are random, so a B-tree keyed by trace id takes each batch's
// traces into as many random leaves — one dirtied 4 KiB page per trace, which
// measured as 70 % of ingest time. Instead each batch appends one *run*: its
// (trace id -> event keys) postings sorted by trace id under a new, largest
// run id, so the whole run is an MDB_APPEND. Each level has its own table;
// when a level holds kTraceRunFanout runs, all of them are merged into one
// run of the next level (sequential appends again) and the level's table is
// emptied with mdb_drop, which frees whole pages — deleting the merged rows
// one by one made LMDB rebalance pages at ~7 k instructions a row. A lookup
// seeks once per live run (tens of runs for tens of millions of events);
// runs outside a queried time range are skipped.
//
//   idx_trace_<L>  run id (8) | trace id (16) -> sorted event keys (16 each)
//   trace_runs     run id (8)                 -> RunInfo
#ifndef TRAVERSION_STORE_TRACE_RUNS_H_
#define TRAVERSION_STORE_TRACE_RUNS_H_

#include <lmdb.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "traversion/event.h"

namespace traversion::store {

inline constexpr int kTraceRunFanout = 8;
// Runs stop merging at this level (about 1000 * 8^4 = 4 M events a run), so
// no single merge grows past a few hundred MB or stalls a write for long.
inline constexpr int kTraceRunMaxLevel = 4;

struct RunInfo {
  uint64_t run_id = 0;
  uint8_t level = 0;
  uint64_t postings = 0;
  uint64_t min_time_ns = 0;
  uint64_t max_time_ns = 0;
};

// Postings of one batch: (trace id, sorted event keys), any order.
using TracePostings =
    std::vector<std::pair<TraceId, std::vector<const uint8_t*>>>;

class TraceRuns {
 public:
  // `levels` points at kTraceRunMaxLevel + 1 table handles, level 0 first.
  TraceRuns(const MDB_dbi* levels, MDB_dbi runs, MDB_dbi meta)
      : levels_(levels), runs_(runs), meta_(meta) {}

  // Appends the batch's postings as a new level-0 run, then merges levels
  // that are full.
  absl::Status AddBatch(MDB_txn* txn, TracePostings postings) const;

  // Event keys of `trace` in runs overlapping [from_ns, to_ns), unsorted.
  absl::Status Lookup(MDB_txn* txn, const TraceId& trace, uint64_t from_ns,
                      uint64_t to_ns, std::vector<std::string>* keys) const;

  // Drops event keys older than `cutoff_ns`. Does at most about
  // `max_changes` changes; returns true when more remain.
  absl::StatusOr<bool> DeleteBefore(MDB_txn* txn, uint64_t cutoff_ns,
                                    size_t max_changes) const;

  absl::StatusOr<std::vector<RunInfo>> ListRuns(MDB_txn* txn) const;

 private:
  absl::Status MergeFullLevels(MDB_txn* txn) const;
  // Deletes one run row by row (retention only; merges drop whole levels).
  absl::Status DeleteRun(MDB_txn* txn, const RunInfo& run) const;
  absl::Status PutRunInfo(MDB_txn* txn, const RunInfo& info) const;
  absl::StatusOr<uint64_t> NextRunId(MDB_txn* txn) const;

  MDB_dbi level(int l) const { return levels_[l]; }

  const MDB_dbi* levels_;
  MDB_dbi runs_;
  MDB_dbi meta_;
};

}  // namespace traversion::store

#endif  // TRAVERSION_STORE_TRACE_RUNS_H_
