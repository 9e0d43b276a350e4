// Store::Impl — the LMDB environment, its table handles and the caches that
// make writes cheap. Split by concern across store_*.cc files:
//   store_open.cc       opening, format checks, map growth, stats
//   store_names.cc      interned service and entity names
//   store_write.cc      the batch write path and its indexes
//   store_revisions.cc  deriving entity revisions inside a write
//   store_read.cc       events by id, trace, filtered scans (EventCursor)
//   store_entity.cc     entity revisions: as-of, history, state, changes
//   store_retention.cc  deleting old events, compacting entity history
//   trace_runs.cc       the trace index as leveled sorted runs
#ifndef TRAVERSION_STORE_STORE_IMPL_H_
#define TRAVERSION_STORE_STORE_IMPL_H_

#include <lmdb.h>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/layout.h"
#include "store/lmdb.h"
#include "store/trace_runs.h"
#include "traversion/store.h"

namespace traversion {

// Counts the transactions this process has open, so that the map can be
// resized (which LMDB allows only with none open in the process). Unlike a
// reader lock it may be left from a different thread than it was entered on,
// which an EventCursor handed between threads needs.
class TxnGate {
 public:
  void Enter();
  void Exit();
  // Runs `fn` with no transaction open in this process.
  template <typename Fn>
  void Exclusive(Fn fn) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return open_ == 0 && !resizing_; });
    resizing_ = true;
    fn();
    resizing_ = false;
    changed_.notify_all();
  }

 private:
  // Standard primitives rather than absl::Mutex: Debian's absl is not built
  // with ThreadSanitizer's annotations, so TSan cannot see its locking and
  // reports every concurrent reader as a race.
  std::mutex mu_;
  std::condition_variable changed_;
  int open_ = 0;           // guarded by mu_
  bool resizing_ = false;  // guarded by mu_
};

// A read transaction registered with the gate.
class ReadTxn {
 public:
  ReadTxn() = default;
  ReadTxn(ReadTxn&& other) noexcept
      : txn_(std::move(other.txn_)), gate_(other.gate_) {
    other.gate_ = nullptr;
  }
  ReadTxn& operator=(ReadTxn&& other) noexcept {
    if (this != &other) {
      Release();
      txn_ = std::move(other.txn_);
      gate_ = other.gate_;
      other.gate_ = nullptr;
    }
    return *this;
  }
  ~ReadTxn() { Release(); }
  MDB_txn* get() const { return txn_.get(); }

 private:
  friend class Store::Impl;
  void Release() {
    txn_.Abort();
    if (gate_ != nullptr) gate_->Exit();
    gate_ = nullptr;
  }
  store::Txn txn_;
  TxnGate* gate_ = nullptr;
};

class Store::Impl {
 public:
  static absl::StatusOr<std::unique_ptr<Impl>> Open(
      const std::string& path, const StoreOptions& options);
  ~Impl();

  const std::string& path() const { return path_; }
  const StoreOptions& options() const { return options_; }
  MDB_dbi dbi(store::Table t) const { return dbis_[t]; }
  store::TraceRuns trace_runs() const {
    return store::TraceRuns(&dbis_[store::kIdxTrace0], dbis_[store::kTraceRuns],
                            dbis_[store::kMeta]);
  }
  uint64_t Now() const { return clock_->NowNanos(); }

  // --- transactions ---------------------------------------------------------
  absl::StatusOr<ReadTxn> BeginRead() const;
  // Runs `body` in a write transaction and commits it. When the map is full
  // and growth is allowed, the map is doubled and `body` runs again from the
  // start, so it must not have side effects outside the transaction except
  // through `on_commit`, which runs once after a successful commit.
  absl::Status RunWrite(const std::function<absl::Status(MDB_txn*)>& body,
                        const std::function<void()>& on_commit = nullptr);

  // --- interned names -------------------------------------------------------
  // Looks up `name` of `kind`; nullopt if never interned.
  absl::StatusOr<std::optional<uint64_t>> FindNameId(
      MDB_txn* txn, store::NameKind kind, absl::string_view name) const;
  // Looks up or creates an id for `name` in a write txn. New ids are cached
  // only after the transaction commits (see CommitPendingNames).
  absl::StatusOr<uint64_t> InternName(MDB_txn* txn, store::NameKind kind,
                                      absl::string_view name);
  absl::StatusOr<std::string> NameOf(MDB_txn* txn, store::NameKind kind,
                                     uint64_t id) const;
  void CommitPendingNames();
  void DropPendingNames();

