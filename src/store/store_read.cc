// Reading events: by id, by trace, and filtered scans (EventCursor).
//
// A scan picks one of three plans:
//   - key list: the trace or entity index gives the (few) event keys, which
//     are sorted and fetched; also used for newest-first index scans;
//   - posting merge: the service index, one cursor per (service, type or
//     severity) prefix, merged into time order as they stream;
//   - time scan: a cursor over the events table between the two instants,
//     filtering on the 8-byte record header without decoding.
#include <lmdb.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <cstring>
#include <queue>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "event/wire_decoder.h"
#include "store/store_impl.h"
#include "util/status_macros.h"

namespace traversion {

using store::Cursor;
using store::LmdbError;
using store::NameKind;
using store::ToVal;

using EventKey = std::array<uint8_t, store::kEventKeySize>;

absl::Status Store::Impl::DecodeEvent(const MDB_val& key, const MDB_val& value,
                                      Event* out, bool skip_details) const {
  if (key.mv_size != store::kEventKeySize ||
      value.mv_size < store::kEventHeaderSize ||
      store::Bytes(value)[0] != store::kEventRecordFormat) {
    return absl::DataLossError("malformed event record in the store");
  }
  // The record holds the event without its id and time (the key has both).
  const absl::Status status = internal::DecodeEventWire(
      absl::string_view(reinterpret_cast<const char*>(store::Bytes(value)) +
                            store::kEventHeaderSize,
                        value.mv_size - store::kEventHeaderSize),
      out, internal::WireDecodeOptions{.skip_details = skip_details});
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat(
        "undecodable event record in the store: ", status.message()));
  }
  out->id = EventId::FromBytes(store::Bytes(key));
  out->time_ns = out->id.time_ns;
  return absl::OkStatus();
}

absl::StatusOr<Event> Store::Impl::GetEvent(const EventId& id) const {
  TV_ASSIGN_OR_RETURN(ReadTxn txn, BeginRead());
  uint8_t key[store::kEventKeySize];
  store::EncodeEventKey(id, key);
  MDB_val k = ToVal(key, sizeof(key));
  MDB_val v;
  int rc = mdb_get(txn.get(), dbis_[store::kEvents], &k, &v);
  if (rc == MDB_NOTFOUND) {
    return absl::NotFoundError(absl::StrCat("no event ", id.ToString()));
  }
  if (rc != 0) return LmdbError(rc, "reading an event");
  Event event;
  TV_RETURN_IF_ERROR(DecodeEvent(k, v, &event));
  return event;
}

absl::StatusOr<std::vector<Event>> Store::Impl::GetTrace(
    const TraceId& trace_id) const {
  EventFilter filter;
  filter.trace_id = trace_id;
  EventCursor cursor = Scan(filter);
  std::vector<Event> events;
  while (cursor.Next()) events.push_back(cursor.event());
  TV_RETURN_IF_ERROR(cursor.status());
  return events;
}

// --- EventCursor ------------------------------------------------------------

class EventCursor::Impl {
 public:
  Impl(const Store::Impl* store, EventFilter filter)
      : store_(store), filter_(std::move(filter)) {}

  // Sets up the plan; errors end the scan with that status.
  absl::Status Start();
  bool Next();
  void FailWith(absl::Status status) { Fail(std::move(status)); }
  const Event& event() const { return *event_; }
  const absl::Status& status() const { return status_; }
  uint64_t examined() const { return examined_; }

 private:
  enum class Plan { kEmpty, kKeyList, kPostingMerge, kTimeScan };

  struct PrefixSource {
    std::string prefix;
    Cursor cursor;
    bool valid = false;
    MDB_val key{}, value{};
    const uint8_t* first() const { return store::Bytes(key) + prefix.size(); }
  };

