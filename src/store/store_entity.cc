// Entity revisions: as-of seeks, history, whole-store state and drift.
//
// ent_rev keys are entity | ~time | ~revision, so MDB_SET_RANGE on
// (entity, ~T, 0) lands on the newest revision observed at or before T: one
// seek, however long the history.
#include <lmdb.h>

#include <algorithm>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "store/store_impl.h"
#include "util/status_macros.h"

namespace traversion {

using store::Cursor;
using store::LmdbError;
using store::NameKind;
using store::RevisionRecord;
using store::ToVal;

absl::string_view ChangeKindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kAdded:
      return "added";
    case ChangeKind::kRemoved:
      return "removed";
    case ChangeKind::kModified:
      return "modified";
  }
  return "?";
}

absl::StatusOr<std::optional<RevisionRecord>> Store::Impl::RevisionAsOfTime(
    MDB_txn* txn, uint64_t entity_id, uint64_t time_ns) const {
  Cursor cursor;
  int rc = cursor.Open(txn, dbis_[store::kEntRev]);
  if (rc != 0) return LmdbError(rc, "opening entity revisions");
  const std::string seek = store::EntRevKey(entity_id, time_ns, ~uint64_t{0});
  MDB_val k = ToVal(seek), v;
  rc = cursor.Get(&k, &v, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) return LmdbError(rc, "seeking an entity revision");
  if (k.mv_size != 24 || coding::GetBigEndian64(store::Bytes(k)) != entity_id) {
    return std::nullopt;
  }
  RevisionRecord rec;
  if (!store::DecodeRevision(store::FromVal(v), &rec)) {
    return absl::DataLossError("malformed entity revision record");
  }
  return rec;
}

absl::StatusOr<std::optional<RevisionRecord>> Store::Impl::RevisionAsOfRevision(
    MDB_txn* txn, uint64_t entity_id, uint64_t revision) const {
  Cursor cursor;
  int rc = cursor.Open(txn, dbis_[store::kEntByRev]);
  if (rc != 0) return LmdbError(rc, "opening entity revisions");
  const std::string seek = store::EntByRevKey(entity_id, revision);
  MDB_val k = ToVal(seek), v;
  rc = cursor.Get(&k, &v, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) return LmdbError(rc, "seeking an entity revision");
  if (k.mv_size != 16 || coding::GetBigEndian64(store::Bytes(k)) != entity_id ||
      v.mv_size != 8) {
    return std::nullopt;
  }
  const uint64_t found_rev = ~coding::GetBigEndian64(store::Bytes(k) + 8);
  const uint64_t time_ns = coding::GetBigEndian64(store::Bytes(v));
  const std::string key = store::EntRevKey(entity_id, time_ns, found_rev);
  MDB_val rk = ToVal(key), rv;
  rc = mdb_get(txn, dbis_[store::kEntRev], &rk, &rv);
  if (rc != 0) return LmdbError(rc, "reading an entity revision");
  RevisionRecord rec;
  if (!store::DecodeRevision(store::FromVal(rv), &rec)) {
    return absl::DataLossError("malformed entity revision record");
  }
  return rec;
}

absl::StatusOr<EntityRevision> Store::Impl::ToEntityRevision(
    MDB_txn* txn, absl::string_view name, const RevisionRecord& rec) const {
  EntityRevision out;
  out.entity = std::string(name);
  out.entity_type = rec.entity_type;
  TV_ASSIGN_OR_RETURN(out.service,
                      NameOf(txn, NameKind::kService, rec.service_id));
  out.revision = rec.revision;
  out.time_ns = rec.time_ns;
  out.deleted = rec.deleted;
  out.fields = rec.fields;
  out.event_id = rec.event_id;
  return out;
}

