// traversion/store.h — the LMDB temporal store.
//
// A Store is a directory holding one LMDB environment with the events of one
// or more services, their secondary indexes and the revision history of the
// entities they observed. What it answers:
//   - events by id, by time range (streamed, filtered by service, type,
//     severity), by trace id, by entity;
//   - the state of one entity, or of every entity, at an instant or at a
//     revision; the history of an entity; what changed between two instants;
//   - statistics; retention by age and by size.
//
// Durability: Write() commits one LMDB transaction per call. With the default
// SyncMode::kDurable, an event is on disk when Write() returns OK; a process
// killed at any instant leaves a store that reopens with every committed batch
// present exactly once and no partial batch.
//
// Thread safety: a Store may be shared by any number of threads. Writes are
// serialized (by LMDB, across processes too); reads run concurrently with
// writes and with each other, each on its own consistent snapshot. An
// EventCursor belongs to one thread at a time. Several processes may open the
// same directory; one process should hold one Store per directory (a second
// Open of the same path in one process returns FailedPrecondition).
#ifndef TRAVERSION_STORE_H_
#define TRAVERSION_STORE_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "traversion/clock.h"
#include "traversion/event.h"
#include "traversion/event_codec.h"

namespace traversion {

// How hard a commit works to reach the disk.
enum class SyncMode {
  // fsync at every commit: a committed batch survives power loss. Default.
  kDurable,
  // Skip the metadata fsync: a crash of the OS (not of the process) may
  // undo the last commit, but never corrupts. About 2x faster commits.
  kNoMetaSync,
  // No fsync; the OS writes when it likes. Process crashes lose nothing,
  // OS crashes may lose recent commits. Call Store::Sync() for a barrier.
  kNoSync,
};

struct StoreOptions {
  // Create the directory and the store if absent. Otherwise NotFound.
  bool create_if_missing = true;
  // Open for reading only. Writes fail with FailedPrecondition. If the
  // directory itself is not writable (a copy on read-only media), the store
  // is opened without LMDB's lock file: safe as long as nobody writes it.
  bool read_only = false;
  // Virtual size of the memory map. It costs address space, not disk: the
  // file grows with the data. Default 1 GiB.
  uint64_t initial_map_size = uint64_t{1} << 30;
  // Double the map when it is full, up to max_map_size. If false, a write
  // that does not fit fails with ResourceExhausted and commits nothing.
  bool allow_map_growth = true;
  uint64_t max_map_size = uint64_t{1} << 40;  // 1 TiB
  SyncMode sync = SyncMode::kDurable;
  // Maximum concurrent read transactions across all processes (LMDB's
  // reader table). Each open EventCursor holds one.
  unsigned max_readers = 256;
  // Events larger than this, or with invalid UTF-8, are rejected by Write().
  ValidationLimits limits;
  // Time source for stamping events without a time and for retention by age.
  // Not owned; nullptr means Clock::Real().
  const Clock* clock = nullptr;
};

struct WriteResult {
  size_t written = 0;          // events newly stored
  size_t duplicates = 0;       // events whose id was already stored (skipped)
  uint64_t new_revisions = 0;  // entity revisions created by this batch
  // The id of every input event, in input order (assigned where it was empty).
  std::vector<EventId> ids;
};

// Which events a scan returns. All conditions must hold (AND); a list matches
// any of its elements (OR). The store uses the narrowest index that applies:
// trace, then entity, then service, else a time-ordered scan of all events.
struct EventFilter {
  uint64_t from_ns = 0;                                   // inclusive
  uint64_t to_ns = std::numeric_limits<uint64_t>::max();  // exclusive
  std::vector<std::string> services;
  std::vector<EventType> types;
  Severity min_severity = Severity::kUnspecified;
  std::optional<TraceId> trace_id;
  // Events about this entity: its state observations and events naming it
  // in entity_refs.
  std::string entity;
  bool newest_first = false;
  size_t limit = 0;  // 0: no limit
  // Events come without their details: `source`, `semantic`, `impact`,
  // `attributes`, `entity_refs` and the service's host, version, namespace
  // and environment are empty. A scan that does not need
  // them (the causality engine's) decodes faster. Ignored with an `entity`
  // condition, which is checked on entity_refs.
  bool skip_details = false;
};

// A streaming cursor over events, in time order (or reverse). It holds a read
// snapshot: events committed after it was opened are not seen.
//
//   auto cursor = store.Scan(filter);
//   while (cursor.Next()) Use(cursor.event());
//   if (!cursor.status().ok()) ...
class EventCursor {
 public:
  EventCursor(EventCursor&&) noexcept;
  EventCursor& operator=(EventCursor&&) noexcept;
  ~EventCursor();

  // Advances to the next matching event. False at the end or on error.
  bool Next();
  // The current event; valid until the next call to Next().
  const Event& event() const;
  // OK unless an error ended the scan early.
  absl::Status status() const;
  // Events examined so far, matching or not (what a query budget counts).
  uint64_t examined() const;

