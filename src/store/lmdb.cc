#include "store/lmdb.h"

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace traversion::store {

absl::Status LmdbError(int rc, absl::string_view context) {
  if (rc == MDB_SUCCESS) return absl::OkStatus();
  std::string msg = absl::StrCat(context, ": ", mdb_strerror(rc));
  switch (rc) {
    case MDB_NOTFOUND:
      return absl::NotFoundError(msg);
    case MDB_MAP_FULL:
      return absl::ResourceExhaustedError(
          absl::StrCat(msg,
                       " (the store's map is full and may not grow; raise "
                       "StoreOptions::initial_map_size or allow_map_growth)"));
    case ENOSPC:
      return absl::ResourceExhaustedError(
          absl::StrCat(msg, " (the disk is full)"));
    case EDQUOT:
      return absl::ResourceExhaustedError(
          absl::StrCat(msg, " (disk quota exceeded)"));
    case MDB_TXN_FULL:
    case MDB_READERS_FULL:
    case MDB_DBS_FULL:
    case MDB_CURSOR_FULL:
    case MDB_PAGE_FULL:
      return absl::ResourceExhaustedError(msg);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_BAD_TXN:
      return absl::DataLossError(
          absl::StrCat(msg, " (the store file is corrupt or not LMDB)"));
    case MDB_VERSION_MISMATCH:
      return absl::FailedPreconditionError(
          absl::StrCat(msg, " (written by an incompatible LMDB version)"));
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case EAGAIN:
    case EBUSY:
      return absl::UnavailableError(msg);
    default:
      return absl::InternalError(msg);
  }
}

}  // namespace traversion::store
