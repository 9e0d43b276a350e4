// Thin move-only RAII wrappers over the LMDB C API, and the mapping of LMDB
// return codes to absl::Status. Expected outcomes (MDB_NOTFOUND) are values;
// real failures carry LMDB's message.
#ifndef TRAVERSION_STORE_LMDB_H_
#define TRAVERSION_STORE_LMDB_H_

#include <lmdb.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace traversion::store {

// Converts an LMDB or errno return code into a Status whose message starts
// with `context`. rc == 0 gives OK.
absl::Status LmdbError(int rc, absl::string_view context);

inline MDB_val ToVal(absl::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline MDB_val ToVal(const void* data, size_t size) {
  return MDB_val{size, const_cast<void*>(data)};
}
inline absl::string_view FromVal(const MDB_val& v) {
  return absl::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}
inline const uint8_t* Bytes(const MDB_val& v) {
  return static_cast<const uint8_t*>(v.mv_data);
}

// A transaction; the destructor aborts it unless Commit() was called.
class Txn {
 public:
  Txn() = default;
  explicit Txn(MDB_txn* txn) : txn_(txn) {}
  Txn(Txn&& other) noexcept : txn_(other.txn_) { other.txn_ = nullptr; }
  Txn& operator=(Txn&& other) noexcept {
    if (this != &other) {
      Abort();
      txn_ = other.txn_;
      other.txn_ = nullptr;
    }
    return *this;
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() { Abort(); }

  MDB_txn* get() const { return txn_; }
  explicit operator bool() const { return txn_ != nullptr; }

  // The handle is cleared before calling LMDB: a failed commit has already
  // freed the transaction.
  int Commit() {
    MDB_txn* txn = txn_;
    txn_ = nullptr;
    return mdb_txn_commit(txn);
  }
  void Abort() {
    if (txn_ != nullptr) {
      mdb_txn_abort(txn_);
      txn_ = nullptr;
    }
  }

 private:
  MDB_txn* txn_ = nullptr;
};

// A cursor; closed by the destructor. Must not outlive its transaction.
class Cursor {
 public:
  Cursor() = default;
  Cursor(Cursor&& other) noexcept : cursor_(other.cursor_) {
    other.cursor_ = nullptr;
  }
  Cursor& operator=(Cursor&& other) noexcept {
    if (this != &other) {
      Close();
      cursor_ = other.cursor_;
      other.cursor_ = nullptr;
    }
    return *this;
  }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor() { Close(); }

  int Open(MDB_txn* txn, MDB_dbi dbi) {
    Close();
    return mdb_cursor_open(txn, dbi, &cursor_);
  }
  void Close() {
    if (cursor_ != nullptr) {
      mdb_cursor_close(cursor_);
      cursor_ = nullptr;
    }
  }
  MDB_cursor* get() const { return cursor_; }
  int Get(MDB_val* key, MDB_val* value, MDB_cursor_op op) {
    return mdb_cursor_get(cursor_, key, value, op);
  }
  int Put(MDB_val* key, MDB_val* value, unsigned flags) {
    return mdb_cursor_put(cursor_, key, value, flags);
  }
  int Del() { return mdb_cursor_del(cursor_, 0); }

 private:
  MDB_cursor* cursor_ = nullptr;
};

}  // namespace traversion::store

#endif  // TRAVERSION_STORE_LMDB_H_