  bool HeaderMatches(const MDB_val& value) const;
  // Conditions no index answered (a trace plan with an entity condition and
  // vice versa), checked on the decoded event.
  bool ResidualMatches(const Event& e) const;
  // Decodes the record into the event kept for its stored type and makes
  // it the current one.
  absl::Status Decode(const MDB_val& key, const MDB_val& value);
  // Fetches `key` and decodes it into event_ if it matches; false otherwise.
  bool Emit(const uint8_t* key);
  bool Fail(absl::Status status) {
    status_ = std::move(status);
    done_ = true;
    return false;
  }
  absl::Status CollectPostingKeys(MDB_dbi dbi, absl::string_view prefix);
  absl::Status OpenServiceSources();
  void AdvanceSource(PrefixSource* source);
  // Next key from the posting merge, or false at the end.
  bool NextMergedKey(EventKey* key);
  bool InRange(uint64_t t) const {
    return t >= filter_.from_ns && t < filter_.to_ns;
  }

  const Store::Impl* store_;
  EventFilter filter_;
  ReadTxn txn_;
  Plan plan_ = Plan::kEmpty;
  bool done_ = false;
  absl::Status status_;
  // One decoded event per stored type, the current one in event_: decoding
  // an event over one of the same type reuses its strings and payload,
  // where switching the payload's type would free and reallocate them.
  std::array<Event, 10> events_by_type_;
  Event* event_ = &events_by_type_[0];
  uint64_t examined_ = 0;
  size_t returned_ = 0;

  // Header filter.
  bool any_service_ = true;
  absl::flat_hash_set<uint32_t> service_ids_;
  std::bitset<256> types_;
  bool any_type_ = true;

  // kKeyList
  std::vector<EventKey> keys_;
  size_t next_key_ = 0;
  // kPostingMerge
  std::vector<PrefixSource> sources_;
  std::priority_queue<EventKey, std::vector<EventKey>, std::greater<EventKey>>
      pending_;
  // kTimeScan
  Cursor scan_;
  bool scan_started_ = false;
};

absl::Status EventCursor::Impl::Start() {
  if (filter_.from_ns >= filter_.to_ns) {
    plan_ = Plan::kEmpty;
    return absl::OkStatus();
  }
  TV_ASSIGN_OR_RETURN(txn_, store_->BeginRead());
  for (EventType t : filter_.types) types_.set(static_cast<uint8_t>(t));
  any_type_ = filter_.types.empty();
  if (!filter_.services.empty()) {
    any_service_ = false;
    for (const std::string& name : filter_.services) {
      TV_ASSIGN_OR_RETURN(
          std::optional<uint64_t> id,
          store_->FindNameId(txn_.get(), NameKind::kService, name));
      if (id.has_value()) service_ids_.insert(static_cast<uint32_t>(*id));
    }
    if (service_ids_.empty()) {  // none of them ever wrote anything
      plan_ = Plan::kEmpty;
      return absl::OkStatus();
    }
  }

  if (filter_.trace_id.has_value()) {
    plan_ = Plan::kKeyList;
    std::vector<std::string> found;
    TV_RETURN_IF_ERROR(store_->trace_runs().Lookup(
        txn_.get(), *filter_.trace_id, filter_.from_ns, filter_.to_ns, &found));
    for (const std::string& k : found) {
      EventKey key;
      std::memcpy(key.data(), k.data(), store::kEventKeySize);
      if (InRange(store::KeyTime(key.data()))) keys_.push_back(key);
    }
    std::sort(keys_.begin(), keys_.end());
    keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
    return absl::OkStatus();
  }
  if (!filter_.entity.empty()) {
    TV_ASSIGN_OR_RETURN(
        std::optional<uint64_t> id,
        store_->FindNameId(txn_.get(), NameKind::kEntity, filter_.entity));
    if (!id.has_value()) {
      plan_ = Plan::kEmpty;
      return absl::OkStatus();
    }
    plan_ = Plan::kKeyList;
    std::string prefix;
    coding::AppendBigEndian64(&prefix, *id);
    return CollectPostingKeys(store_->dbi(store::kIdxEntity), prefix);
  }
  if (!any_service_) {
    TV_RETURN_IF_ERROR(OpenServiceSources());
    plan_ = Plan::kPostingMerge;
    if (filter_.newest_first) {
      // Materialize the (already time-ordered) keys, then walk them back.
      EventKey key;
      while (NextMergedKey(&key)) keys_.push_back(key);
      if (!status_.ok()) return status_;
      plan_ = Plan::kKeyList;
    }
    return absl::OkStatus();
  }
  plan_ = Plan::kTimeScan;
  int rc = scan_.Open(txn_.get(), store_->dbi(store::kEvents));
  return LmdbError(rc, "opening the events table");
}

