#include "support/process_support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <utility>

#include "absl/strings/str_cat.h"

namespace traversion::testing {
namespace {

ChildExit DecodeWaitStatus(int status) {
  ChildExit e;
  if (WIFEXITED(status)) {
    e.exited = true;
    e.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    e.signal = WTERMSIG(status);
  }
  return e;
}

absl::Status ErrnoError(absl::string_view what, int err) {
  return absl::ErrnoToStatus(err, what);
}

}  // namespace

std::string ChildExit::ToString() const {
  if (exited) return absl::StrCat("exit ", code);
  return absl::StrCat("signal ", signal, " (", strsignal(signal), ")");
}

ChildProcess ChildProcess::Start(std::function<int()> body) {
  // Unflushed parent output would otherwise be printed twice if the child
  // ever flushed it.
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    signal(SIGPIPE, SIG_IGN);
    int code = kExceptionExit;
    try {
      code = body();
    } catch (const std::exception& e) {
      fprintf(stderr, "child %d threw: %s\n", getpid(), e.what());
    } catch (...) {
      fprintf(stderr, "child %d threw a non-std exception\n", getpid());
    }
    _exit(code);
  }
  return ChildProcess(pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), exit_(std::move(other.exit_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (running()) KillAndWait();
    pid_ = std::exchange(other.pid_, -1);
    exit_ = std::move(other.exit_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (running()) KillAndWait();
}

void ChildProcess::Kill(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<ChildExit> ChildProcess::Wait(absl::Duration timeout) {
  if (exit_.has_value()) return exit_;
  if (pid_ <= 0) return std::nullopt;
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration nap = absl::Microseconds(50);
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_ = DecodeWaitStatus(status);
      return exit_;
    }
    if (r < 0 && errno != EINTR) {
      // Not our child any more (already reaped elsewhere): report as lost.
      ChildExit lost;
      lost.exited = true;
      lost.code = -1;
      exit_ = lost;
      return exit_;
    }
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(nap);
    nap = std::min(nap * 2, absl::Milliseconds(5));
  }
}

ChildExit ChildProcess::KillAndWait() {
  Kill(SIGKILL);
  std::optional<ChildExit> e = Wait(absl::Seconds(30));
  if (!e.has_value()) {
    throw std::runtime_error(
        absl::StrCat("child ", pid_, " survived SIGKILL for 30 s"));
  }
  return *e;
}

LinePipe::LinePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(absl::StrCat("pipe2: ", strerror(errno)));
  }
  read_fd_ = fds[0];
  write_fd_ = fds[1];
}

LinePipe::~LinePipe() {
  CloseReadEnd();
  CloseWriteEnd();
}

void LinePipe::CloseReadEnd() {
  if (read_fd_ >= 0) ::close(read_fd_);
  read_fd_ = -1;
}

void LinePipe::CloseWriteEnd() {
  if (write_fd_ >= 0) ::close(write_fd_);
  write_fd_ = -1;
}

bool LinePipe::WriteLine(absl::string_view line) {
  if (write_fd_ < 0) return false;
  std::string data = absl::StrCat(line, "\n");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(write_fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

LinePipe::Read LinePipe::ReadLine(std::string* line, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      line->assign(buffer_, 0, nl);
      buffer_.erase(0, nl + 1);
      return Read::kLine;
    }
    if (read_fd_ < 0) return Read::kError;
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return Read::kTimeout;
    pollfd pfd{read_fd_, POLLIN, 0};
    int wait_ms = static_cast<int>(
        std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60'000));
    int r = ::poll(&pfd, 1, wait_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Read::kError;
    }
    if (r == 0) continue;  // the deadline check above ends the wait
    char buf[4096];
    ssize_t n = ::read(read_fd_, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Read::kError;
    }
    if (n == 0) {
      // A partial last line (the writer died mid-write) is not a line.
      return Read::kEof;
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

absl::Status EnterPrivateMountNamespace() {
  if (unshare(CLONE_NEWNS) != 0) {
    return ErrnoError("unshare(CLONE_NEWNS)", errno);
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return ErrnoError("making / private", errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ScopedMount>> ScopedMount::Tmpfs(
    const std::string& dir, uint64_t size_bytes) {
  std::string data = absl::StrCat("size=", size_bytes, ",mode=0755");
  if (mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
            data.c_str()) != 0) {
    return ErrnoError(absl::StrCat("mount -t tmpfs -o ", data, " ", dir),
                      errno);
  }
  return std::unique_ptr<ScopedMount>(new ScopedMount(dir));
}

absl::StatusOr<std::unique_ptr<ScopedMount>> ScopedMount::ReadOnlyBind(
    const std::string& source, const std::string& target) {
  if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoError(absl::StrCat("mount --bind ", source, " ", target),
                      errno);
  }
  auto bound = std::unique_ptr<ScopedMount>(new ScopedMount(target));
  // A bind mount only becomes read-only by a remount of the bind itself.
  if (mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY,
            nullptr) != 0) {
    return ErrnoError(absl::StrCat("remount,bind,ro ", target), errno);
  }
  return bound;
}

ScopedMount::~ScopedMount() {
  if (umount2(target_.c_str(), 0) != 0) {
    // Busy (a leaked descriptor): detach it so the directory can go.
    umount2(target_.c_str(), MNT_DETACH);
  }
}

absl::Status ScopedMount::ResizeTmpfs(uint64_t size_bytes) {
  std::string data = absl::StrCat("size=", size_bytes);
  if (mount(nullptr, target_.c_str(), nullptr, MS_REMOUNT, data.c_str()) != 0) {
    return ErrnoError(absl::StrCat("remount ", target_, " ", data), errno);
  }
  return absl::OkStatus();
}

std::optional<int64_t> IntAttribute(const Event& event, absl::string_view key) {
  const AttributeValue* v = event.FindAttribute(key);
  if (v == nullptr) return std::nullopt;
  if (const int64_t* i = std::get_if<int64_t>(v)) return *i;
  return std::nullopt;
}

int FileMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

}  // namespace traversion::testing