absl::StatusOr<std::optional<EntityRevision>> Store::Impl::EntityAsOf(
    absl::string_view entity, uint64_t time_ns) const {
  TV_ASSIGN_OR_RETURN(ReadTxn txn, BeginRead());
  TV_ASSIGN_OR_RETURN(std::optional<uint64_t> id,
                      FindNameId(txn.get(), NameKind::kEntity, entity));
  if (!id.has_value()) return std::nullopt;
  TV_ASSIGN_OR_RETURN(std::optional<RevisionRecord> rec,
                      RevisionAsOfTime(txn.get(), *id, time_ns));
  if (!rec.has_value() || rec->deleted) return std::nullopt;
  return ToEntityRevision(txn.get(), entity, *rec);
}

absl::StatusOr<std::optional<EntityRevision>> Store::Impl::EntityAtRevision(
    absl::string_view entity, uint64_t revision) const {
  TV_ASSIGN_OR_RETURN(ReadTxn txn, BeginRead());
  TV_ASSIGN_OR_RETURN(std::optional<uint64_t> id,
                      FindNameId(txn.get(), NameKind::kEntity, entity));
  if (!id.has_value()) return std::nullopt;
  TV_ASSIGN_OR_RETURN(std::optional<RevisionRecord> rec,
                      RevisionAsOfRevision(txn.get(), *id, revision));
  if (!rec.has_value() || rec->deleted) return std::nullopt;
  return ToEntityRevision(txn.get(), entity, *rec);
}

absl::StatusOr<std::vector<EntityRevision>> Store::Impl::EntityHistory(
    absl::string_view entity, uint64_t from_ns, uint64_t to_ns) const {
  std::vector<EntityRevision> history;
  if (from_ns >= to_ns) return history;
  TV_ASSIGN_OR_RETURN(ReadTxn txn, BeginRead());
  TV_ASSIGN_OR_RETURN(std::optional<uint64_t> id,
                      FindNameId(txn.get(), NameKind::kEntity, entity));
  if (!id.has_value()) return history;
  Cursor cursor;
  int rc = cursor.Open(txn.get(), dbis_[store::kEntRev]);
  if (rc != 0) return LmdbError(rc, "opening entity revisions");
  // Newest first from just before to_ns, down to from_ns.
  const std::string seek = store::EntRevKey(*id, to_ns - 1, ~uint64_t{0});
  MDB_val k = ToVal(seek), v;
  for (rc = cursor.Get(&k, &v, MDB_SET_RANGE); rc == 0;
       rc = cursor.Get(&k, &v, MDB_NEXT)) {
    if (k.mv_size != 24 || coding::GetBigEndian64(store::Bytes(k)) != *id)
      break;
    RevisionRecord rec;
    if (!store::DecodeRevision(store::FromVal(v), &rec)) {
      return absl::DataLossError("malformed entity revision record");
    }
    if (rec.time_ns < from_ns) break;
    TV_ASSIGN_OR_RETURN(EntityRevision r,
                        ToEntityRevision(txn.get(), entity, rec));
    history.push_back(std::move(r));
  }
  if (rc != 0 && rc != MDB_NOTFOUND) {
    return LmdbError(rc, "reading entity revisions");
  }
  std::reverse(history.begin(), history.end());
  return history;
}

namespace {

bool Matches(const EntityFilter& filter, const EntityRevision& rev) {
  if (!filter.service.empty() && rev.service != filter.service) return false;
  if (!filter.entity_type.empty() && rev.entity_type != filter.entity_type) {
    return false;
  }
  return filter.name_prefix.empty() ||
         absl::StartsWith(rev.entity, filter.name_prefix);
}

}  // namespace

