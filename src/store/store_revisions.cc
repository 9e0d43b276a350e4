// Deriving entity revisions from state observations, inside the write
// transaction.
//
// Invariant: for every stored observation at time u, the entity's state as of
// u equals what that observation saw (up to observations sharing one instant).
// In-order data keeps it trivially: an observation equal to the current state
// is not a revision. A late observation at t that differs inserts a revision
// in the past, and the observations after t that were redundant (they saw the
// state before t) would now read the late state; so the first of them — up to
// the next revision — becomes a revision restoring what it saw, and the rest
// stay redundant against it.
#include <lmdb.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "store/store_impl.h"
#include "util/status_macros.h"

namespace traversion {

using store::Cursor;
using store::LmdbError;
using store::NameKind;
using store::RevisionRecord;
using store::ToVal;

namespace {

// Canonical form of an observed state: fields sorted by name, the last value
// of a repeated name winning; no fields when deleted.
RevisionRecord CanonicalState(const EntityStateData& s) {
  RevisionRecord rec;
  rec.deleted = s.deleted;
  rec.entity_type = s.entity_type;
  if (s.deleted) return rec;
  std::vector<size_t> order(s.fields.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return s.fields[a].name < s.fields[b].name;
  });
  for (size_t i : order) {
    if (!rec.fields.empty() && rec.fields.back().name == s.fields[i].name) {
      rec.fields.back().value = s.fields[i].value;
    } else {
      rec.fields.push_back(s.fields[i]);
    }
  }
  return rec;
}

bool SameState(const RevisionRecord& a, const RevisionRecord& b) {
  if (a.deleted != b.deleted) return false;
  if (a.deleted) return true;
  return a.entity_type == b.entity_type && a.fields == b.fields;
}

}  // namespace

