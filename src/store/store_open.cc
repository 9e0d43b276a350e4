// Opening a store: the LMDB environment, format checks, map growth,
// transactions and statistics.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "store/store_impl.h"
#include "util/status_macros.h"

namespace traversion {

using store::Cursor;
using store::LmdbError;
using store::ToVal;
using store::Txn;

namespace {

// One Store per directory per process: LMDB forbids opening the same
// environment twice in a process (its locks are per process).
std::mutex registry_mu;  // a std::mutex: see TxnGate
absl::flat_hash_set<std::string>& OpenPaths() {
  static auto* paths = new absl::flat_hash_set<std::string>();
  return *paths;
}

constexpr char kFormatKey[] = "format_version";

bool DirectoryIsWritable(const std::string& dir) {
  // access() says yes to root even on a read-only mount; try for real.
  std::string probe = dir + "/.traversion-write-probe";
  int fd = ::open(probe.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0600);
  if (fd < 0) return errno == EEXIST;
  ::close(fd);
  ::unlink(probe.c_str());
  return true;
}

}  // namespace

void TxnGate::Enter() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return !resizing_; });
  ++open_;
}

void TxnGate::Exit() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--open_ == 0) changed_.notify_all();
}

absl::StatusOr<std::unique_ptr<Store::Impl>> Store::Impl::Open(
    const std::string& path, const StoreOptions& options) {
  std::unique_ptr<Impl> impl(new Impl());
  impl->path_ = path;
  impl->options_ = options;
  impl->clock_ = options.clock != nullptr ? options.clock : Clock::Real();

  std::error_code ec;
  const bool exists = std::filesystem::exists(path + "/data.mdb", ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot look into store directory '", path, "': ", ec.message()));
  }
  if (!exists) {
    if (!options.create_if_missing || options.read_only) {
      return absl::NotFoundError(
          absl::StrCat("no Traversion store at '", path, "'"));
    }
    std::filesystem::create_directories(path, ec);
    if (ec) {
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot create store directory '", path, "': ", ec.message()));
    }
    ::chmod(path.c_str(), 0700);
  }
  std::string canonical = std::filesystem::canonical(path, ec).string();
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("cannot resolve '", path, "': ", ec.message()));
  }
  {
    std::lock_guard<std::mutex> lock(registry_mu);
    if (!OpenPaths().insert(canonical).second) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store '", path,
          "' is already open in this process; share that Store instead"));
    }
  }
  impl->registry_key_ = canonical;
  TV_RETURN_IF_ERROR(impl->OpenEnvironment());
  TV_RETURN_IF_ERROR(impl->InitializeOrCheckFormat());
  return impl;
}

Store::Impl::~Impl() {
  if (env_ != nullptr) mdb_env_close(env_);
  if (!registry_key_.empty()) {
    std::lock_guard<std::mutex> lock(registry_mu);
    OpenPaths().erase(registry_key_);
  }
}

absl::Status Store::Impl::OpenEnvironment() {
  int rc = mdb_env_create(&env_);
  if (rc != 0) return LmdbError(rc, "mdb_env_create");
  mdb_env_set_maxdbs(env_, 32);
  mdb_env_set_maxreaders(env_, options_.max_readers);
  rc = mdb_env_set_mapsize(env_, options_.initial_map_size);
  if (rc != 0) return LmdbError(rc, "setting the map size");

  // NOTLS: read transactions are not tied to threads, so a cursor can move
  // between threads and a thread can hold several.
  unsigned flags = MDB_NOTLS;
  switch (options_.sync) {
    case SyncMode::kDurable:
      break;
    case SyncMode::kNoMetaSync:
      flags |= MDB_NOMETASYNC;
      break;
    case SyncMode::kNoSync:
      flags |= MDB_NOSYNC;
      break;
  }
  if (options_.read_only) {
    flags |= MDB_RDONLY;
    // A copy on read-only media has no lock file and cannot get one; without
    // locks LMDB is safe as long as nobody writes, which read-only media
    // guarantees.
    if (!DirectoryIsWritable(path_)) flags |= MDB_NOLOCK;
  }
  if (!options_.read_only) {
    TV_RETURN_IF_ERROR(PreallocateLockFile());
  }
  rc = mdb_env_open(env_, path_.c_str(), flags, 0600);
  if (rc != 0) {
    absl::Status st =
        LmdbError(rc, absl::StrCat("opening store '", path_, "'"));
    mdb_env_close(env_);
    env_ = nullptr;
    return st;
  }
  // Clear reader slots left by processes that died holding a transaction.
  int dead = 0;
  mdb_reader_check(env_, &dead);
  return CheckNotTruncated();
}