absl::StatusOr<std::vector<EntityRevision>> Store::Impl::StateAt(
    std::optional<uint64_t> time_ns, std::optional<uint64_t> revision,
    const EntityFilter& filter) const {
  TV_ASSIGN_OR_RETURN(ReadTxn txn, BeginRead());
  // One seek per entity is the whole cost, so everything around it is kept
  // lean: the entities table is walked in name order (no sort), one cursor
  // is reused for every seek, records are decoded straight into the result,
  // and service names are looked up once per id.
  std::vector<EntityRevision> state;
  Cursor entities, revs;
  int rc = entities.Open(txn.get(), dbis_[store::kEntities]);
  if (rc == 0) rc = revs.Open(txn.get(), dbis_[store::kEntRev]);
  if (rc != 0) return LmdbError(rc, "opening entities");
  absl::flat_hash_map<uint32_t, std::string> services;
  std::string seek;
  store::RevisionRecord rec;
  MDB_val k, v;
  // Short names are keys, so a name prefix is a key range.
  std::string start(1, '\0');
  start += filter.name_prefix;
  k = store::ToVal(start);
  size_t long_names_from = std::string::npos;  // where hashed keys begin
  for (rc = entities.Get(&k, &v, MDB_SET_RANGE); rc == 0;
       rc = entities.Get(&k, &v, MDB_NEXT)) {
    uint64_t id;
    absl::string_view name;
    if (!store::DecodeEntitiesEntry(store::FromVal(k), store::FromVal(v), &id,
                                    &name)) {
      return absl::DataLossError("malformed entities entry");
    }
    if (!absl::StartsWith(name, filter.name_prefix)) {
      if (store::Bytes(k)[0] == 0) {
        // Past the prefix among short names: skip to the long names.
        const std::string longs(1, '\1');
        k = store::ToVal(longs);
        rc = entities.Get(&k, &v, MDB_SET_RANGE);
        if (rc != 0) break;
        if (!store::DecodeEntitiesEntry(store::FromVal(k), store::FromVal(v),
                                        &id, &name)) {
          return absl::DataLossError("malformed entities entry");
        }
        if (!absl::StartsWith(name, filter.name_prefix)) continue;
      } else {
        continue;
      }
    }
    if (store::Bytes(k)[0] != 0 && long_names_from == std::string::npos) {
      long_names_from = state.size();
    }
    bool found = false;
    if (time_ns.has_value()) {
      seek = store::EntRevKey(id, *time_ns, ~uint64_t{0});
      MDB_val rk = store::ToVal(seek), rv;
      int r = revs.Get(&rk, &rv, MDB_SET_RANGE);
      if (r != 0 && r != MDB_NOTFOUND) {
        return LmdbError(r, "seeking an entity revision");
      }
      if (r == 0 && rk.mv_size == 24 &&
          coding::GetBigEndian64(store::Bytes(rk)) == id) {
        if (!store::DecodeRevision(store::FromVal(rv), &rec)) {
          return absl::DataLossError("malformed entity revision record");
        }
        found = true;
      }
    } else {
      TV_ASSIGN_OR_RETURN(std::optional<store::RevisionRecord> r,
                          RevisionAsOfRevision(txn.get(), id, *revision));
      if (r.has_value()) {
        rec = std::move(*r);
        found = true;
      }
    }
    if (!found || rec.deleted) continue;
    if (!filter.entity_type.empty() && rec.entity_type != filter.entity_type) {
      continue;
    }
    auto service = services.find(rec.service_id);
    if (service == services.end()) {
      TV_ASSIGN_OR_RETURN(
          std::string service_name,
          NameOf(txn.get(), NameKind::kService, rec.service_id));
      service = services.emplace(rec.service_id, std::move(service_name)).first;
    }
    if (!filter.service.empty() && service->second != filter.service) continue;
    EntityRevision& out = state.emplace_back();
    out.entity = std::string(name);
    out.entity_type = std::move(rec.entity_type);
    out.service = service->second;
    out.revision = rec.revision;
    out.time_ns = rec.time_ns;
    out.deleted = false;
    out.fields = std::move(rec.fields);
    out.event_id = rec.event_id;
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, "reading entities");
  if (long_names_from != std::string::npos) {
    // Names over kMaxInlineName are keyed by hash: sort those few and
    // merge them into the name-ordered rest.
    auto by_name = [](const EntityRevision& a, const EntityRevision& b) {
      return a.entity < b.entity;
    };
    auto middle = state.begin() + static_cast<ptrdiff_t>(long_names_from);
    std::sort(middle, state.end(), by_name);
    std::inplace_merge(state.begin(), middle, state.end(), by_name);
  }
  return state;
}

