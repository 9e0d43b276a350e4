// What failures look like in each language: exception names, messages and
// stack traces.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "scenario/simulator.h"
#include "scenario/topology.h"

namespace traversion::scenario {
namespace {

// A stable line number for a frame (FNV-1a; std::hash may differ between
// library versions).
int LineOf(absl::string_view frame) {
  uint64_t h = 1469598103934665603ull;
  for (char c : frame) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return 20 + static_cast<int>(h % 380);
}

// "PaymentsCharge" from "/payments/charge"; "Orders" from "/orders/:id".
std::string Component(const Endpoint& endpoint) {
  std::string out;
  bool upper = true;
  for (char c : endpoint.route) {
    if (c == ':') break;
    if (c == '/' || c == '-' || c == '_') {
      upper = true;
      continue;
    }
    if (c >= '0' && c <= '9' && out.empty()) continue;
    out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  if (out.rfind("Api", 0) == 0) out = out.substr(3);
  if (out.rfind("V1", 0) == 0) out = out.substr(2);
  return out.empty() ? std::string("Handler") : out;
}

struct Names {
  const char* java;
  const char* python;
  const char* go;
  const char* node;
};

const char* Pick(const Names& names, Language language) {
  switch (language) {
    case Language::kJava:
      return names.java;
    case Language::kPython:
      return names.python;
    case Language::kGo:
      return names.go;
    case Language::kNode:
      return names.node;
  }
  return names.java;
}

}  // namespace

ExceptionText DescribeFailure(const ServiceSpec& service, FailureKind kind,
                              absl::string_view detail) {
  ExceptionText out;
  const Language language = service.language;
  std::string where = absl::StrCat("/var/lib/", service.name, "/spool");
  switch (kind) {
    case FailureKind::kPoolTimeout:
      out.type = Pick({"PoolTimeoutException", "PoolTimeoutError",
                       "ErrPoolTimeout", "PoolTimeoutError"},
                      language);
      out.message = std::string(detail);
      break;
    case FailureKind::kDiskFull:
      out.type =
          Pick({"IOException", "OSError", "PathError", "Error"}, language);
      out.message =
          language == Language::kPython
              ? absl::StrCat("[Errno 28] No space left on device: '", where,
                             "/", detail, "'")
          : language == Language::kNode
              ? absl::StrCat("ENOSPC: no space left on device, write '", where,
                             "/", detail, "'")
              : absl::StrCat("write ", where, "/", detail,
                             ": no space left on device");
      break;
    case FailureKind::kNoDescriptors:
      out.type = Pick({"IOException", "OSError", "OpError", "Error"}, language);
      out.message =
          language == Language::kPython ? "[Errno 24] Too many open files"
          : language == Language::kNode ? "EMFILE: too many open files, socket"
                                        : "accept4: too many open files";
      break;
    case FailureKind::kOverloaded:
      out.type = Pick({"RejectedExecutionException", "OverloadedError",
                       "ErrOverloaded", "OverloadedError"},
                      language);
      out.message = absl::StrCat("request queue full (", detail,
                                 " waiting); rejecting the request");
      break;
    case FailureKind::kBadCode:
      out.type = Pick(
          {"NullPointerException", "KeyError", "RuntimeError", "TypeError"},
          language);
      out.message =
          language == Language::kJava
              ? absl::StrCat(
                    "Cannot invoke \"Discount.apply()\" because "
                    "\"rule\" is null (",
                    detail, ")")
          : language == Language::kPython ? std::string("'currency_code'")
          : language == Language::kGo
              ? std::string("invalid memory address or nil pointer dereference")
              : std::string(
                    "Cannot read properties of undefined (reading 'currency')");
      break;
    case FailureKind::kOutOfMemory:
      out.type = Pick(
          {"OutOfMemoryError", "MemoryError", "ErrOutOfMemory", "RangeError"},
          language);
      out.message = language == Language::kJava ? "Java heap space"
                    : language == Language::kNode
                        ? "Array buffer allocation failed"
                        : "cannot allocate memory for the response";
      break;
    case FailureKind::kConnectionReset:
      out.type =
          Pick({"SocketException", "ConnectionResetError", "OpError", "Error"},
               language);
      out.message = language == Language::kPython
                        ? "[Errno 104] Connection reset by peer"
                    : language == Language::kNode ? "read ECONNRESET"
                                                  : "Connection reset by peer";
      break;
    case FailureKind::kBackground:
      out.type = Pick({"ConcurrentModificationException", "ValueError",
                       "ErrInvalidState", "SyntaxError"},
                      language);
      out.message = language == Language::kPython
                        ? "invalid literal for int() with base 10: ''"
                    : language == Language::kNode
                        ? "Unexpected token < in JSON at position 0"
                        : "unexpected state while handling the request";
      break;
    case FailureKind::kUpstream:
    case FailureKind::kNone:
      out.type = Pick({"UpstreamException", "UpstreamError", "ErrUpstream",
                       "UpstreamError"},
                      language);
      out.message = std::string(detail);
      break;
  }
  switch (language) {
    case Language::kJava: {
      const char* sub = kind == FailureKind::kPoolTimeout ? ".db." : ".";
      out.qualified = absl::StrCat(service.package, sub, out.type);
      if (out.type == "IOException") out.qualified = "java.io.IOException";
      if (out.type == "NullPointerException" ||
          out.type == "OutOfMemoryError" ||
          out.type == "ConcurrentModificationException") {
        out.qualified = absl::StrCat("java.lang.", out.type);
      }
      if (out.type == "RejectedExecutionException") {
        out.qualified = "java.util.concurrent.RejectedExecutionException";
      }
      if (out.type == "SocketException") {
        out.qualified = "java.net.SocketException";
      }
      break;
    }
    case Language::kGo:
      out.qualified = absl::StrCat(out.type == "PathError" ? "*fs."
                                   : out.type == "OpError" ? "*net."
                                                           : "",
                                   out.type);
      break;
    default:
      out.qualified = out.type;
  }
  return out;
}

std::string TimeoutExceptionName(Language language) {
  return Pick({"SocketTimeoutException", "ReadTimeout",
               "context.DeadlineExceeded", "TimeoutError"},
              language);
}

std::string RefusedExceptionName(Language language) {
  return Pick({"ConnectException", "ConnectionRefusedError", "net.OpError",
               "ECONNREFUSED"},
              language);
}

std::string StackTrace(const ServiceSpec& service, const Endpoint& endpoint,
                       const ExceptionText& exception) {
  const std::string component = Component(endpoint);
  // Innermost first.
  std::vector<std::pair<std::string, std::string>> frames;  // file, function
  if (exception.type.find("Pool") != std::string::npos) {
    frames.push_back({"ConnectionPool", "acquire"});
  }
  frames.push_back({absl::StrCat(component, "Repository"), "save"});
  frames.push_back({absl::StrCat(component, "Service"), "handle"});
  frames.push_back({absl::StrCat(component, "Controller"), "post"});
  std::string out;
  switch (service.language) {
    case Language::kJava: {
      out = absl::StrCat(exception.qualified, ": ", exception.message);
      for (const auto& [file, function] : frames) {
        const std::string frame =
            absl::StrCat(service.package, ".", file, ".", function);
        absl::StrAppend(&out, "\n\tat ", frame, "(", file,
                        ".java:", LineOf(frame), ")");
      }
      absl::StrAppend(&out,
                      "\n\tat com.platform.http.Router.dispatch(Router.java:"
                      "118)\n\tat java.base/java.lang.Thread.run(Thread.java:"
                      "833)");
      break;
    }
    case Language::kPython: {
      out = "Traceback (most recent call last):";
      for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
        std::string module = absl::AsciiStrToLower(it->first);
        absl::StrAppend(&out, "\n  File \"/srv/", service.package, "/", module,
                        ".py\", line ", LineOf(it->first + it->second), ", in ",
                        it->second);
      }
      absl::StrAppend(&out, "\n", exception.qualified, ": ", exception.message);
      break;
    }
    case Language::kGo: {
      out = absl::StrCat("panic: ", exception.qualified, ": ",
                         exception.message, "\n\ngoroutine 42 [running]:");
      for (const auto& [file, function] : frames) {
        absl::StrAppend(&out, "\n", service.package, ".(*", file, ").",
                        function, "(...)\n\t/src/", service.package, "/", file,
                        ".go:", LineOf(file + function), " +0x1a4");
      }
      break;
    }
    case Language::kNode: {
      out = absl::StrCat(exception.qualified, ": ", exception.message);
      for (const auto& [file, function] : frames) {
        absl::StrAppend(&out, "\n    at ", file, ".", function, " (/app/src/",
                        service.package, "/", file,
                        ".ts:", LineOf(file + function), ":",
                        5 + LineOf(function) % 30, ")");
      }
      break;
    }
  }
  return out;
}

}  // namespace traversion::scenario
