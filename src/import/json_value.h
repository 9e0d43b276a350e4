// A small JSON (RFC 8259) parser for the importers: the container runtime's
// log envelope in the Train Ticket log CSV and the fault-list label files.
//
// It builds a plain tree. Strings are unescaped (`\uXXXX` with surrogate
// pairs becomes UTF-8); numbers are kept as doubles. It rejects what RFC 8259
// rejects (raw control characters in strings, trailing commas, lone
// surrogates, leading zeros, trailing garbage) and nests at most 64 deep, so
// hostile input cannot exhaust the stack. Errors name the byte offset.
//
// Thread safety: values are plain data; Parse is reentrant.
#ifndef TRAVERSION_IMPORT_JSON_VALUE_H_
#define TRAVERSION_IMPORT_JSON_VALUE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace traversion::import {

class JsonValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  // Parses one JSON text (surrounding whitespace allowed).
  static absl::StatusOr<JsonValue> Parse(absl::string_view text);

  Kind kind() const { return kind_; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_object() const { return kind_ == Kind::kObject; }
  bool is_array() const { return kind_ == Kind::kArray; }

  bool boolean() const { return bool_; }
  double number() const { return number_; }
  const std::string& string() const { return string_; }
  const std::vector<JsonValue>& array() const { return array_; }
  // Members in document order (duplicate names kept as they came).
  const std::vector<std::pair<std::string, JsonValue>>& object() const {
    return object_;
  }
  // The first member named `name`, or nullptr (also for non-objects).
  const JsonValue* Find(absl::string_view name) const;

 private:
  friend class JsonParser;

  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<JsonValue> array_;
  std::vector<std::pair<std::string, JsonValue>> object_;
};

// "a kind name" for messages: "null", "boolean", "number", ...
absl::string_view JsonKindName(JsonValue::Kind kind);

}  // namespace traversion::import

#endif  // TRAVERSION_IMPORT_JSON_VALUE_H_
