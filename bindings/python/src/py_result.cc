#include "py_result.h"

#include <limits>
#include <string>
#include <utility>
#include <variant>

namespace traversion::python {
namespace {

constexpr int64_t kNullTime = std::numeric_limits<int64_t>::min();

}  // namespace

ColumnData::ColumnData(ColumnType t) : type(t) {
  if (type == ColumnType::kString) offsets.push_back(0);
}

void ColumnData::Append(const Value& value) {
  // A value of another type than the column's is converted where that is
  // exact, else it is NULL (the evaluator types its columns; this only
  // guards against a surprise).
  bool null = std::holds_alternative<std::monostate>(value);
  switch (type) {
    case ColumnType::kBool: {
      const bool* b = std::get_if<bool>(&value);
      null = null || b == nullptr;
      bools.push_back(null ? 0 : (*b ? 1 : 0));
      break;
    }
    case ColumnType::kInt64: {
      const int64_t* i = std::get_if<int64_t>(&value);
      null = null || i == nullptr;
      ints.push_back(null ? 0 : *i);
      break;
    }
    case ColumnType::kTime: {
      const TimeValue* t = std::get_if<TimeValue>(&value);
      null = null || t == nullptr;
      ints.push_back(null ? kNullTime : t->unix_ns);
      break;
    }
    case ColumnType::kDuration: {
      const DurationValue* d = std::get_if<DurationValue>(&value);
      null = null || d == nullptr;
      ints.push_back(null ? kNullTime : d->ns);
      break;
    }
    case ColumnType::kDouble: {
      double x = 0;
      if (const double* d = std::get_if<double>(&value)) {
        x = *d;
      } else if (const int64_t* i = std::get_if<int64_t>(&value)) {
        x = static_cast<double>(*i);
      } else {
        null = true;
      }
      doubles.push_back(null ? std::numeric_limits<double>::quiet_NaN() : x);
      break;
    }
    case ColumnType::kString: {
      if (!null) {
        if (const std::string* s = std::get_if<std::string>(&value)) {
          chars += *s;
        } else {
          chars += ValueToString(value);
        }
      }
      offsets.push_back(static_cast<int64_t>(chars.size()));
      break;
    }
  }
  valid.push_back(null ? 0 : 1);
  if (null) ++nulls;
}

PyResult::PyResult(std::shared_ptr<Store> store, Result result)
    : columns_(result.columns()),
      kind_(result.kind()),
      store_(std::move(store)),
      result_(std::move(result)) {}

bool PyResult::Next(Row* row) {
  if (!lookahead_.empty()) {
    *row = std::move(lookahead_.front());
    lookahead_.pop_front();
    return true;
  }
  if (done_) return false;
  if (result_.Next()) {
    *row = result_.row();
    return true;
  }
  done_ = true;
  status_ = result_.status();
  return false;
}

bool PyResult::FillLookahead(size_t n) {
  while (lookahead_.size() < n && !done_) {
    if (result_.Next()) {
      lookahead_.push_back(result_.row());
    } else {
      done_ = true;
      status_ = result_.status();
    }
  }
  return lookahead_.size() >= n;
}

absl::Status PyResult::ReadRows(size_t max_rows, std::vector<Row>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t start = out->size();
  Row row;
  while ((max_rows == 0 || out->size() - start < max_rows) && Next(&row)) {
    out->push_back(std::move(row));
  }
  if (out->size() > start) return absl::OkStatus();
  return status_;
}

absl::Status PyResult::ReadColumns(size_t max_rows, size_t max_string_bytes,
                                   std::vector<ColumnData>* out, size_t* rows) {
  std::lock_guard<std::mutex> lock(mu_);
  out->clear();
  for (const Column& c : columns_) out->emplace_back(c.type);
  *rows = 0;
  auto append = [&](const Row& row) {
    for (size_t i = 0; i < out->size(); ++i) {
      (*out)[i].Append(i < row.size() ? row[i] : Value{});
    }
    ++*rows;
  };
  auto full = [&] {
    if (max_rows != 0 && *rows >= max_rows) return true;
    if (max_string_bytes == 0) return false;
    size_t bytes = 0;
    for (const ColumnData& c : *out) bytes += c.chars.size();
    return bytes >= max_string_bytes;
  };
  while (!full() && !lookahead_.empty()) {
    append(lookahead_.front());
    lookahead_.pop_front();
  }
  // Straight from the query: no copy of the row.
  while (!full() && !done_) {
    if (result_.Next()) {
      append(result_.row());
    } else {
      done_ = true;
      status_ = result_.status();
    }
  }
  if (*rows > 0) return absl::OkStatus();
  return status_;
}

absl::Status PyResult::Peek(size_t n, std::vector<Row>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  FillLookahead(n);
  for (size_t i = 0; i < n && i < lookahead_.size(); ++i) {
    out->push_back(lookahead_[i]);
  }
  return lookahead_.empty() ? status_ : absl::OkStatus();
}

absl::StatusOr<std::string> PyResult::Structured() {
  std::lock_guard<std::mutex> lock(mu_);
  // Only these kinds carry a structure (query.h); the others stay streamed.
  static const char* const kStructured[] = {"trace",   "traverse", "root_cause",
                                            "changes", "state",    "history",
                                            "match"};
  bool has = false;
  for (const char* k : kStructured) has = has || kind_ == k;
  if (!has) return std::string();
  FillLookahead(std::numeric_limits<size_t>::max());
  if (!status_.ok()) return status_;
  return result_.structured_json();
}

QueryStats PyResult::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return result_.stats();
}

absl::Status PyResult::final_status() {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

bool PyResult::exhausted() {
  std::lock_guard<std::mutex> lock(mu_);
  return done_ && lookahead_.empty();
}

}  // namespace traversion::python
