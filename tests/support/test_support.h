// Shared helpers for the test suite: scratch directories and event builders.
#ifndef TRAVERSION_TESTS_SUPPORT_TEST_SUPPORT_H_
#define TRAVERSION_TESTS_SUPPORT_TEST_SUPPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "traversion/event.h"

namespace traversion::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when
// the object dies.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  // path()/name
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TraceId MakeTraceId(uint64_t n);
SpanId MakeSpanId(uint64_t n);

// A server span of `service` at `time_ns` in trace `trace`.
Event MakeSpan(const std::string& service, uint64_t time_ns, uint64_t trace,
               uint64_t span, uint64_t parent_span = 0,
               const std::string& name = "GET /orders");
Event MakeLog(const std::string& service, uint64_t time_ns, Severity severity,
              const std::string& body);
Event MakeError(const std::string& service, uint64_t time_ns,
                const std::string& type, const std::string& message);
Event MakeMetric(const std::string& service, uint64_t time_ns,
                 const std::string& name, double value);
Event MakeEntityState(const std::string& service, uint64_t time_ns,
                      const std::string& entity,
                      std::vector<EntityField> fields, bool deleted = false);

// Runs `cmd` with /bin/sh, returns its exit status and captures stdout+stderr.
int RunCommand(const std::string& cmd, std::string* output);

}  // namespace traversion::testing

#endif  // TRAVERSION_TESTS_SUPPORT_TEST_SUPPORT_H_
