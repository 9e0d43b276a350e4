// Helpers for tests that use real processes, pipes and mounts: forked
// children with bounded waits, line-oriented pipes between them, tmpfs and
// read-only bind mounts that are undone when the test ends, and the tags that
// let a test recognise its own events after a crash.
//
// Fork discipline: a child must not touch anything the parent opened (a
// Store, an LMDB environment). Open stores only inside the child, or in the
// parent after every child that used them has died.
#ifndef TRAVERSION_TESTS_SUPPORT_PROCESS_SUPPORT_H_
#define TRAVERSION_TESTS_SUPPORT_PROCESS_SUPPORT_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "traversion/event.h"

namespace traversion::testing {

// How a child process ended.
struct ChildExit {
  bool exited = false;  // true: exit code in `code`; false: killed by `signal`
  int code = 0;
  int signal = 0;

  bool ok() const { return exited && code == 0; }
  bool killed_by(int sig) const { return !exited && signal == sig; }
  // "exit 3" or "signal 9 (Killed)".
  std::string ToString() const;
};

// A forked child running a function whose result is its exit code. The
// destructor SIGKILLs and reaps a child still running, so a failing test
// never leaves processes behind.
class ChildProcess {
 public:
  // Exit code of a child whose body threw.
  static constexpr int kExceptionExit = 101;

  // Forks. The child ignores SIGPIPE, runs `body` and _exit()s with its
  // result (no atexit handlers, no stdio flush of the parent's buffers).
  static ChildProcess Start(std::function<int()> body);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exit_.has_value(); }
  // Sends `sig` if the child has not been reaped yet.
  void Kill(int sig);
  // Waits for the child to end; nullopt if it is still running at the
  // deadline.
  std::optional<ChildExit> Wait(absl::Duration timeout);
  // Kill(SIGKILL) then wait.
  ChildExit KillAndWait();

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<ChildExit> exit_;
};

// A pipe carrying newline-terminated text lines. Both ends are close-on-exec.
// After fork, each side closes the end it does not use.
class LinePipe {
 public:
  LinePipe();
  ~LinePipe();
  LinePipe(const LinePipe&) = delete;
  LinePipe& operator=(const LinePipe&) = delete;

  void CloseReadEnd();
  void CloseWriteEnd();

  // Writes `line` and a newline in one write(2) (atomic for short lines).
  // False on error (EPIPE when the reader died).
  bool WriteLine(absl::string_view line);

  enum class Read { kLine, kEof, kTimeout, kError };
  // Reads the next line (without its newline).
  Read ReadLine(std::string* line, absl::Duration timeout);

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
  std::string buffer_;
};

// Puts this process into its own mount namespace with private propagation,
// so that mounts made by the test vanish when the process ends, even if it
// crashes. Not an error if it is not permitted (the mounts are then visible
// to the host and ScopedMount's destructor is what removes them).
absl::Status EnterPrivateMountNamespace();

// A mount that is detached when the object dies.
class ScopedMount {
 public:
  // A tmpfs of `size_bytes` on the existing directory `dir`.
  static absl::StatusOr<std::unique_ptr<ScopedMount>> Tmpfs(
      const std::string& dir, uint64_t size_bytes);
  // `source` made visible read-only at the existing directory `target`.
  static absl::StatusOr<std::unique_ptr<ScopedMount>> ReadOnlyBind(
      const std::string& source, const std::string& target);

  ~ScopedMount();
  ScopedMount(const ScopedMount&) = delete;
  ScopedMount& operator=(const ScopedMount&) = delete;

  // Grows or shrinks a tmpfs mount.
  absl::Status ResizeTmpfs(uint64_t size_bytes);
  const std::string& target() const { return target_; }

 private:
  explicit ScopedMount(std::string target) : target_(std::move(target)) {}
  std::string target_;
};

// --- tagged events
// ------------------------------------------------------------

// The integer attribute `key` of `event`, or nullopt if absent or not an
// integer. Crash and multi-process tests tag every event with the batch and
// position that produced it, then count tags after reopening the store.
std::optional<int64_t> IntAttribute(const Event& event, absl::string_view key);

// Mode bits (permission part only) of `path`, or -1 if stat fails.
int FileMode(const std::string& path);

}  // namespace traversion::testing

#endif  // TRAVERSION_TESTS_SUPPORT_PROCESS_SUPPORT_H_
