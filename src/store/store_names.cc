// Interned names: services and entities get small integer ids so that keys
// stay short and fixed-width, and names of any length work (LMDB keys are
// limited to 511 bytes, so long names are keyed by a 128-bit hash and
// verified against the full name stored in the value).
#include <lmdb.h>

#include "absl/strings/str_cat.h"
#include "store/store_impl.h"
#include "util/coding.h"
#include "util/status_macros.h"

namespace traversion {

using store::LmdbError;
using store::NameKind;
using store::ToVal;

namespace {

// At most this many names are cached in memory (~100 MB of short names).
constexpr size_t kMaxCachedNames = 1 << 20;

std::string NameKey(NameKind kind, absl::string_view name) {
  const uint8_t tag = static_cast<uint8_t>(kind);
  return store::NameOrHashKey(tag, tag | 0x80, name);
}

std::string CacheKey(NameKind kind, absl::string_view name) {
  std::string key;
  key.reserve(1 + name.size());
  key.push_back(static_cast<char>(kind));
  key.append(name.data(), name.size());
  return key;
}

std::string IdKey(NameKind kind, uint64_t id) {
  std::string key(1, static_cast<char>(kind));
  coding::AppendBigEndian64(&key, id);
  return key;
}

}  // namespace

absl::StatusOr<std::optional<uint64_t>> Store::Impl::FindNameId(
    MDB_txn* txn, NameKind kind, absl::string_view name) const {
  const std::string cache_key = CacheKey(kind, name);
  {
    std::lock_guard<std::mutex> lock(names_mu_);
    auto it = name_to_id_.find(cache_key);
    if (it != name_to_id_.end()) return it->second;
  }
  const std::string key = NameKey(kind, name);
  MDB_val k = ToVal(key);
  MDB_val v;
  int rc = mdb_get(txn, dbis_[store::kNames], &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) return LmdbError(rc, "looking up a name");
  if (v.mv_size < 8) return absl::DataLossError("malformed name record");
  const uint64_t id = coding::GetBigEndian64(store::Bytes(v));
  if (name.size() > store::kMaxInlineName &&
      store::FromVal(v).substr(8) != name) {
    return absl::InternalError(
        absl::StrCat("128-bit hash collision between two names of ",
                     name.size(), " bytes; shorten one of them"));
  }
  return id;
}

absl::StatusOr<uint64_t> Store::Impl::InternName(MDB_txn* txn, NameKind kind,
                                                 absl::string_view name) {
  TV_ASSIGN_OR_RETURN(std::optional<uint64_t> found,
                      FindNameId(txn, kind, name));
  if (found.has_value()) {
    std::lock_guard<std::mutex> lock(names_mu_);
    // Not cached yet (read from disk): cache once this transaction commits.
    if (!name_to_id_.contains(CacheKey(kind, name))) {
      pending_names_.emplace(CacheKey(kind, name), *found);
    }
    return *found;
  }
  // Allocate the next id of this kind.
  const std::string counter_key =
      absl::StrCat("next_id/", static_cast<int>(kind));
  MDB_val ck = ToVal(counter_key);
  MDB_val cv;
  uint64_t id = 1;
  int rc = mdb_get(txn, dbis_[store::kMeta], &ck, &cv);
  if (rc == 0 && cv.mv_size == 8) {
    id = coding::GetBigEndian64(store::Bytes(cv));
  } else if (rc != 0 && rc != MDB_NOTFOUND) {
    return LmdbError(rc, "reading an id counter");
  }
  if (kind == NameKind::kService && id > 0xffffffffULL) {
    return absl::ResourceExhaustedError("more than 2^32 services");
  }
  uint8_t next[8];
  coding::PutBigEndian64(next, id + 1);
  MDB_val nv = ToVal(next, 8);
  rc = mdb_put(txn, dbis_[store::kMeta], &ck, &nv, 0);
  if (rc != 0) return LmdbError(rc, "writing an id counter");

  const std::string key = NameKey(kind, name);
  const std::string value = store::IdAndLongName(id, name);
  MDB_val k = ToVal(key);
  MDB_val v = ToVal(value);
  rc = mdb_put(txn, dbis_[store::kNames], &k, &v, MDB_NOOVERWRITE);
  if (rc != 0) return LmdbError(rc, "interning a name");
  const std::string id_key = IdKey(kind, id);
  MDB_val ik = ToVal(id_key);
  MDB_val iv = ToVal(name);
  rc = mdb_put(txn, dbis_[store::kIds], &ik, &iv, 0);
  if (rc != 0) return LmdbError(rc, "interning a name");
  std::lock_guard<std::mutex> lock(names_mu_);
  pending_names_.emplace(CacheKey(kind, name), id);
  return id;
}

absl::StatusOr<std::string> Store::Impl::NameOf(MDB_txn* txn, NameKind kind,
                                                uint64_t id) const {
  if (kind == NameKind::kService) {
    if (id == 0) return std::string();
    std::lock_guard<std::mutex> lock(names_mu_);
    auto it = service_names_.find(id);
    if (it != service_names_.end()) return it->second;
  }
  const std::string key = IdKey(kind, id);
  MDB_val k = ToVal(key);
  MDB_val v;
  int rc = mdb_get(txn, dbis_[store::kIds], &k, &v);
  if (rc == MDB_NOTFOUND) {
    return absl::DataLossError(absl::StrCat("name id ", id, " is unknown"));
  }
  if (rc != 0) return LmdbError(rc, "reading a name");
  std::string name(store::FromVal(v));
  if (kind == NameKind::kService) {
    std::lock_guard<std::mutex> lock(names_mu_);
    service_names_.emplace(id, name);
  }
  return name;
}

void Store::Impl::CommitPendingNames() {
  std::lock_guard<std::mutex> lock(names_mu_);
  // Bounded: entity names can be unbounded in number (an order id per
  // order), and a miss costs one B-tree seek, so past the cap the cache
  // simply stops growing.
  for (auto& [key, id] : pending_names_) {
    if (name_to_id_.size() >= kMaxCachedNames) break;
    name_to_id_.emplace(key, id);
  }
  pending_names_.clear();
}

void Store::Impl::DropPendingNames() {
  std::lock_guard<std::mutex> lock(names_mu_);
  pending_names_.clear();
}

}  // namespace traversion