absl::Status Store::Impl::PreallocateLockFile() const {
  // LMDB sizes lock.mdb with ftruncate and writes it through a shared map;
  // on a full disk the first write to a sparse page kills the process with
  // SIGBUS. Reserving the blocks first turns that into an error here.
  const std::string lock = path_ + "/lock.mdb";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return absl::OkStatus();  // made earlier, allocated
    return LmdbError(errno, absl::StrCat("creating '", lock, "'"));
  }
  // The reader table: a header plus one 64-byte slot per reader, rounded up
  // generously (LMDB's own computation is about the same).
  const off_t size =
      static_cast<off_t>(64 * 1024 + uint64_t{options_.max_readers} * 64);
  const int err = ::posix_fallocate(fd, 0, size);
  ::close(fd);
  if (err != 0) {
    ::unlink(lock.c_str());
    return LmdbError(err, absl::StrCat("reserving space for '", lock, "'"));
  }
  return absl::OkStatus();
}

absl::Status Store::Impl::CheckNotTruncated() const {
  // Pages past the end of the file would be read through the map and raise
  // SIGBUS; a copy that stopped half way must be an error instead.
  MDB_envinfo info;
  MDB_stat st;
  if (mdb_env_info(env_, &info) != 0 || mdb_env_stat(env_, &st) != 0) {
    return absl::OkStatus();
  }
  struct stat file_stat;
  if (::stat((path_ + "/data.mdb").c_str(), &file_stat) != 0) {
    return absl::OkStatus();
  }
  const uint64_t needed = (uint64_t{info.me_last_pgno} + 1) * st.ms_psize;
  if (static_cast<uint64_t>(file_stat.st_size) < needed) {
    return absl::DataLossError(absl::StrCat(
        "store '", path_, "' is truncated: data.mdb has ", file_stat.st_size,
        " bytes but its pages reach ", needed, " (an interrupted copy?)"));
  }
  return absl::OkStatus();
}

absl::Status Store::Impl::InitializeOrCheckFormat() {
  // A read-only store must already have every table.
  const unsigned create = options_.read_only ? 0 : MDB_CREATE;
  Txn txn;
  {
    MDB_txn* raw = nullptr;
    int rc =
        mdb_txn_begin(env_, nullptr, options_.read_only ? MDB_RDONLY : 0, &raw);
    if (rc != 0) return LmdbError(rc, "starting the opening transaction");
    txn = Txn(raw);
  }
  // Is this an LMDB environment we made? Decide before creating anything,
  // so that refusing leaves a foreign environment untouched.
  MDB_dbi meta;
  bool fresh = false;
  int rc = mdb_dbi_open(txn.get(), "meta", 0, &meta);
  if (rc == MDB_NOTFOUND) {
    MDB_dbi main;
    MDB_stat st;
    if (mdb_dbi_open(txn.get(), nullptr, 0, &main) == 0 &&
        mdb_stat(txn.get(), main, &st) == 0 && st.ms_entries > 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "'", path_, "' is an LMDB environment but not a Traversion store"));
    }
    if (options_.read_only) {
      return absl::NotFoundError(
          absl::StrCat("'", path_, "' holds no Traversion store yet"));
    }
    fresh = true;
  } else if (rc != 0) {
    return LmdbError(rc, "opening table meta");
  } else {
    MDB_val key = ToVal(absl::string_view(kFormatKey));
    MDB_val value;
    rc = mdb_get(txn.get(), meta, &key, &value);
    if (rc == MDB_NOTFOUND) {
      return absl::FailedPreconditionError(absl::StrCat(
          "'", path_, "' has no format version: not a Traversion store"));
    }
    if (rc != 0) return LmdbError(rc, "reading the format version");
    if (value.mv_size != 4) {
      return absl::DataLossError(
          absl::StrCat("'", path_, "': malformed format version record"));
    }
    const uint32_t version = coding::GetBigEndian32(store::Bytes(value));
    if (version > store::kFormatVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store '", path_, "' has format version ", version,
          ", newer than this build of Traversion supports (",
          store::kFormatVersion, "); upgrade libtraversion to read it"));
    }
    if (version == 0) {
      return absl::DataLossError(
          absl::StrCat("'", path_, "': invalid format version 0"));
    }
    if (version < store::kMinFormatVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store '", path_, "' has format version ", version,
          ", older than this build of Traversion reads (",
          store::kMinFormatVersion, " to ", store::kFormatVersion,
          "); export it with the build that wrote it and import it here"));
    }
  }
  for (int t = 0; t < store::kTableCount; ++t) {
    const char* name = store::TableName(static_cast<store::Table>(t));
    rc = mdb_dbi_open(txn.get(), name, create, &dbis_[t]);
    if (rc == MDB_NOTFOUND) {
      return absl::FailedPreconditionError(absl::StrCat(
          "'", path_, "' is not a complete Traversion store: table ", name,
          " is missing"));
    }
    if (rc != 0) return LmdbError(rc, absl::StrCat("opening table ", name));
  }
  if (fresh) {
    MDB_val key = ToVal(absl::string_view(kFormatKey));
    uint8_t buf[4];
    coding::PutBigEndian32(buf, store::kFormatVersion);
    MDB_val v = ToVal(buf, 4);
    rc = mdb_put(txn.get(), dbis_[store::kMeta], &key, &v, 0);
    if (rc != 0) return LmdbError(rc, "writing the format version");
  }
  // Commit even a read-only transaction: DBI handles opened in a transaction
  // that is aborted are closed with it.
  rc = txn.Commit();
  if (rc != 0) return LmdbError(rc, "initializing the store");
  return absl::OkStatus();
}