absl::Status EventCursor::Impl::CollectPostingKeys(MDB_dbi dbi,
                                                   absl::string_view prefix) {
  Cursor cursor;
  int rc = cursor.Open(txn_.get(), dbi);
  if (rc != 0) return LmdbError(rc, "opening an index");
  MDB_val k = ToVal(prefix), v;
  for (rc = cursor.Get(&k, &v, MDB_SET_RANGE); rc == 0;
       rc = cursor.Get(&k, &v, MDB_NEXT)) {
    if (k.mv_size != prefix.size() + store::kEventKeySize ||
        std::memcmp(k.mv_data, prefix.data(), prefix.size()) != 0) {
      break;
    }
    if (v.mv_size % store::kEventKeySize != 0) {
      return absl::DataLossError("malformed index posting");
    }
    for (size_t off = 0; off < v.mv_size; off += store::kEventKeySize) {
      EventKey key;
      std::memcpy(key.data(), store::Bytes(v) + off, store::kEventKeySize);
      if (InRange(store::KeyTime(key.data()))) keys_.push_back(key);
    }
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, "reading an index");
  std::sort(keys_.begin(), keys_.end());
  keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
  return absl::OkStatus();
}

absl::Status EventCursor::Impl::OpenServiceSources() {
  std::vector<uint8_t> tags;
  if (!any_type_) {
    for (int t = 0; t < 256; ++t) {
      if (types_.test(t)) tags.push_back(static_cast<uint8_t>(t));
    }
  } else if (filter_.min_severity != Severity::kUnspecified) {
    for (int s = static_cast<int>(filter_.min_severity); s < 0x80; ++s) {
      tags.push_back(store::SeverityTag(static_cast<Severity>(s)));
    }
  } else {
    for (int t = 0; t <= static_cast<int>(EventType::kCustom); ++t) {
      tags.push_back(store::TypeTag(static_cast<EventType>(t)));
    }
  }
  const uint64_t seek_from = filter_.from_ns > store::kMaxPostingSpanNs
                                 ? filter_.from_ns - store::kMaxPostingSpanNs
                                 : 0;
  for (uint32_t sid : service_ids_) {
    for (uint8_t tag : tags) {
      PrefixSource source;
      coding::AppendBigEndian32(&source.prefix, sid);
      source.prefix.push_back(static_cast<char>(tag));
      int rc = source.cursor.Open(txn_.get(), store_->dbi(store::kIdxService));
      if (rc != 0) return LmdbError(rc, "opening the service index");
      std::string seek = source.prefix + store::TimeKey(seek_from);
      source.key = ToVal(seek);
      rc = source.cursor.Get(&source.key, &source.value, MDB_SET_RANGE);
      source.valid =
          rc == 0 &&
          source.key.mv_size == source.prefix.size() + store::kEventKeySize &&
          std::memcmp(source.key.mv_data, source.prefix.data(),
                      source.prefix.size()) == 0;
      if (rc != 0 && rc != MDB_NOTFOUND) {
        return LmdbError(rc, "reading the service index");
      }
      sources_.push_back(std::move(source));
    }
  }
  return absl::OkStatus();
}

