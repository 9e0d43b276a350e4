#include "store/trace_runs.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "store/layout.h"
#include "store/lmdb.h"
#include "util/coding.h"
#include "util/status_macros.h"

namespace traversion::store {

namespace {

constexpr size_t kRunKeySize = 8 + 16;
constexpr char kNextRunKey[] = "next_run";

std::string RunKey(uint64_t run_id, const TraceId& trace) {
  std::string key;
  key.reserve(kRunKeySize);
  coding::AppendBigEndian64(&key, run_id);
  key.append(reinterpret_cast<const char*>(trace.data()), trace.size());
  return key;
}

std::string EncodeRunInfo(const RunInfo& info) {
  std::string out(1, static_cast<char>(info.level));
  coding::AppendBigEndian64(&out, info.postings);
  coding::AppendBigEndian64(&out, info.min_time_ns);
  coding::AppendBigEndian64(&out, info.max_time_ns);
  return out;
}

// Sorts the 16-byte keys packed in `keys` and removes duplicates.
void SortKeys(std::string* keys) {
  const size_t n = keys->size() / kEventKeySize;
  std::vector<std::array<char, kEventKeySize>> items(n);
  std::memcpy(items.data(), keys->data(), n * kEventKeySize);
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return std::memcmp(a.data(), b.data(), kEventKeySize) < 0;
  });
  items.erase(std::unique(items.begin(), items.end()), items.end());
  keys->assign(reinterpret_cast<const char*>(items.data()),
               items.size() * kEventKeySize);
}

// Trace ids compare as two big-endian words: the same order as bytewise,
// several times cheaper than std::array's element-by-element comparison.
bool TraceLess(const TraceId& a, const TraceId& b) {
  const uint64_t a0 = coding::GetBigEndian64(a.data());
  const uint64_t b0 = coding::GetBigEndian64(b.data());
  if (a0 != b0) return a0 < b0;
  return coding::GetBigEndian64(a.data() + 8) <
         coding::GetBigEndian64(b.data() + 8);
}

}  // namespace

absl::StatusOr<uint64_t> TraceRuns::NextRunId(MDB_txn* txn) const {
  MDB_val k = ToVal(absl::string_view(kNextRunKey)), v;
  uint64_t id = 1;
  int rc = mdb_get(txn, meta_, &k, &v);
  if (rc == 0 && v.mv_size == 8) {
    id = coding::GetBigEndian64(Bytes(v));
  } else if (rc != 0 && rc != MDB_NOTFOUND) {
    return LmdbError(rc, "reading the run counter");
  }
  uint8_t next[8];
  coding::PutBigEndian64(next, id + 1);
  MDB_val nv = ToVal(next, 8);
  rc = mdb_put(txn, meta_, &k, &nv, 0);
  if (rc != 0) return LmdbError(rc, "writing the run counter");
  return id;
}

absl::Status TraceRuns::PutRunInfo(MDB_txn* txn, const RunInfo& info) const {
  const std::string key = U64Key(info.run_id);
  const std::string value = EncodeRunInfo(info);
  MDB_val k = ToVal(key), v = ToVal(value);
  return LmdbError(mdb_put(txn, runs_, &k, &v, 0), "writing a trace run");
}

absl::StatusOr<std::vector<RunInfo>> TraceRuns::ListRuns(MDB_txn* txn) const {
  std::vector<RunInfo> runs;
  Cursor cursor;
  int rc = cursor.Open(txn, runs_);
  if (rc != 0) return LmdbError(rc, "opening trace runs");
  MDB_val k, v;
  for (rc = cursor.Get(&k, &v, MDB_FIRST); rc == 0;
       rc = cursor.Get(&k, &v, MDB_NEXT)) {
    if (k.mv_size != 8 || v.mv_size != 25) {
      return absl::DataLossError("malformed trace run record");
    }
    RunInfo info;
    info.run_id = coding::GetBigEndian64(Bytes(k));
    info.level = Bytes(v)[0];
    info.postings = coding::GetBigEndian64(Bytes(v) + 1);
    info.min_time_ns = coding::GetBigEndian64(Bytes(v) + 9);
    info.max_time_ns = coding::GetBigEndian64(Bytes(v) + 17);
    runs.push_back(info);
  }
  if (rc != MDB_NOTFOUND) return LmdbError(rc, "reading trace runs");
  return runs;
}

