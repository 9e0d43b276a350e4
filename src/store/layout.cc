#include "store/layout.h"

#include <algorithm>

namespace traversion::store {

const char* TableName(Table table) {
  switch (table) {
    case kMeta:
      return "meta";
    case kEvents:
      return "events";
    case kIdxTrace0:
      return "idx_trace_0";
    case kIdxTrace1:
      return "idx_trace_1";
    case kIdxTrace2:
      return "idx_trace_2";
    case kIdxTrace3:
      return "idx_trace_3";
    case kIdxTrace4:
      return "idx_trace_4";
    case kIdxService:
      return "idx_service";
    case kIdxEntity:
      return "idx_entity";
    case kNames:
      return "names";
    case kIds:
      return "ids";
    case kEntities:
      return "entities";
    case kEntRev:
      return "ent_rev";
    case kEntByRev:
      return "ent_by_rev";
    case kRevTime:
      return "rev_time";
    case kTraceRuns:
      return "trace_runs";
    case kTableCount:
      break;
  }
  return "?";
}

namespace {

void AppendString(std::string* out, absl::string_view s) {
  coding::AppendVarint64(out, s.size());
  out->append(s.data(), s.size());
}

bool GetString(const uint8_t** p, const uint8_t* end, std::string* s) {
  uint64_t len;
  if (!coding::GetVarint64(p, end, &len)) return false;
  if (len > static_cast<uint64_t>(end - *p)) return false;
  s->assign(reinterpret_cast<const char*>(*p), len);
  *p += len;
  return true;
}

}  // namespace

std::string EncodeRevision(const RevisionRecord& rec) {
  std::string out;
  out.reserve(48 + rec.entity_type.size() + rec.fields.size() * 24);
  out.push_back(1);  // record format
  coding::AppendVarint64(&out, rec.revision);
  coding::AppendBigEndian64(&out, rec.time_ns);
  out.push_back(rec.deleted ? 1 : 0);
  coding::AppendBigEndian32(&out, rec.service_id);
  coding::AppendBigEndian64(&out, rec.event_id.time_ns);
  coding::AppendBigEndian64(&out, rec.event_id.suffix);
  AppendString(&out, rec.entity_type);
  coding::AppendVarint64(&out, rec.fields.size());
  for (const EntityField& f : rec.fields) {
    AppendString(&out, f.name);
    AppendString(&out, f.value);
  }
  return out;
}

bool DecodeRevision(absl::string_view data, RevisionRecord* rec) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(data.data());
  const uint8_t* end = p + data.size();
  if (p == end || *p != 1) return false;
  ++p;
  if (!coding::GetVarint64(&p, end, &rec->revision)) return false;
  if (end - p < 8 + 1 + 4 + 16) return false;
  rec->time_ns = coding::GetBigEndian64(p);
  p += 8;
  rec->deleted = *p++ != 0;
  rec->service_id = coding::GetBigEndian32(p);
  p += 4;
  rec->event_id.time_ns = coding::GetBigEndian64(p);
  rec->event_id.suffix = coding::GetBigEndian64(p + 8);
  p += 16;
  if (!GetString(&p, end, &rec->entity_type)) return false;
  uint64_t n;
  if (!coding::GetVarint64(&p, end, &n)) return false;
  if (n > static_cast<uint64_t>(end - p)) return false;  // >= 2 bytes each
  rec->fields.clear();
  rec->fields.resize(n);
  for (EntityField& f : rec->fields) {
    if (!GetString(&p, end, &f.name) || !GetString(&p, end, &f.value)) {
      return false;
    }
  }
  return p == end;
}

std::string NameOrHashKey(uint8_t inline_tag, uint8_t hashed_tag,
                          absl::string_view name) {
  std::string key;
  if (name.size() <= kMaxInlineName) {
    key.reserve(1 + name.size());
    key.push_back(static_cast<char>(inline_tag));
    key.append(name.data(), name.size());
  } else {
    key.push_back(static_cast<char>(hashed_tag));
    coding::AppendBigEndian64(&key, coding::StableHash64(name, 1));
    coding::AppendBigEndian64(&key, coding::StableHash64(name, 2));
  }
  return key;
}

std::string IdAndLongName(uint64_t id, absl::string_view name) {
  std::string value;
  coding::AppendBigEndian64(&value, id);
  if (name.size() > kMaxInlineName) value.append(name.data(), name.size());
  return value;
}

bool DecodeEntitiesEntry(absl::string_view key, absl::string_view value,
                         uint64_t* entity_id, absl::string_view* name) {
  if (key.empty() || value.size() < 8) return false;
  *entity_id =
      coding::GetBigEndian64(reinterpret_cast<const uint8_t*>(value.data()));
  if (key[0] == '\0') {
    *name = key.substr(1);
    return value.size() == 8;
  }
  *name = value.substr(8);
  return key[0] == '\1' && key.size() == 17 && !name->empty();
}

std::string EntRevKey(uint64_t entity_id, uint64_t time_ns, uint64_t revision) {
  std::string key;
  key.reserve(24);
  coding::AppendBigEndian64(&key, entity_id);
  coding::AppendBigEndian64(&key, ~time_ns);
  coding::AppendBigEndian64(&key, ~revision);
  return key;
}

std::string EntByRevKey(uint64_t entity_id, uint64_t revision) {
  std::string key;
  key.reserve(16);
  coding::AppendBigEndian64(&key, entity_id);
  coding::AppendBigEndian64(&key, ~revision);
  return key;
}

std::string RevTimeKey(uint64_t time_ns, uint64_t revision) {
  std::string key;
  key.reserve(16);
  coding::AppendBigEndian64(&key, time_ns);
  coding::AppendBigEndian64(&key, revision);
  return key;
}

std::string U64Key(uint64_t v) {
  std::string key;
  coding::AppendBigEndian64(&key, v);
  return key;
}

}  // namespace traversion::store