absl::Status Store::Impl::AdoptMapSizeFromOtherProcess() const {
  absl::Status status;
  gate_.Exclusive([&] {
    int rc = mdb_env_set_mapsize(env_, 0);
    if (rc != 0) status = LmdbError(rc, "adopting the grown map size");
  });
  return status;
}

absl::StatusOr<ReadTxn> Store::Impl::BeginRead() const {
  for (int attempt = 0; attempt < 3; ++attempt) {
    gate_.Enter();
    MDB_txn* raw = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &raw);
    if (rc == 0) {
      ReadTxn txn;
      txn.txn_ = Txn(raw);
      txn.gate_ = &gate_;
      return txn;
    }
    gate_.Exit();
    if (rc != MDB_MAP_RESIZED) return LmdbError(rc, "starting a read");
    TV_RETURN_IF_ERROR(AdoptMapSizeFromOtherProcess());
  }
  return absl::UnavailableError("the map kept being resized; retry");
}

absl::Status Store::Impl::GrowMap() {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  const uint64_t current = info.me_mapsize;
  if (!options_.allow_map_growth || current >= options_.max_map_size) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the store's map is full at ", current, " bytes and may not grow",
        options_.allow_map_growth
            ? " past StoreOptions::max_map_size"
            : " (StoreOptions::allow_map_growth is off)"));
  }
  const uint64_t next = std::min(current * 2, options_.max_map_size);
  absl::Status status;
  gate_.Exclusive([&] {
    int rc = mdb_env_set_mapsize(env_, next);
    if (rc != 0) status = LmdbError(rc, "growing the map");
  });
  return status;
}

absl::Status Store::Impl::RunWrite(
    const std::function<absl::Status(MDB_txn*)>& body,
    const std::function<void()>& on_commit) {
  if (options_.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat("store '", path_, "' is open read-only"));
  }
  for (int attempt = 0; attempt < 64; ++attempt) {
    gate_.Enter();
    MDB_txn* raw = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &raw);
    if (rc == MDB_MAP_RESIZED) {
      gate_.Exit();
      TV_RETURN_IF_ERROR(AdoptMapSizeFromOtherProcess());
      continue;
    }
    if (rc != 0) {
      gate_.Exit();
      return LmdbError(rc, "starting a write");
    }
    Txn txn(raw);
    absl::Status status = body(txn.get());
    bool map_full = false;
    if (status.ok()) {
      rc = txn.Commit();
      if (rc == 0) {
        gate_.Exit();
        CommitPendingNames();
        if (on_commit) on_commit();
        return absl::OkStatus();
      }
      map_full = rc == MDB_MAP_FULL;
      status = CommitError(rc);
    } else {
      map_full = absl::IsResourceExhausted(status) &&
                 absl::StrContains(status.message(), "MDB_MAP_FULL");
      txn.Abort();
    }
    gate_.Exit();
    DropPendingNames();
    if (!map_full) return status;
    TV_RETURN_IF_ERROR(GrowMap());
  }
  return absl::ResourceExhaustedError("the map could not be grown enough");
}

