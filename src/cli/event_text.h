// One-line, human-readable renderings of events for the CLI's tables.
//
// Thread safety: the functions are reentrant.
#ifndef TRAVERSION_CLI_EVENT_TEXT_H_
#define TRAVERSION_CLI_EVENT_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "traversion/event.h"

namespace traversion::cli {

// The payload in a few words: a span's duration, HTTP/DB/RPC call and
// status; a log's body; an error's "Type: message"; a metric's value and
// unit; an entity's fields ("pool/db active=12 max=20"); and so on.
std::string EventDetail(const Event& event);

// A span's duration and outcome: "41.2ms 200", "5.82s 502 ERROR: timeout".
std::string SpanOutcome(const SpanData& span);

// "info", "error"...; "-" when unspecified.
std::string SeverityLabel(Severity severity);

// An attribute value in text form.
std::string AttributeText(const AttributeValue& value);

}  // namespace traversion::cli

#endif  // TRAVERSION_CLI_EVENT_TEXT_H_
