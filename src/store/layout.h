// The on-disk layout of a store: named LMDB databases, their key formats and
// the stored event record. docs/store-format.md describes the same in prose;
// kFormatVersion changes whenever any of this changes incompatibly.
//
//   meta        "format_version" -> u32 BE; "revision" -> u64 BE;
//               "next_id/<kind>" -> u64 BE
//   events      EventId bytes (16: time BE, suffix BE) -> EventRecord
//   idx_trace_<L>  run id(8) | trace(16)   -> event keys, L = 0..4
//   trace_runs     run id(8)               -> run info
//                  (sorted runs by level, see trace_runs.h)
//   idx_service service id(4) | tag(1) | first key(16)   -> posting
//               tag = type, or 0x80|severity
//   idx_entity  entity id(8) | first key(16)             -> posting
//   names       kind(1) | name            -> id(8) | name  (short names)
//               kind|0x80 | hash128(name) -> id(8) | name  (long names)
//   ids         kind(1) | id(8)           -> name
//   entities    0x00 | name (short names) -> entity id(8)
//               0x01 | hash128(long name) -> entity id(8) | name
//               (name order, so the state of every entity streams sorted)
//   ent_rev     entity id(8) | ~time(8) | ~revision(8) -> RevisionRecord
//   ent_by_rev  entity id(8) | ~revision(8)            -> time(8)
//   rev_time    time(8) | revision(8)                  -> entity id(8)
//
// A posting is a sorted list of 16-byte event keys written by one batch for
// one index value; its key carries its first event key. Postings never span
// more than kMaxPostingSpanNs, so a time-bounded index scan starts its seek
// that much before the range. Inverted (~) time and revision make "the latest
// entry at or before T" a single MDB_SET_RANGE seek.
#ifndef TRAVERSION_STORE_LAYOUT_H_
#define TRAVERSION_STORE_LAYOUT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "traversion/event.h"
#include "util/coding.h"

namespace traversion::store {

inline constexpr uint32_t kFormatVersion = 2;
// Oldest format this build reads. Format 1 (development builds before the
// trace runs and the name-ordered entities table) has no migration.
inline constexpr uint32_t kMinFormatVersion = 2;
inline constexpr uint64_t kMaxPostingSpanNs = 60ull * 1000 * 1000 * 1000;
inline constexpr size_t kEventKeySize = 16;

// Named databases, in the order their handles are kept.
enum Table : int {
  kMeta = 0,
  kEvents,
  kIdxTrace0,
  kIdxTrace1,
  kIdxTrace2,
  kIdxTrace3,
  kIdxTrace4,
  kIdxService,
  kIdxEntity,
  kNames,
  kIds,
  kEntities,
  kEntRev,
  kEntByRev,
  kRevTime,
  kTraceRuns,
  kTableCount,
};
const char* TableName(Table table);

// Kinds of interned names.
enum class NameKind : uint8_t { kService = 1, kEntity = 2 };

// Stored event value: an 8-byte header (filterable without decoding) then
// the traversion.v1.Event protobuf with `id` and `time_unix_nano` cleared
// (both are in the key).
//   [0] record format (1)  [1] type  [2] severity  [3] flags
//   [4..8) service id, little-endian
inline constexpr size_t kEventHeaderSize = 8;
inline constexpr uint8_t kEventRecordFormat = 1;
inline constexpr uint8_t kFlagHasTrace = 1;

struct EventHeader {
  uint8_t format = kEventRecordFormat;
  EventType type = EventType::kUnspecified;
  Severity severity = Severity::kUnspecified;
  uint8_t flags = 0;
  uint32_t service_id = 0;
};

inline void EncodeEventHeader(const EventHeader& h, uint8_t* out) {
  out[0] = h.format;
  out[1] = static_cast<uint8_t>(h.type);
  out[2] = static_cast<uint8_t>(h.severity);
  out[3] = h.flags;
  out[4] = static_cast<uint8_t>(h.service_id);
  out[5] = static_cast<uint8_t>(h.service_id >> 8);
  out[6] = static_cast<uint8_t>(h.service_id >> 16);
  out[7] = static_cast<uint8_t>(h.service_id >> 24);
}
inline EventHeader DecodeEventHeader(const uint8_t* in) {
  EventHeader h;
  h.format = in[0];
  h.type = static_cast<EventType>(in[1]);
  h.severity = static_cast<Severity>(in[2]);
  h.flags = in[3];
  h.service_id = uint32_t{in[4]} | uint32_t{in[5]} << 8 |
                 uint32_t{in[6]} << 16 | uint32_t{in[7]} << 24;
  return h;
}

// Event key helpers.
inline uint64_t KeyTime(const uint8_t* key16) {
  return coding::GetBigEndian64(key16);
}
inline void EncodeEventKey(const EventId& id, uint8_t* out16) {
  coding::PutBigEndian64(out16, id.time_ns);
  coding::PutBigEndian64(out16 + 8, id.suffix);
}
inline std::string TimeKey(uint64_t time_ns) {
  std::string key;
  coding::AppendBigEndian64(&key, time_ns);
  coding::AppendBigEndian64(&key, 0);
  return key;
}

// idx_service tags.
inline uint8_t TypeTag(EventType type) { return static_cast<uint8_t>(type); }
inline uint8_t SeverityTag(Severity s) {
  return static_cast<uint8_t>(0x80 | static_cast<uint8_t>(s));
}

// The state of an entity as one revision records it.
struct RevisionRecord {
  uint64_t revision = 0;
  uint64_t time_ns = 0;
  bool deleted = false;
  uint32_t service_id = 0;
  EventId event_id;
  std::string entity_type;
  std::vector<EntityField> fields;  // sorted by name, unique names
};
std::string EncodeRevision(const RevisionRecord& rec);
bool DecodeRevision(absl::string_view data, RevisionRecord* rec);

// Keys by name, for the names and entities tables. LMDB keys stop at 511
// bytes, so a name up to kMaxInlineName bytes is the key itself after
// `inline_tag`; a longer one is keyed by `hashed_tag` and a 128-bit stable
// hash, and its value carries the full name to verify against.
inline constexpr size_t kMaxInlineName = 400;
std::string NameOrHashKey(uint8_t inline_tag, uint8_t hashed_tag,
                          absl::string_view name);
// The value under such a key: the id, then the name if it was hashed.
std::string IdAndLongName(uint64_t id, absl::string_view name);

// The entities table lists the entities that have revisions, keyed so that
// iteration is in name order (long names, keyed by hash, come last).
inline std::string EntitiesKey(absl::string_view name) {
  return NameOrHashKey(0, 1, name);
}
// Reads an entities-table entry; false if malformed.
bool DecodeEntitiesEntry(absl::string_view key, absl::string_view value,
                         uint64_t* entity_id, absl::string_view* name);
std::string EntRevKey(uint64_t entity_id, uint64_t time_ns, uint64_t revision);
std::string EntByRevKey(uint64_t entity_id, uint64_t revision);
std::string RevTimeKey(uint64_t time_ns, uint64_t revision);
std::string U64Key(uint64_t v);

}  // namespace traversion::store

#endif  // TRAVERSION_STORE_LAYOUT_H_
