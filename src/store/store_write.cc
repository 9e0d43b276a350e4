// The write path: validate and encode outside the transaction, then in one
// LMDB transaction append the events, write one posting per index value, and
// derive entity revisions.
#include <lmdb.h>

#include <algorithm>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "event/wire_encoder.h"
#include "store/store_impl.h"
#include "util/status_macros.h"

namespace traversion {

using store::Cursor;
using store::LmdbError;
using store::NameKind;
using store::ToVal;

namespace {

// One event of the batch, encoded and ready to put.
struct Encoded {
  uint8_t key[store::kEventKeySize];
  size_t value_offset = 0;
  size_t value_size = 0;
  size_t input_index = 0;
  bool duplicate = false;
};

// The postings of one index: index value -> event keys (in key order).
template <typename K>
using Postings = absl::flat_hash_map<K, std::vector<const uint8_t*>>;

// Writes `keys` (sorted) as postings under `prefix`, splitting so that no
// posting spans more than kMaxPostingSpanNs.
absl::Status PutPostings(MDB_txn* txn, MDB_dbi dbi, absl::string_view prefix,
                         const std::vector<const uint8_t*>& keys,
                         std::string* key_buf, std::string* value_buf) {
  size_t begin = 0;
  while (begin < keys.size()) {
    const uint64_t first_time = store::KeyTime(keys[begin]);
    size_t end = begin + 1;
    while (end < keys.size() &&
           store::KeyTime(keys[end]) - first_time <= store::kMaxPostingSpanNs) {
      ++end;
    }
    key_buf->assign(prefix.data(), prefix.size());
    key_buf->append(reinterpret_cast<const char*>(keys[begin]),
                    store::kEventKeySize);
    value_buf->clear();
    for (size_t i = begin; i < end; ++i) {
      value_buf->append(reinterpret_cast<const char*>(keys[i]),
                        store::kEventKeySize);
    }
    MDB_val k = ToVal(*key_buf);
    MDB_val v = ToVal(*value_buf);
    int rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc != 0) return LmdbError(rc, "writing an index posting");
    begin = end;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WriteResult> Store::Impl::Write(absl::Span<const Event> events) {
  if (options_.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat("store '", path_, "' is open read-only"));
  }
  WriteResult result;
  result.ids.reserve(events.size());
  if (events.empty()) return result;

  // 1. Validate everything first: a bad event rejects the whole batch before
  //    anything is written.
  const uint64_t now = Now();
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    absl::Status st = ValidateEvent(e, options_.limits);
    if (!st.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("event ", i, " of the batch: ", st.message()));
    }
    if (!e.id.empty() && e.time_ns != 0 && e.id.time_ns != e.time_ns) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event ", i, " of the batch: its id ", e.id.ToString(),
          " encodes time ", e.id.time_ns, " but time_ns is ", e.time_ns));
    }
    EventId id = e.id;
    if (id.empty()) id = EventId::Generate(e.time_ns != 0 ? e.time_ns : now);
    result.ids.push_back(id);
  }

  // 2. Encode each event: header + protobuf without id and time (the key
  //    holds both), written directly (event/wire_encoder.h).
  std::vector<Encoded> encoded(events.size());
  std::string values;
  values.reserve(events.size() * 192);
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    Encoded& enc = encoded[i];
    enc.input_index = i;
    store::EncodeEventKey(result.ids[i], enc.key);
    store::EventHeader header;
    header.type = e.effective_type();
    header.severity = e.severity;
    header.flags = e.trace.has_trace() ? store::kFlagHasTrace : 0;
    enc.value_offset = values.size();
    values.append(store::kEventHeaderSize, '\0');
    internal::AppendEventWire(e, {.omit_id_and_time = true}, &values);
    enc.value_size = values.size() - enc.value_offset;
    if (enc.value_size > options_.limits.max_event_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event ", i, " of the batch is ", enc.value_size,
          " bytes encoded, over the limit of ", options_.limits.max_event_bytes,
          " (ValidationLimits::max_event_bytes)"));
    }
    store::EncodeEventHeader(
        header, reinterpret_cast<uint8_t*>(values.data()) + enc.value_offset);
  }
  // Key order is id order; batches usually arrive in it already.
  auto by_id = [&](const Encoded& a, const Encoded& b) {
    return result.ids[a.input_index] < result.ids[b.input_index];
  };
  if (!std::is_sorted(encoded.begin(), encoded.end(), by_id)) {
    std::sort(encoded.begin(), encoded.end(), by_id);
  }

  // 3. One transaction. The body may run more than once (map growth), so it
  //    recomputes everything it derives.
  WriteResult counts;
  auto body = [&](MDB_txn* txn) -> absl::Status {
    counts = WriteResult();
    // Services -> ids, patched into the headers.
    absl::flat_hash_map<absl::string_view, uint32_t> service_ids;
    for (Encoded& enc : encoded) {
      const std::string& name = events[enc.input_index].service.name;
      uint32_t sid = 0;
      if (!name.empty()) {
        auto it = service_ids.find(name);
        if (it == service_ids.end()) {
          TV_ASSIGN_OR_RETURN(uint64_t id,
                              InternName(txn, NameKind::kService, name));
          sid = static_cast<uint32_t>(id);
          service_ids.emplace(name, sid);
        } else {
          sid = it->second;
        }
      }
      uint8_t* header =
          reinterpret_cast<uint8_t*>(values.data()) + enc.value_offset;
      store::EventHeader h = store::DecodeEventHeader(header);
      h.service_id = sid;
      store::EncodeEventHeader(h, header);
    }

    // Events: append where the key is past the end (the common case: time
    // moves forward), otherwise an ordinary insert that refuses duplicates.
    Cursor cursor;
    int rc = cursor.Open(txn, dbis_[store::kEvents]);
    if (rc != 0) return LmdbError(rc, "opening the events table");
    MDB_val last_key, last_value;
    uint8_t last[store::kEventKeySize] = {};
    bool have_last = cursor.Get(&last_key, &last_value, MDB_LAST) == 0 &&
                     last_key.mv_size == store::kEventKeySize;
    if (have_last) std::memcpy(last, last_key.mv_data, store::kEventKeySize);
    for (Encoded& enc : encoded) {
      enc.duplicate = false;
      MDB_val k = ToVal(enc.key, store::kEventKeySize);
      MDB_val v = ToVal(values.data() + enc.value_offset, enc.value_size);
      const bool append =
          !have_last || std::memcmp(enc.key, last, store::kEventKeySize) > 0;
      rc = append
               ? cursor.Put(&k, &v, MDB_APPEND)
               : mdb_put(txn, dbis_[store::kEvents], &k, &v, MDB_NOOVERWRITE);
      if (rc == MDB_KEYEXIST) {
        enc.duplicate = true;
        ++counts.duplicates;
        continue;
      }
      if (rc != 0) return LmdbError(rc, "writing an event");
      if (append) {
        std::memcpy(last, enc.key, store::kEventKeySize);
        have_last = true;
      }
      ++counts.written;
    }

    // Postings, grouped per index value; keys arrive in key order.
    Postings<TraceId> by_trace;
    Postings<uint64_t> by_service_tag;  // service id << 8 | tag
    Postings<uint64_t> by_entity;
    std::vector<const Encoded*> entity_states;
    for (const Encoded& enc : encoded) {
      if (enc.duplicate) continue;
      const Event& e = events[enc.input_index];
      const uint8_t* header =
          reinterpret_cast<const uint8_t*>(values.data()) + enc.value_offset;
      const uint64_t sid = store::DecodeEventHeader(header).service_id;
      if (e.trace.has_trace()) by_trace[e.trace.trace_id].push_back(enc.key);
      by_service_tag[sid << 8 | store::TypeTag(e.effective_type())].push_back(
          enc.key);
      by_service_tag[sid << 8 | store::SeverityTag(e.severity)].push_back(
          enc.key);
      if (const EntityStateData* s = e.entity_state()) {
        TV_ASSIGN_OR_RETURN(uint64_t eid,
                            InternName(txn, NameKind::kEntity, s->entity));
        by_entity[eid].push_back(enc.key);
        entity_states.push_back(&enc);
      }
      for (const std::string& ref : e.entity_refs) {
        TV_ASSIGN_OR_RETURN(uint64_t eid,
                            InternName(txn, NameKind::kEntity, ref));
        auto& keys = by_entity[eid];
        if (keys.empty() || keys.back() != enc.key) keys.push_back(enc.key);
      }
    }
    std::string key_buf, value_buf, prefix;
    if (!by_trace.empty()) {
      store::TracePostings postings(by_trace.begin(), by_trace.end());
      TV_RETURN_IF_ERROR(trace_runs().AddBatch(txn, std::move(postings)));
    }
    for (const auto& [service_tag, keys] : by_service_tag) {
      prefix.clear();
      coding::AppendBigEndian32(&prefix,
                                static_cast<uint32_t>(service_tag >> 8));
      prefix.push_back(static_cast<char>(service_tag & 0xff));
      TV_RETURN_IF_ERROR(PutPostings(txn, dbis_[store::kIdxService], prefix,
                                     keys, &key_buf, &value_buf));
    }
    for (const auto& [entity, keys] : by_entity) {
      prefix.clear();
      coding::AppendBigEndian64(&prefix, entity);
      TV_RETURN_IF_ERROR(PutPostings(txn, dbis_[store::kIdxEntity], prefix,
                                     keys, &key_buf, &value_buf));
    }

    // Entity revisions: a new revision only when the observed state differs
    // from the entity's state at that instant.
    if (!entity_states.empty()) {
      std::vector<Observation> observations;
      observations.reserve(entity_states.size());
      absl::flat_hash_set<std::string> batch_keys;
      for (const Encoded* enc : entity_states) {
        const uint8_t* header =
            reinterpret_cast<const uint8_t*>(values.data()) + enc->value_offset;
        observations.push_back({EventId::FromBytes(enc->key),
                                store::DecodeEventHeader(header).service_id,
                                events[enc->input_index].entity_state()});
        batch_keys.emplace(reinterpret_cast<const char*>(enc->key),
                           store::kEventKeySize);
      }
      TV_ASSIGN_OR_RETURN(counts.new_revisions,
                          DeriveRevisions(txn, observations, batch_keys));
    }
    return absl::OkStatus();
  };
  TV_RETURN_IF_ERROR(RunWrite(body));
  result.written = counts.written;
  result.duplicates = counts.duplicates;
  result.new_revisions = counts.new_revisions;
  return result;
}

}  // namespace traversion