void EventCursor::Impl::AdvanceSource(PrefixSource* source) {
  int rc = source->cursor.Get(&source->key, &source->value, MDB_NEXT);
  source->valid =
      rc == 0 &&
      source->key.mv_size == source->prefix.size() + store::kEventKeySize &&
      std::memcmp(source->key.mv_data, source->prefix.data(),
                  source->prefix.size()) == 0;
  if (rc != 0 && rc != MDB_NOTFOUND) {
    Fail(LmdbError(rc, "reading the service index"));
  }
}

bool EventCursor::Impl::NextMergedKey(EventKey* key) {
  while (!done_) {
    PrefixSource* lowest = nullptr;
    for (PrefixSource& s : sources_) {
      if (s.valid &&
          (lowest == nullptr ||
           std::memcmp(s.first(), lowest->first(), store::kEventKeySize) < 0)) {
        lowest = &s;
      }
    }
    // A pending key is final once no unread posting can hold a smaller one:
    // every posting's keys are >= its first key.
    if (!pending_.empty() &&
        (lowest == nullptr ||
         std::memcmp(pending_.top().data(), lowest->first(),
                     store::kEventKeySize) < 0)) {
      *key = pending_.top();
      pending_.pop();
      const uint64_t t = store::KeyTime(key->data());
      if (t >= filter_.to_ns) return false;  // all later keys are later still
      if (t < filter_.from_ns) continue;
      return true;
    }
    if (lowest == nullptr) return false;
    if (store::KeyTime(lowest->first()) >= filter_.to_ns) {
      lowest->valid = false;  // sorted by first key: nothing more in range
      continue;
    }
    if (lowest->value.mv_size % store::kEventKeySize != 0) {
      Fail(absl::DataLossError("malformed index posting"));
      return false;
    }
    for (size_t off = 0; off < lowest->value.mv_size;
         off += store::kEventKeySize) {
      EventKey k;
      std::memcpy(k.data(), store::Bytes(lowest->value) + off,
                  store::kEventKeySize);
      pending_.push(k);
    }
    AdvanceSource(lowest);
  }
  return false;
}

bool EventCursor::Impl::HeaderMatches(const MDB_val& value) const {
  if (value.mv_size < store::kEventHeaderSize) return true;  // decode reports
  const store::EventHeader h = store::DecodeEventHeader(store::Bytes(value));
  if (!any_type_ && !types_.test(static_cast<uint8_t>(h.type))) return false;
  if (static_cast<uint8_t>(h.severity) <
      static_cast<uint8_t>(filter_.min_severity)) {
    return false;
  }
  if (!any_service_ && !service_ids_.contains(h.service_id)) return false;
  return true;
}

bool EventCursor::Impl::ResidualMatches(const Event& e) const {
  if (filter_.trace_id.has_value() && e.trace.trace_id != *filter_.trace_id) {
    return false;
  }
  if (!filter_.entity.empty()) {
    const EntityStateData* s = e.entity_state();
    if (s != nullptr && s->entity == filter_.entity) return true;
    return std::find(e.entity_refs.begin(), e.entity_refs.end(),
                     filter_.entity) != e.entity_refs.end();
  }
  return true;
}

absl::Status EventCursor::Impl::Decode(const MDB_val& key,
                                       const MDB_val& value) {
  size_t slot = 0;
  if (value.mv_size >= store::kEventHeaderSize) {
    slot = static_cast<size_t>(store::Bytes(value)[1]);
    if (slot >= events_by_type_.size()) slot = 0;
  }
  event_ = &events_by_type_[slot];
  // An entity condition is checked on entity_refs: read them then.
  return store_->DecodeEvent(key, value, event_,
                             filter_.skip_details && filter_.entity.empty());
}

bool EventCursor::Impl::Emit(const uint8_t* key) {
  ++examined_;
  MDB_val k = ToVal(key, store::kEventKeySize);
  MDB_val v;
  int rc = mdb_get(txn_.get(), store_->dbi(store::kEvents), &k, &v);
  if (rc == MDB_NOTFOUND) return false;  // removed by retention
  if (rc != 0) return Fail(LmdbError(rc, "reading an event"));
  if (!HeaderMatches(v)) return false;
  absl::Status st = Decode(k, v);
  if (!st.ok()) return Fail(std::move(st));
  return ResidualMatches(*event_);
}

