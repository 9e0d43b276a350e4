// Retention: deleting old events and compacting entity history.
//
// Work is done in bounded transactions (LMDB caps the pages one write
// transaction may dirty), in an order that keeps every intermediate state
// readable: events first (readers skip index entries whose event is gone),
// then index postings, then entity history. A crash in between leaves a store
// that a second run finishes cleaning.
#include <lmdb.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "store/store_impl.h"
#include "util/status_macros.h"

namespace traversion {

using store::Cursor;
using store::LmdbError;
using store::ToVal;

namespace {

// Changes per transaction: well below LMDB's dirty-page limit.
constexpr size_t kChangesPerTxn = 20000;

}  // namespace

absl::StatusOr<RetentionResult> Store::Impl::DeleteBefore(uint64_t cutoff_ns) {
  RetentionResult result;
  result.cutoff_ns = cutoff_ns;
  if (cutoff_ns == 0) return result;

  // 1. Events, oldest first. After mdb_cursor_del the cursor already sits on
  //    the successor, which MDB_NEXT then returns.
  for (bool more = true; more;) {
    uint64_t deleted = 0;
    TV_RETURN_IF_ERROR(RunWrite(
        [&](MDB_txn* txn) -> absl::Status {
          deleted = 0;
          more = false;
          Cursor cursor;
          int rc = cursor.Open(txn, dbis_[store::kEvents]);
          if (rc != 0) return LmdbError(rc, "opening events");
          MDB_val k, v;
          for (rc = cursor.Get(&k, &v, MDB_FIRST); rc == 0;
               rc = cursor.Get(&k, &v, MDB_NEXT)) {
            if (k.mv_size != store::kEventKeySize ||
                store::KeyTime(store::Bytes(k)) >= cutoff_ns) {
              break;
            }
            if (deleted == kChangesPerTxn) {
              more = true;
              break;
            }
            rc = cursor.Del();
            if (rc != 0) return LmdbError(rc, "deleting an event");
            ++deleted;
          }
          if (rc != 0 && rc != MDB_NOTFOUND) {
            return LmdbError(rc, "scanning events");
          }
          return absl::OkStatus();
        },
        [&] { result.events_deleted += deleted; }));
  }

  // 2. Index postings: drop keys before the cut-off. A posting left with
  //    none is deleted; one left with some is rewritten under its new first
  //    key (after the scan, so the cursor never meets its own rewrites).
  for (bool more = true; more;) {
    TV_RETURN_IF_ERROR(RunWrite([&](MDB_txn* txn) -> absl::Status {
      TV_ASSIGN_OR_RETURN(
          more, trace_runs().DeleteBefore(txn, cutoff_ns, kChangesPerTxn));
      return absl::OkStatus();
    }));
  }
  for (store::Table table : {store::kIdxService, store::kIdxEntity}) {
    std::string resume;  // the key to continue from in the next transaction
    for (bool more = true; more;) {
      // The body may rerun (map growth): it reads `resume`, writes `next`.
      std::string next;
      TV_RETURN_IF_ERROR(RunWrite([&](MDB_txn* txn) -> absl::Status {
        more = false;
        std::vector<std::string> doomed;
        std::vector<std::pair<std::string, std::string>> rewrites;
        {
          Cursor cursor;
          int rc = cursor.Open(txn, dbis_[table]);
          if (rc != 0) return LmdbError(rc, "opening an index");
          MDB_val k, v;
          std::string seek = resume;
          if (resume.empty()) {
            rc = cursor.Get(&k, &v, MDB_FIRST);
          } else {
            k = ToVal(seek);
            rc = cursor.Get(&k, &v, MDB_SET_RANGE);
          }
          for (; rc == 0; rc = cursor.Get(&k, &v, MDB_NEXT)) {
            if (k.mv_size < store::kEventKeySize) {
              return absl::DataLossError("malformed index key");
            }
            const size_t prefix_size = k.mv_size - store::kEventKeySize;
            if (store::KeyTime(store::Bytes(k) + prefix_size) >= cutoff_ns) {
              continue;
            }
            if (doomed.size() >= kChangesPerTxn) {
              next.assign(static_cast<const char*>(k.mv_data), k.mv_size);
              more = true;
              break;
            }
            doomed.emplace_back(static_cast<const char*>(k.mv_data), k.mv_size);
            std::string kept;
            for (size_t off = 0; off + store::kEventKeySize <= v.mv_size;
                 off += store::kEventKeySize) {
              if (store::KeyTime(store::Bytes(v) + off) >= cutoff_ns) {
                kept.append(static_cast<const char*>(v.mv_data) + off,
                            store::kEventKeySize);
              }
            }
            if (!kept.empty()) {
              std::string key(static_cast<const char*>(k.mv_data), prefix_size);
              key.append(kept.data(), store::kEventKeySize);
              rewrites.emplace_back(std::move(key), std::move(kept));
            }
          }
          if (rc != 0 && rc != MDB_NOTFOUND) {
            return LmdbError(rc, "scanning an index");
          }
        }
        for (const std::string& key : doomed) {
          MDB_val k = ToVal(key);
          int rc = mdb_del(txn, dbis_[table], &k, nullptr);
          if (rc != 0) return LmdbError(rc, "deleting a posting");
        }
        for (const auto& [key, value] : rewrites) {
          MDB_val k = ToVal(key), v = ToVal(value);
          int rc = mdb_put(txn, dbis_[table], &k, &v, 0);
          if (rc != 0) return LmdbError(rc, "rewriting a posting");
        }
        return absl::OkStatus();
      }));
      resume = next;
    }
  }

  // 3. Entity history: per entity keep the revision current at the cut-off
  //    (the newest before it) unless it is a deletion, and drop older ones.
  //    An entity whose last revision was a deletion before the cut-off
  //    leaves the entities table.
  std::string resume;  // entities-table key to continue from; "" = start
  for (bool more = true; more;) {
    uint64_t deleted = 0;
    std::string next;
    TV_RETURN_IF_ERROR(RunWrite(
        [&](MDB_txn* txn) -> absl::Status {
          deleted = 0;
          more = false;
          Cursor entities, revs;
          int rc = entities.Open(txn, dbis_[store::kEntities]);
          if (rc == 0) rc = revs.Open(txn, dbis_[store::kEntRev]);
          if (rc != 0) return LmdbError(rc, "opening entities");
          std::string seek = resume;
          MDB_val ek = ToVal(seek), ev;
          // (entities-table key, entity id), a thousand at a time.
          std::vector<std::pair<std::string, uint64_t>> ids;
          for (rc = entities.Get(&ek, &ev,
                                 seek.empty() ? MDB_FIRST : MDB_SET_RANGE);
               rc == 0; rc = entities.Get(&ek, &ev, MDB_NEXT)) {
            uint64_t entity_id;
            absl::string_view name;
            if (!store::DecodeEntitiesEntry(store::FromVal(ek),
                                            store::FromVal(ev), &entity_id,
                                            &name)) {
              return absl::DataLossError("malformed entities entry");
            }
            ids.emplace_back(std::string(store::FromVal(ek)), entity_id);
            if (ids.size() == 1000) break;
          }
          if (rc != 0 && rc != MDB_NOTFOUND) {
            return LmdbError(rc, "scanning entities");
          }
          for (const auto& [entities_key, id] : ids) {
            // Collect first: this entity's revisions before the cut-off.
            std::vector<store::RevisionRecord> old;
            const std::string start =
                store::EntRevKey(id, cutoff_ns - 1, ~uint64_t{0});
            MDB_val k = ToVal(start), v;
            for (rc = revs.Get(&k, &v, MDB_SET_RANGE);
                 rc == 0 && k.mv_size == 24 &&
                 coding::GetBigEndian64(store::Bytes(k)) == id;
                 rc = revs.Get(&k, &v, MDB_NEXT)) {
              store::RevisionRecord rec;
              if (!store::DecodeRevision(store::FromVal(v), &rec)) {
                return absl::DataLossError("malformed entity revision record");
              }
              old.push_back(std::move(rec));
            }
            if (rc != 0 && rc != MDB_NOTFOUND) {
              return LmdbError(rc, "reading entity revisions");
            }
            const bool gone = !old.empty() && old.front().deleted;
            const size_t keep = gone ? 0 : 1;  // old.front() is the newest
            for (size_t i = keep; i < old.size(); ++i) {
              const store::RevisionRecord& rec = old[i];
              const std::string k1 =
                  store::EntRevKey(id, rec.time_ns, rec.revision);
              const std::string k2 = store::EntByRevKey(id, rec.revision);
              const std::string k3 =
                  store::RevTimeKey(rec.time_ns, rec.revision);
              for (auto [table, key] : {std::pair{store::kEntRev, &k1},
                                        std::pair{store::kEntByRev, &k2},
                                        std::pair{store::kRevTime, &k3}}) {
                MDB_val dk = ToVal(*key);
                int d = mdb_del(txn, dbis_[table], &dk, nullptr);
                if (d != 0 && d != MDB_NOTFOUND) {
                  return LmdbError(d, "deleting an entity revision");
                }
              }
              ++deleted;
            }
            if (gone) {
              const std::string any =
                  store::EntRevKey(id, ~uint64_t{0}, ~uint64_t{0});
              MDB_val ak = ToVal(any), av;
              int a = revs.Get(&ak, &av, MDB_SET_RANGE);
              if (a != 0 || ak.mv_size != 24 ||
                  coding::GetBigEndian64(store::Bytes(ak)) != id) {
                MDB_val dk = ToVal(entities_key);
                int d = mdb_del(txn, dbis_[store::kEntities], &dk, nullptr);
                if (d != 0 && d != MDB_NOTFOUND) {
                  return LmdbError(d, "deleting an entity");
                }
              }
            }
            if (deleted >= kChangesPerTxn) {
              next = entities_key + std::string(1, '\0');  // successor
              more = true;
              return absl::OkStatus();
            }
          }
          if (ids.size() == 1000) {
            next = ids.back().first + std::string(1, '\0');
            more = true;
          }
          return absl::OkStatus();
        },
        [&] { result.revisions_deleted += deleted; }));
    resume = next;
  }
  return result;
}

absl::StatusOr<RetentionResult> Store::Impl::ApplyRetention(
    const RetentionPolicy& policy) {
  RetentionResult total;
  if (policy.max_age_ns != 0) {
    const uint64_t now = Now();
    const uint64_t cutoff =
        now > policy.max_age_ns ? now - policy.max_age_ns : 0;
    TV_ASSIGN_OR_RETURN(total, DeleteBefore(cutoff));
  }
  if (policy.max_bytes == 0) return total;
  // By size: delete the oldest share of events the excess corresponds to,
  // and repeat (page accounting is coarse) until under the limit.
  for (int round = 0; round < 16; ++round) {
    TV_ASSIGN_OR_RETURN(StoreStats stats, Stats());
    if (stats.live_bytes <= policy.max_bytes || stats.events == 0) break;
    const double excess =
        static_cast<double>(stats.live_bytes - policy.max_bytes) /
        static_cast<double>(stats.live_bytes);
    uint64_t to_delete =
        static_cast<uint64_t>(excess * static_cast<double>(stats.events) *
                              1.05) +
        1;
    to_delete = std::min<uint64_t>(to_delete, stats.events);
    // The time of the to_delete-th oldest event is the cut-off.
    uint64_t cutoff = 0;
    {
      TV_ASSIGN_OR_RETURN(ReadTxn txn, BeginRead());
      Cursor cursor;
      int rc = cursor.Open(txn.get(), dbis_[store::kEvents]);
      if (rc != 0) return LmdbError(rc, "opening events");
      MDB_val k, v;
      uint64_t n = 0;
      for (rc = cursor.Get(&k, &v, MDB_FIRST); rc == 0 && n < to_delete;
           rc = cursor.Get(&k, &v, MDB_NEXT), ++n) {
        cutoff = store::KeyTime(store::Bytes(k)) + 1;
      }
    }
    if (cutoff <= total.cutoff_ns) cutoff = total.cutoff_ns + 1;
    TV_ASSIGN_OR_RETURN(RetentionResult r, DeleteBefore(cutoff));
    total.cutoff_ns = r.cutoff_ns;
    total.events_deleted += r.events_deleted;
    total.revisions_deleted += r.revisions_deleted;
  }
  return total;
}

}  // namespace traversion
