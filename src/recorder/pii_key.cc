#include "recorder/pii_key.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace traversion::recorder_internal {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  const int e = errno;
  const std::string message = absl::StrCat(what, " ", path, ": ", strerror(e));
  if (e == EACCES || e == EPERM || e == EROFS) {
    return absl::PermissionDeniedError(message);
  }
  return absl::InternalError(message);
}

absl::StatusOr<std::string> ReadKey(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  std::string key(kPiiKeyBytes + 1, '\0');
  size_t got = 0;
  while (got < key.size()) {
    const ssize_t n = read(fd, key.data() + got, key.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status status = Errno("cannot read", path);
      close(fd);
      return status;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  if (got != kPiiKeyBytes) {
    return absl::DataLossError(absl::StrCat(
        path, ": a PII key must be ", kPiiKeyBytes, " bytes, found ", got));
  }
  key.resize(kPiiKeyBytes);
  return key;
}

absl::Status WriteAll(int fd, const char* data, size_t n,
                      const std::string& path) {
  while (n > 0) {
    const ssize_t w = write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Errno("cannot write", path);
    data += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> LoadOrCreatePiiKey(const std::string& store_dir) {
  const std::string path = store_dir + "/pii.key";
  if (access(path.c_str(), F_OK) == 0) return ReadKey(path);

  std::string key(kPiiKeyBytes, '\0');
  size_t got = 0;
  while (got < key.size()) {
    const ssize_t n = getrandom(key.data() + got, key.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("getrandom failed for", path);
    got += static_cast<size_t>(n);
  }
  std::string tmp = path + ".XXXXXX";
  const int fd = mkostemp(tmp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) return Errno("cannot create", tmp);
  absl::Status status = WriteAll(fd, key.data(), key.size(), tmp);
  if (status.ok() && fsync(fd) != 0) status = Errno("cannot sync", tmp);
  close(fd);
  // link() fails with EEXIST if another recorder got there first: then its
  // key is the key.
  if (status.ok() && link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    status = Errno("cannot create", path);
  }
  unlink(tmp.c_str());
  if (!status.ok()) return status;
  return ReadKey(path);
}

}  // namespace traversion::recorder_internal