  // --- the operations behind the public API ---------------------------------
  absl::StatusOr<WriteResult> Write(absl::Span<const Event> events);
  absl::Status Sync();
  absl::StatusOr<Event> GetEvent(const EventId& id) const;
  absl::StatusOr<std::vector<Event>> GetTrace(const TraceId& trace_id) const;
  EventCursor Scan(const EventFilter& filter) const;

  absl::StatusOr<std::optional<EntityRevision>> EntityAsOf(
      absl::string_view entity, uint64_t time_ns) const;
  absl::StatusOr<std::optional<EntityRevision>> EntityAtRevision(
      absl::string_view entity, uint64_t revision) const;
  absl::StatusOr<std::vector<EntityRevision>> EntityHistory(
      absl::string_view entity, uint64_t from_ns, uint64_t to_ns) const;
  absl::StatusOr<std::vector<EntityRevision>> StateAt(
      std::optional<uint64_t> time_ns, std::optional<uint64_t> revision,
      const EntityFilter& filter) const;
  absl::StatusOr<std::vector<EntityChange>> ChangesBetween(
      uint64_t t1_ns, uint64_t t2_ns, const EntityFilter& filter) const;

  absl::StatusOr<RetentionResult> ApplyRetention(const RetentionPolicy& p);
  absl::StatusOr<RetentionResult> DeleteBefore(uint64_t cutoff_ns);
  absl::StatusOr<StoreStats> Stats() const;

  // One entity-state observation of a batch being written.
  struct Observation {
    EventId id;
    uint32_t service_id = 0;
    const EntityStateData* state = nullptr;
  };
  // Derives the revisions `observations` (in key order, already stored as
  // events) create; `batch_keys` are the event keys of the whole batch.
  // Returns how many revisions were created.
  absl::StatusOr<uint64_t> DeriveRevisions(
      MDB_txn* txn, const std::vector<Observation>& observations,
      const absl::flat_hash_set<std::string>& batch_keys);

  // Decodes a stored event record under `key` into `out` (without the
  // details EventFilter::skip_details describes, if `skip_details`).
  absl::Status DecodeEvent(const MDB_val& key, const MDB_val& value, Event* out,
                           bool skip_details = false) const;

  // Entity helpers shared by the entity and write paths.
  // The newest revision of `entity_id` with time <= time_ns (nullopt if none).
  absl::StatusOr<std::optional<store::RevisionRecord>> RevisionAsOfTime(
      MDB_txn* txn, uint64_t entity_id, uint64_t time_ns) const;
  absl::StatusOr<std::optional<store::RevisionRecord>> RevisionAsOfRevision(
      MDB_txn* txn, uint64_t entity_id, uint64_t revision) const;
  absl::StatusOr<EntityRevision> ToEntityRevision(
      MDB_txn* txn, absl::string_view name,
      const store::RevisionRecord& rec) const;

 private:
  Impl() = default;
  absl::Status OpenEnvironment();
  absl::Status InitializeOrCheckFormat();
  absl::Status GrowMap();
  absl::Status PreallocateLockFile() const;
  absl::Status CheckNotTruncated() const;
  absl::Status CommitError(int rc) const;
  absl::Status AdoptMapSizeFromOtherProcess() const;

  std::string path_;
  std::string registry_key_;
  StoreOptions options_;
  const Clock* clock_ = nullptr;
  MDB_env* env_ = nullptr;
  std::array<MDB_dbi, store::kTableCount> dbis_{};
  mutable TxnGate gate_;

  // Interned names: committed entries are permanent (ids never change), so
  // the cache needs no invalidation across processes.
  // A std::mutex for the reason TxnGate gives.
  mutable std::mutex names_mu_;
  // All guarded by names_mu_.
  absl::flat_hash_map<std::string, uint64_t> name_to_id_;  // kind byte + name
  absl::flat_hash_map<std::string, uint64_t> pending_names_;
  mutable absl::flat_hash_map<uint64_t, std::string> service_names_;
};

}  // namespace traversion

#endif  // TRAVERSION_STORE_STORE_IMPL_H_