absl::Status TraceRuns::AddBatch(MDB_txn* txn, TracePostings postings) const {
  if (postings.empty()) return absl::OkStatus();
  std::sort(postings.begin(), postings.end(), [](const auto& a, const auto& b) {
    return TraceLess(a.first, b.first);
  });
  TV_ASSIGN_OR_RETURN(const uint64_t run_id, NextRunId(txn));
  RunInfo info;
  info.run_id = run_id;
  info.min_time_ns = ~uint64_t{0};
  Cursor cursor;
  int rc = cursor.Open(txn, level(0));
  if (rc != 0) return LmdbError(rc, "opening the trace index");
  std::string value;
  for (const auto& [trace, keys] : postings) {
    value.clear();
    for (const uint8_t* key : keys) {
      value.append(reinterpret_cast<const char*>(key), kEventKeySize);
      info.min_time_ns = std::min(info.min_time_ns, KeyTime(key));
      info.max_time_ns = std::max(info.max_time_ns, KeyTime(key));
    }
    const std::string key = RunKey(run_id, trace);
    MDB_val k = ToVal(key), v = ToVal(value);
    // The run id is the largest ever and traces are sorted: an append.
    rc = cursor.Put(&k, &v, MDB_APPEND);
    if (rc != 0) return LmdbError(rc, "writing the trace index");
  }
  info.postings = postings.size();
  TV_RETURN_IF_ERROR(PutRunInfo(txn, info));
  return MergeFullLevels(txn);
}

absl::Status TraceRuns::DeleteRun(MDB_txn* txn, const RunInfo& run) const {
  const std::string prefix = U64Key(run.run_id);
  Cursor cursor;
  int rc = cursor.Open(txn, level(run.level));
  if (rc != 0) return LmdbError(rc, "opening the trace index");
  MDB_val k = ToVal(prefix), v;
  rc = cursor.Get(&k, &v, MDB_SET_RANGE);
  while (rc == 0 && k.mv_size == kRunKeySize &&
         std::memcmp(k.mv_data, prefix.data(), 8) == 0) {
    rc = cursor.Del();
    if (rc != 0) return LmdbError(rc, "deleting from the trace index");
    // After a delete the cursor already stands on the successor.
    rc = cursor.Get(&k, &v, MDB_GET_CURRENT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND && rc != EINVAL) {
    return LmdbError(rc, "reading the trace index");
  }
  k = ToVal(prefix);
  rc = mdb_del(txn, runs_, &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) {
    return LmdbError(rc, "deleting a trace run");
  }
  return absl::OkStatus();
}

absl::Status TraceRuns::MergeFullLevels(MDB_txn* txn) const {
  for (int lvl = 0; lvl < kTraceRunMaxLevel; ++lvl) {
    TV_ASSIGN_OR_RETURN(std::vector<RunInfo> runs, ListRuns(txn));
    std::vector<RunInfo> group;
    for (const RunInfo& r : runs) {
      if (r.level == lvl) group.push_back(r);
    }
    if (group.size() < kTraceRunFanout) return absl::OkStatus();

    // Read the whole level (it holds exactly the group) into one buffer in
    // key order — run id, then trace — and order it by trace id, stably, so
    // older runs' keys come first.
    struct Entry {
      TraceId trace;
      size_t offset;
      size_t size;
    };
    std::vector<Entry> entries;
    std::string buffer;
    RunInfo out;
    out.level = static_cast<uint8_t>(lvl + 1);
    out.min_time_ns = ~uint64_t{0};
    for (const RunInfo& r : group) {
      out.min_time_ns = std::min(out.min_time_ns, r.min_time_ns);
      out.max_time_ns = std::max(out.max_time_ns, r.max_time_ns);
    }
    {
      Cursor cursor;
      int rc = cursor.Open(txn, level(lvl));
      if (rc != 0) return LmdbError(rc, "opening the trace index");
      MDB_val k, v;
      for (rc = cursor.Get(&k, &v, MDB_FIRST); rc == 0;
           rc = cursor.Get(&k, &v, MDB_NEXT)) {
        if (k.mv_size != kRunKeySize) {
          return absl::DataLossError("malformed trace index key");
        }
        Entry e;
        std::memcpy(e.trace.data(), Bytes(k) + 8, e.trace.size());
        e.offset = buffer.size();
        e.size = v.mv_size;
        buffer.append(static_cast<const char*>(v.mv_data), v.mv_size);
        entries.push_back(e);
      }
      if (rc != MDB_NOTFOUND) return LmdbError(rc, "reading the trace index");
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) {
                       return TraceLess(a.trace, b.trace);
                     });
    int rc = mdb_drop(txn, level(lvl), 0);  // 0: empty it, keep the table
    if (rc != 0) return LmdbError(rc, "emptying a trace index level");
    for (const RunInfo& r : group) {
      const std::string key = U64Key(r.run_id);
      MDB_val k = ToVal(key);
      rc = mdb_del(txn, runs_, &k, nullptr);
      if (rc != 0) return LmdbError(rc, "deleting a trace run");
    }

    TV_ASSIGN_OR_RETURN(out.run_id, NextRunId(txn));
    Cursor cursor;
    rc = cursor.Open(txn, level(lvl + 1));
    if (rc != 0) return LmdbError(rc, "opening the trace index");
    std::string combined;
    for (size_t i = 0; i < entries.size();) {
      size_t j = i + 1;
      while (j < entries.size() && entries[j].trace == entries[i].trace) ++j;
      MDB_val v;
      if (j == i + 1) {
        v = ToVal(buffer.data() + entries[i].offset, entries[i].size);
      } else {
        combined.clear();
        for (size_t m = i; m < j; ++m) {
          combined.append(buffer.data() + entries[m].offset, entries[m].size);
        }
        SortKeys(&combined);
        v = ToVal(combined);
      }
      const std::string key = RunKey(out.run_id, entries[i].trace);
      MDB_val k = ToVal(key);
      // The new run id is the largest, and entries are in trace order.
      rc = cursor.Put(&k, &v, MDB_APPEND);
      if (rc != 0) return LmdbError(rc, "writing a merged trace run");
      ++out.postings;
      i = j;
    }
    TV_RETURN_IF_ERROR(PutRunInfo(txn, out));
  }
  return absl::OkStatus();
}