  class Impl;
  explicit EventCursor(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// One revision of one entity.
struct EntityRevision {
  std::string entity;
  std::string entity_type;
  std::string service;    // service of the observation that made it
  uint64_t revision = 0;  // store-wide, increasing in commit order
  uint64_t time_ns = 0;   // when the state was observed
  bool deleted = false;
  std::vector<EntityField> fields;  // sorted by name
  EventId event_id;                 // the observation event
};

// Restricts entity queries. Empty members match everything.
struct EntityFilter {
  std::string service;
  std::string entity_type;
  std::string name_prefix;
};

struct FieldChange {
  std::string name;
  std::optional<std::string> before;  // nullopt: the field was added
  std::optional<std::string> after;   // nullopt: the field was removed
};

enum class ChangeKind { kAdded, kRemoved, kModified };
absl::string_view ChangeKindName(ChangeKind kind);  // added|removed|modified

// How one entity differs between two instants.
struct EntityChange {
  std::string entity;
  ChangeKind kind = ChangeKind::kModified;
  std::optional<EntityRevision> before;  // state at the first instant
  std::optional<EntityRevision> after;   // state at the second instant
  std::vector<FieldChange> fields;       // field-level differences
};

struct RetentionPolicy {
  // Delete events older than now - max_age_ns. 0: no age limit.
  uint64_t max_age_ns = 0;
  // Delete the oldest events until the live data is at most this many bytes.
  // 0: no size limit.
  uint64_t max_bytes = 0;
};

struct RetentionResult {
  uint64_t cutoff_ns = 0;  // events before this instant were deleted
  uint64_t events_deleted = 0;
  uint64_t revisions_deleted = 0;
};

struct StoreStats {
  uint32_t format_version = 0;
  uint64_t events = 0;
  uint64_t entities = 0;
  uint64_t revisions = 0;
  uint64_t current_revision = 0;
  uint64_t first_event_ns = 0;  // 0 if empty
  uint64_t last_event_ns = 0;
  std::vector<std::string> services;  // sorted
  uint64_t map_size_bytes = 0;
  uint64_t live_bytes = 0;  // pages in use by data and indexes
  uint64_t file_bytes = 0;  // size of data.mdb on disk
  // Entries per internal table, by table name.
  std::vector<std::pair<std::string, uint64_t>> tables;
};

class Store {
 public:
  // Opens or creates the store in directory `path`. Errors:
  //   NotFound           — no store and create_if_missing is false;
  //   PermissionDenied   — the directory or files cannot be opened;
  //   FailedPrecondition — a store of a newer format, not a Traversion
  //                        store, or already open in this process;
  //   DataLoss           — a corrupt file.
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::string& path, const StoreOptions& options = {});

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  // Writes a batch in one transaction: all events or none. Events are first
  // validated (InvalidArgument names the first bad one; nothing is written).
  // Events whose id is already stored are skipped and counted as duplicates,
  // so writing the same batch twice stores it once. ResourceExhausted when
  // the map or the disk is full.
  absl::StatusOr<WriteResult> Write(absl::Span<const Event> events);

  // Forces written data to disk (only needed with SyncMode::kNoSync).
  absl::Status Sync();

  // --- events ---------------------------------------------------------------

  // NotFound if no such event.
  absl::StatusOr<Event> GetEvent(const EventId& id) const;
  // All events of a trace in time order (empty if none).
  absl::StatusOr<std::vector<Event>> GetTrace(const TraceId& trace_id) const;
  // Streams the events matching `filter`.
  EventCursor Scan(const EventFilter& filter) const;

  // --- entities -------------------------------------------------------------

  // The state of `entity` at `time_ns`: its latest revision observed at or
  // before that instant. nullopt if none yet, or if it was deleted.
  absl::StatusOr<std::optional<EntityRevision>> EntityAsOf(
      absl::string_view entity, uint64_t time_ns) const;
  // The entity as of store revision `revision`.
  absl::StatusOr<std::optional<EntityRevision>> EntityAtRevision(
      absl::string_view entity, uint64_t revision) const;
  // Every revision of `entity` observed in [from_ns, to_ns), oldest first,
  // deletions included.
  absl::StatusOr<std::vector<EntityRevision>> EntityHistory(
      absl::string_view entity, uint64_t from_ns = 0,
      uint64_t to_ns = std::numeric_limits<uint64_t>::max()) const;
  // Every live entity as of `time_ns`, sorted by name.
  absl::StatusOr<std::vector<EntityRevision>> StateAt(
      uint64_t time_ns, const EntityFilter& filter = {}) const;
  // Every live entity as of store revision `revision`, sorted by name.
  absl::StatusOr<std::vector<EntityRevision>> StateAtRevision(
      uint64_t revision, const EntityFilter& filter = {}) const;
  // Entities that differ between the states at `t1_ns` and `t2_ns`
  // (t1 < t2): added, removed, modified with field differences. Sorted by
  // entity name.
  absl::StatusOr<std::vector<EntityChange>> ChangesBetween(
      uint64_t t1_ns, uint64_t t2_ns, const EntityFilter& filter = {}) const;

  // --- maintenance ----------------------------------------------------------

  // Deletes events (and their index entries) per `policy`. Entity history is
  // compacted to the cut-off: revisions older than it are removed except the
  // one that was current at the cut-off, so StateAt(t) stays exact for every
  // t >= cutoff. Revisions are never renumbered.
  absl::StatusOr<RetentionResult> ApplyRetention(const RetentionPolicy& policy);
  // Deletes every event before `cutoff_ns`; the primitive behind retention.
  absl::StatusOr<RetentionResult> DeleteBefore(uint64_t cutoff_ns);

  absl::StatusOr<StoreStats> Stats() const;

  const std::string& path() const;
  const StoreOptions& options() const;

  class Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace traversion

#endif  // TRAVERSION_STORE_H_
