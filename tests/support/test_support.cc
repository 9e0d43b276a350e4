#include "support/test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <stdexcept>

namespace traversion::testing {

ScratchDir::ScratchDir() {
  const char* tmp = getenv("TMPDIR");
  std::string pattern =
      std::string(tmp && *tmp ? tmp : "/tmp") + "/tv-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed for " + pattern);
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

TraceId MakeTraceId(uint64_t n) {
  TraceId id{};
  for (int i = 0; i < 8; ++i) id[15 - i] = static_cast<uint8_t>(n >> (8 * i));
  id[0] = 0x7e;  // never all-zero
  return id;
}

SpanId MakeSpanId(uint64_t n) {
  SpanId id{};
  for (int i = 0; i < 8; ++i) id[7 - i] = static_cast<uint8_t>(n >> (8 * i));
  return id;
}

Event MakeSpan(const std::string& service, uint64_t time_ns, uint64_t trace,
               uint64_t span, uint64_t parent_span, const std::string& name) {
  Event e;
  e.time_ns = time_ns;
  e.source = "test";
  e.service.name = service;
  e.name = name;
  e.severity = Severity::kInfo;
  e.trace.trace_id = MakeTraceId(trace);
  e.trace.span_id = MakeSpanId(span);
  if (parent_span != 0) e.trace.parent_span_id = MakeSpanId(parent_span);
  SpanData s;
  s.kind = SpanKind::kServer;
  s.duration_ns = 1'000'000;
  s.status = SpanStatus::kOk;
  e.payload = s;
  return e;
}

Event MakeLog(const std::string& service, uint64_t time_ns, Severity severity,
              const std::string& body) {
  Event e;
  e.time_ns = time_ns;
  e.source = "test";
  e.service.name = service;
  e.severity = severity;
  LogData l;
  l.body = body;
  e.payload = l;
  return e;
}

Event MakeError(const std::string& service, uint64_t time_ns,
                const std::string& type, const std::string& message) {
  Event e;
  e.time_ns = time_ns;
  e.source = "test";
  e.service.name = service;
  e.severity = Severity::kError;
  e.name = type;
  ErrorData err;
  err.exception_type = type;
  err.message = message;
  e.payload = err;
  return e;
}

Event MakeMetric(const std::string& service, uint64_t time_ns,
                 const std::string& name, double value) {
  Event e;
  e.time_ns = time_ns;
  e.source = "test";
  e.service.name = service;
  e.name = name;
  MetricData m;
  m.kind = MetricKind::kGauge;
  m.value = value;
  e.payload = m;
  return e;
}

Event MakeEntityState(const std::string& service, uint64_t time_ns,
                      const std::string& entity,
                      std::vector<EntityField> fields, bool deleted) {
  Event e;
  e.time_ns = time_ns;
  e.source = "test";
  e.service.name = service;
  e.name = "state";
  EntityStateData s;
  s.entity = entity;
  s.entity_type = "connection_pool";
  s.fields = std::move(fields);
  s.deleted = deleted;
  e.payload = std::move(s);
  return e;
}

int RunCommand(const std::string& cmd, std::string* output) {
  std::string full = cmd + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  output->clear();
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output->append(buf, n);
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace traversion::testing