absl::StatusOr<std::vector<EntityChange>> Store::Impl::ChangesBetween(
    uint64_t t1_ns, uint64_t t2_ns, const EntityFilter& filter) const {
  std::vector<EntityChange> changes;
  if (t1_ns >= t2_ns) {
    return absl::InvalidArgumentError(
        "ChangesBetween needs its first instant before its second");
  }
  TV_ASSIGN_OR_RETURN(ReadTxn txn, BeginRead());
  // Entities with a revision observed in (t1, t2].
  absl::flat_hash_set<uint64_t> touched;
  std::vector<uint64_t> order;
  Cursor cursor;
  int rc = cursor.Open(txn.get(), dbis_[store::kRevTime]);
  if (rc != 0) return LmdbError(rc, "opening the revision timeline");
  const std::string seek = store::RevTimeKey(t1_ns + 1, 0);
  MDB_val k = ToVal(seek), v;
  for (rc = cursor.Get(&k, &v, MDB_SET_RANGE); rc == 0;
       rc = cursor.Get(&k, &v, MDB_NEXT)) {
    if (k.mv_size != 16 || v.mv_size != 8) {
      return absl::DataLossError("malformed revision timeline entry");
    }
    if (coding::GetBigEndian64(store::Bytes(k)) > t2_ns) break;
    const uint64_t id = coding::GetBigEndian64(store::Bytes(v));
    if (touched.insert(id).second) order.push_back(id);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) {
    return LmdbError(rc, "reading the revision timeline");
  }
  for (uint64_t id : order) {
    TV_ASSIGN_OR_RETURN(const std::string name,
                        NameOf(txn.get(), NameKind::kEntity, id));
    TV_ASSIGN_OR_RETURN(std::optional<RevisionRecord> before,
                        RevisionAsOfTime(txn.get(), id, t1_ns));
    TV_ASSIGN_OR_RETURN(std::optional<RevisionRecord> after,
                        RevisionAsOfTime(txn.get(), id, t2_ns));
    if (before.has_value() && before->deleted) before.reset();
    if (after.has_value() && after->deleted) after.reset();
    if (!before.has_value() && !after.has_value()) continue;
    EntityChange change;
    change.entity = std::string(name);
    if (before.has_value()) {
      TV_ASSIGN_OR_RETURN(change.before,
                          ToEntityRevision(txn.get(), name, *before));
    }
    if (after.has_value()) {
      TV_ASSIGN_OR_RETURN(change.after,
                          ToEntityRevision(txn.get(), name, *after));
    }
    const EntityRevision& probe = change.after ? *change.after : *change.before;
    if (!Matches(filter, probe)) continue;
    if (!before.has_value()) {
      change.kind = ChangeKind::kAdded;
    } else if (!after.has_value()) {
      change.kind = ChangeKind::kRemoved;
    } else {
      change.kind = ChangeKind::kModified;
    }
    // Field differences: both lists are sorted by name.
    static const std::vector<EntityField> kNone;
    const std::vector<EntityField>& a = before ? before->fields : kNone;
    const std::vector<EntityField>& b = after ? after->fields : kNone;
    size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
      if (j == b.size() || (i < a.size() && a[i].name < b[j].name)) {
        change.fields.push_back({a[i].name, a[i].value, std::nullopt});
        ++i;
      } else if (i == a.size() || b[j].name < a[i].name) {
        change.fields.push_back({b[j].name, std::nullopt, b[j].value});
        ++j;
      } else {
        if (a[i].value != b[j].value) {
          change.fields.push_back({a[i].name, a[i].value, b[j].value});
        }
        ++i;
        ++j;
      }
    }
    if (change.kind == ChangeKind::kModified && change.fields.empty() &&
        before->entity_type == after->entity_type) {
      continue;  // changed and changed back within the interval
    }
    changes.push_back(std::move(change));
  }
  std::sort(changes.begin(), changes.end(),
            [](const EntityChange& x, const EntityChange& y) {
              return x.entity < y.entity;
            });
  return changes;
}

}  // namespace traversion