bool EventCursor::Impl::Next() {
  if (done_) return false;
  if (filter_.limit != 0 && returned_ >= filter_.limit) {
    done_ = true;
    return false;
  }
  bool found = false;
  switch (plan_) {
    case Plan::kEmpty:
      break;
    case Plan::kKeyList:
      while (!found && next_key_ < keys_.size()) {
        const size_t i =
            filter_.newest_first ? keys_.size() - 1 - next_key_ : next_key_;
        ++next_key_;
        found = Emit(keys_[i].data());
        if (done_) return false;
      }
      break;
    case Plan::kPostingMerge: {
      EventKey key;
      while (!found && NextMergedKey(&key)) {
        found = Emit(key.data());
        if (done_) return false;
      }
      break;
    }
    case Plan::kTimeScan: {
      MDB_val k, v;
      int rc;
      if (!scan_started_) {
        scan_started_ = true;
        std::string seek = store::TimeKey(
            filter_.newest_first ? filter_.to_ns : filter_.from_ns);
        k = ToVal(seek);
        rc = scan_.Get(&k, &v, MDB_SET_RANGE);
        if (filter_.newest_first) {
          // The first key >= to_ns is past the range; step back from it (or
          // from the end when there is none).
          rc = rc == MDB_NOTFOUND ? scan_.Get(&k, &v, MDB_LAST)
                                  : scan_.Get(&k, &v, MDB_PREV);
        }
      } else {
        rc = scan_.Get(&k, &v, filter_.newest_first ? MDB_PREV : MDB_NEXT);
      }
      while (rc == 0) {
        if (k.mv_size != store::kEventKeySize) {
          return Fail(absl::DataLossError("malformed event key in the store"));
        }
        const uint64_t t = store::KeyTime(store::Bytes(k));
        if (!InRange(t)) break;
        ++examined_;
        if (HeaderMatches(v)) {
          absl::Status st = Decode(k, v);
          if (!st.ok()) return Fail(std::move(st));
          if (ResidualMatches(*event_)) {
            found = true;
            break;
          }
        }
        rc = scan_.Get(&k, &v, filter_.newest_first ? MDB_PREV : MDB_NEXT);
      }
      if (rc != 0 && rc != MDB_NOTFOUND) {
        return Fail(LmdbError(rc, "scanning events"));
      }
      break;
    }
  }
  if (!found) {
    done_ = true;
    // Release the snapshot as soon as the scan ends.
    scan_.Close();
    sources_.clear();
    txn_ = ReadTxn();
    return false;
  }
  ++returned_;
  return true;
}

EventCursor::EventCursor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventCursor::EventCursor(EventCursor&&) noexcept = default;
EventCursor& EventCursor::operator=(EventCursor&&) noexcept = default;
EventCursor::~EventCursor() = default;

bool EventCursor::Next() { return impl_ != nullptr && impl_->Next(); }
const Event& EventCursor::event() const { return impl_->event(); }
absl::Status EventCursor::status() const {
  if (impl_ == nullptr) {
    return absl::FailedPreconditionError("use of a moved-from EventCursor");
  }
  return impl_->status();
}
uint64_t EventCursor::examined() const {
  return impl_ == nullptr ? 0 : impl_->examined();
}

EventCursor Store::Impl::Scan(const EventFilter& filter) const {
  auto impl = std::make_unique<EventCursor::Impl>(this, filter);
  absl::Status st = impl->Start();
  // A failed start is reported through the cursor: Next() is false and
  // status() says why.
  if (!st.ok()) impl->FailWith(std::move(st));
  return EventCursor(std::move(impl));
}

}  // namespace traversion