absl::StatusOr<uint64_t> Store::Impl::DeriveRevisions(
    MDB_txn* txn, const std::vector<Observation>& observations,
    const absl::flat_hash_set<std::string>& batch_keys) {
  MDB_val rk = ToVal(absl::string_view("revision"));
  MDB_val rv;
  uint64_t revision = 0;
  int rc = mdb_get(txn, dbis_[store::kMeta], &rk, &rv);
  if (rc == 0 && rv.mv_size == 8) {
    revision = coding::GetBigEndian64(store::Bytes(rv));
  } else if (rc != 0 && rc != MDB_NOTFOUND) {
    return LmdbError(rc, "reading the revision counter");
  }
  const uint64_t first_revision = revision;

  auto put_revision = [&](uint64_t eid, const std::string& name,
                          RevisionRecord& rec) -> absl::Status {
    rec.revision = ++revision;
    const std::string value = store::EncodeRevision(rec);
    const std::string k1 = store::EntRevKey(eid, rec.time_ns, rec.revision);
    const std::string k2 = store::EntByRevKey(eid, rec.revision);
    const std::string k3 = store::RevTimeKey(rec.time_ns, rec.revision);
    const std::string k4 = store::EntitiesKey(name);
    const std::string v4 = store::IdAndLongName(eid, name);
    uint8_t time_buf[8], id_buf[8];
    coding::PutBigEndian64(time_buf, rec.time_ns);
    coding::PutBigEndian64(id_buf, eid);
    const struct {
      store::Table table;
      const std::string* key;
      MDB_val value;
    } puts[] = {
        {store::kEntRev, &k1, ToVal(value)},
        {store::kEntByRev, &k2, ToVal(time_buf, 8)},
        {store::kRevTime, &k3, ToVal(id_buf, 8)},
        {store::kEntities, &k4, ToVal(v4)},
    };
    for (const auto& p : puts) {
      MDB_val k = ToVal(*p.key);
      MDB_val v = p.value;
      // The entities entry never changes once written: refusing to
      // overwrite it leaves its page clean instead of copying it again.
      const unsigned flags = p.table == store::kEntities ? MDB_NOOVERWRITE : 0;
      int r = mdb_put(txn, dbis_[p.table], &k, &v, flags);
      if (r == MDB_KEYEXIST && p.table == store::kEntities) continue;
      if (r != 0) return LmdbError(r, "writing an entity revision");
    }
    return absl::OkStatus();
  };

  for (const Observation& obs : observations) {
    const EntityStateData& s = *obs.state;
    TV_ASSIGN_OR_RETURN(uint64_t eid,
                        InternName(txn, NameKind::kEntity, s.entity));
    TV_ASSIGN_OR_RETURN(std::optional<RevisionRecord> prev,
                        RevisionAsOfTime(txn, eid, obs.id.time_ns));
    RevisionRecord rec = CanonicalState(s);
    if (prev.has_value() ? SameState(*prev, rec) : rec.deleted) {
      continue;  // an observation, not a change (or deleting the unknown)
    }
    rec.time_ns = obs.id.time_ns;
    rec.event_id = obs.id;
    rec.service_id = obs.service_id;
    TV_RETURN_IF_ERROR(put_revision(eid, s.entity, rec));

    // Was this late? The next revision after t bounds the observations that
    // may now need restoring.
    uint64_t next_time = ~uint64_t{0};
    {
      Cursor cursor;
      rc = cursor.Open(txn, dbis_[store::kEntRev]);
      if (rc != 0) return LmdbError(rc, "opening entity revisions");
      const std::string seek = store::EntRevKey(eid, rec.time_ns, ~uint64_t{0});
      MDB_val k = ToVal(seek), v;
      rc = cursor.Get(&k, &v, MDB_SET_RANGE);
      rc = rc == MDB_NOTFOUND ? cursor.Get(&k, &v, MDB_LAST)
                              : cursor.Get(&k, &v, MDB_PREV);
      if (rc == 0 && k.mv_size == 24 &&
          coding::GetBigEndian64(store::Bytes(k)) == eid) {
        const uint64_t t = ~coding::GetBigEndian64(store::Bytes(k) + 8);
        if (t > rec.time_ns) next_time = t;
      } else if (rc != 0 && rc != MDB_NOTFOUND) {
        return LmdbError(rc, "reading entity revisions");
      }
    }
    // The earliest observation from an earlier batch in (t, next_time).
    std::string earliest;
    {
      Cursor cursor;
      rc = cursor.Open(txn, dbis_[store::kIdxEntity]);
      if (rc != 0) return LmdbError(rc, "opening the entity index");
      std::string prefix = store::U64Key(eid);
      const uint64_t from = rec.time_ns > store::kMaxPostingSpanNs
                                ? rec.time_ns - store::kMaxPostingSpanNs
                                : 0;
      std::string seek = prefix + store::TimeKey(from);
      MDB_val k = ToVal(seek), v;
      for (rc = cursor.Get(&k, &v, MDB_SET_RANGE); rc == 0;
           rc = cursor.Get(&k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 + store::kEventKeySize ||
            std::memcmp(k.mv_data, prefix.data(), 8) != 0) {
          break;
        }
        const uint64_t first_time = store::KeyTime(store::Bytes(k) + 8);
        if (first_time >= next_time) break;
        if (!earliest.empty() &&
            std::memcmp(store::Bytes(k) + 8, earliest.data(),
                        store::kEventKeySize) > 0) {
          break;  // postings start after what we already found
        }
        for (size_t off = 0; off + store::kEventKeySize <= v.mv_size;
             off += store::kEventKeySize) {
          const uint8_t* key = store::Bytes(v) + off;
          const uint64_t t = store::KeyTime(key);
          if (t <= rec.time_ns || t >= next_time) continue;
          std::string candidate(reinterpret_cast<const char*>(key),
                                store::kEventKeySize);
          if (batch_keys.contains(candidate)) continue;
          if (!earliest.empty() && candidate >= earliest) continue;
          // Only state observations count (the index also holds events that
          // merely reference the entity).
          MDB_val ek = ToVal(candidate), ev;
          int g = mdb_get(txn, dbis_[store::kEvents], &ek, &ev);
          if (g == MDB_NOTFOUND) continue;
          if (g != 0) return LmdbError(g, "reading an observation");
          if (ev.mv_size < store::kEventHeaderSize ||
              store::DecodeEventHeader(store::Bytes(ev)).type !=
                  EventType::kEntityState) {
            continue;
          }
          earliest = std::move(candidate);
        }
      }
      if (rc != 0 && rc != MDB_NOTFOUND) {
        return LmdbError(rc, "reading the entity index");
      }
    }
    if (earliest.empty()) continue;
    MDB_val ek = ToVal(earliest), ev;
    rc = mdb_get(txn, dbis_[store::kEvents], &ek, &ev);
    if (rc != 0) return LmdbError(rc, "reading an observation");
    Event seen;
    TV_RETURN_IF_ERROR(DecodeEvent(ek, ev, &seen));
    const EntityStateData* seen_state = seen.entity_state();
    if (seen_state == nullptr || seen_state->entity != s.entity) continue;
    RevisionRecord restore = CanonicalState(*seen_state);
    if (SameState(restore, rec)) continue;
    restore.time_ns = seen.time_ns;
    restore.event_id = seen.id;
    restore.service_id = store::DecodeEventHeader(store::Bytes(ev)).service_id;
    TV_RETURN_IF_ERROR(put_revision(eid, s.entity, restore));
  }

  if (revision != first_revision) {
    uint8_t buf[8];
    coding::PutBigEndian64(buf, revision);
    rv = ToVal(buf, 8);
    rc = mdb_put(txn, dbis_[store::kMeta], &rk, &rv, 0);
    if (rc != 0) return LmdbError(rc, "writing the revision counter");
  }
  return revision - first_revision;
}

}  // namespace traversion