absl::Status Store::Impl::CommitError(int rc) const {
  // LMDB reports a short write as EIO; on a full file system that is the
  // disk-full case, which callers should see as such.
  if (rc == EIO) {
    struct statvfs fs;
    if (::statvfs(path_.c_str(), &fs) == 0 &&
        uint64_t{fs.f_bavail} * fs.f_frsize < (uint64_t{4} << 20)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "committing to '", path_,
          "': no space left on the device (the disk is full); nothing of "
          "this batch was committed"));
    }
  }
  return LmdbError(rc, "committing");
}

absl::Status Store::Impl::Sync() {
  int rc = mdb_env_sync(env_, 1);
  return LmdbError(rc, "syncing the store");
}

absl::StatusOr<StoreStats> Store::Impl::Stats() const {
  TV_ASSIGN_OR_RETURN(ReadTxn txn, BeginRead());
  StoreStats stats;
  MDB_val key = ToVal(absl::string_view(kFormatKey));
  MDB_val value;
  if (mdb_get(txn.get(), dbis_[store::kMeta], &key, &value) == 0 &&
      value.mv_size == 4) {
    stats.format_version = coding::GetBigEndian32(store::Bytes(value));
  }
  MDB_val rkey = ToVal(absl::string_view("revision"));
  if (mdb_get(txn.get(), dbis_[store::kMeta], &rkey, &value) == 0 &&
      value.mv_size == 8) {
    stats.current_revision = coding::GetBigEndian64(store::Bytes(value));
  }
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  stats.map_size_bytes = info.me_mapsize;
  for (int t = 0; t < store::kTableCount; ++t) {
    MDB_stat st;
    int rc = mdb_stat(txn.get(), dbis_[t], &st);
    if (rc != 0) return LmdbError(rc, "reading table statistics");
    stats.tables.emplace_back(store::TableName(static_cast<store::Table>(t)),
                              st.ms_entries);
    stats.live_bytes +=
        uint64_t{st.ms_psize} *
        (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages);
    if (t == store::kEvents) stats.events = st.ms_entries;
    if (t == store::kEntities) stats.entities = st.ms_entries;
    if (t == store::kEntRev) stats.revisions = st.ms_entries;
  }
  Cursor cursor;
  int rc = cursor.Open(txn.get(), dbis_[store::kEvents]);
  if (rc != 0) return LmdbError(rc, "opening a cursor");
  MDB_val k, v;
  if (cursor.Get(&k, &v, MDB_FIRST) == 0 && k.mv_size == 16) {
    stats.first_event_ns = store::KeyTime(store::Bytes(k));
  }
  if (cursor.Get(&k, &v, MDB_LAST) == 0 && k.mv_size == 16) {
    stats.last_event_ns = store::KeyTime(store::Bytes(k));
  }
  // Services: the names table, service kind, short and long forms.
  rc = cursor.Open(txn.get(), dbis_[store::kIds]);
  if (rc != 0) return LmdbError(rc, "opening a cursor");
  uint8_t prefix = static_cast<uint8_t>(store::NameKind::kService);
  k = ToVal(&prefix, 1);
  for (rc = cursor.Get(&k, &v, MDB_SET_RANGE);
       rc == 0 && k.mv_size == 9 && store::Bytes(k)[0] == prefix;
       rc = cursor.Get(&k, &v, MDB_NEXT)) {
    stats.services.emplace_back(store::FromVal(v));
  }
  std::sort(stats.services.begin(), stats.services.end());
  struct stat file_stat;
  if (::stat((path_ + "/data.mdb").c_str(), &file_stat) == 0) {
    stats.file_bytes = static_cast<uint64_t>(file_stat.st_size);
  }
  return stats;
}

}  // namespace traversion