absl::Status TraceRuns::Lookup(MDB_txn* txn, const TraceId& trace,
                               uint64_t from_ns, uint64_t to_ns,
                               std::vector<std::string>* keys) const {
  TV_ASSIGN_OR_RETURN(std::vector<RunInfo> runs, ListRuns(txn));
  for (const RunInfo& r : runs) {
    if (r.max_time_ns < from_ns || r.min_time_ns >= to_ns) continue;
    const std::string key = RunKey(r.run_id, trace);
    MDB_val k = ToVal(key), v;
    int rc = mdb_get(txn, level(r.level), &k, &v);
    if (rc == MDB_NOTFOUND) continue;
    if (rc != 0) return LmdbError(rc, "reading the trace index");
    if (v.mv_size % kEventKeySize != 0) {
      return absl::DataLossError("malformed trace posting");
    }
    for (size_t off = 0; off < v.mv_size; off += kEventKeySize) {
      keys->emplace_back(static_cast<const char*>(v.mv_data) + off,
                         kEventKeySize);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> TraceRuns::DeleteBefore(MDB_txn* txn, uint64_t cutoff_ns,
                                             size_t max_changes) const {
  TV_ASSIGN_OR_RETURN(std::vector<RunInfo> runs, ListRuns(txn));
  size_t changes = 0;
  for (RunInfo r : runs) {
    if (r.min_time_ns >= cutoff_ns) continue;
    if (changes >= max_changes) return true;
    if (r.max_time_ns < cutoff_ns) {
      TV_RETURN_IF_ERROR(DeleteRun(txn, r));
      changes += r.postings;
      continue;
    }
    // Straddles the cut-off: keep only newer keys.
    std::vector<std::pair<std::string, std::string>> rewrites;
    std::vector<std::string> doomed;
    {
      const std::string prefix = U64Key(r.run_id);
      Cursor cursor;
      int rc = cursor.Open(txn, level(r.level));
      if (rc != 0) return LmdbError(rc, "opening the trace index");
      MDB_val k = ToVal(prefix), v;
      for (rc = cursor.Get(&k, &v, MDB_SET_RANGE); rc == 0;
           rc = cursor.Get(&k, &v, MDB_NEXT)) {
        if (k.mv_size != kRunKeySize ||
            std::memcmp(k.mv_data, prefix.data(), 8) != 0) {
          break;
        }
        std::string kept;
        bool dropped = false;
        for (size_t off = 0; off + kEventKeySize <= v.mv_size;
             off += kEventKeySize) {
          if (KeyTime(Bytes(v) + off) >= cutoff_ns) {
            kept.append(static_cast<const char*>(v.mv_data) + off,
                        kEventKeySize);
          } else {
            dropped = true;
          }
        }
        if (!dropped) continue;
        std::string key(FromVal(k));
        if (kept.empty()) {
          doomed.push_back(std::move(key));
        } else {
          rewrites.emplace_back(std::move(key), std::move(kept));
        }
      }
      if (rc != 0 && rc != MDB_NOTFOUND) {
        return LmdbError(rc, "reading the trace index");
      }
    }
    for (const std::string& key : doomed) {
      MDB_val k = ToVal(key);
      int rc = mdb_del(txn, level(r.level), &k, nullptr);
      if (rc != 0) return LmdbError(rc, "deleting from the trace index");
    }
    for (const auto& [key, value] : rewrites) {
      MDB_val k = ToVal(key), v = ToVal(value);
      int rc = mdb_put(txn, level(r.level), &k, &v, 0);
      if (rc != 0) return LmdbError(rc, "rewriting the trace index");
    }
    r.postings -= doomed.size();
    r.min_time_ns = cutoff_ns;  // a lower bound is all lookups need
    TV_RETURN_IF_ERROR(PutRunInfo(txn, r));
    changes += doomed.size() + rewrites.size() + 1;
  }
  return false;
}

}  // namespace traversion::store
