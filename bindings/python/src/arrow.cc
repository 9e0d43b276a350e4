#include "arrow.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "convert.h"

// The C data interface's structures, as the specification defines them
// (they are an ABI: every producer declares them identically).
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE
#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4
extern "C" {
struct ArrowSchema {
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema** children;
  struct ArrowSchema* dictionary;
  void (*release)(struct ArrowSchema*);
  void* private_data;
};
struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;
  void (*release)(struct ArrowArray*);
  void* private_data;
};
}
#endif
#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE
extern "C" {
struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream*, struct ArrowSchema* out);
  int (*get_next)(struct ArrowArrayStream*, struct ArrowArray* out);
  const char* (*get_last_error)(struct ArrowArrayStream*);
  void (*release)(struct ArrowArrayStream*);
  void* private_data;
};
}
#endif

namespace traversion::python {
namespace {

namespace py = pybind11;

// utf8 offsets are int32: a batch stops growing past this many string bytes.
constexpr size_t kMaxBatchStringBytes = size_t{1} << 30;

const char* FormatOf(ColumnType type) {
  switch (type) {
    case ColumnType::kBool:
      return "b";
    case ColumnType::kInt64:
      return "l";
    case ColumnType::kDouble:
      return "g";
    case ColumnType::kString:
      return "u";
    case ColumnType::kTime:
      return "tsn:UTC";
    case ColumnType::kDuration:
      return "tDn";
  }
  return "u";
}

// --- schema -----------------------------------------------------------------

struct SchemaPrivate {
  std::string format;
  std::string name;
  std::vector<ArrowSchema*> children;
};

void ReleaseSchema(ArrowSchema* schema) {
  auto* p = static_cast<SchemaPrivate*>(schema->private_data);
  for (ArrowSchema* child : p->children) {
    if (child->release != nullptr) child->release(child);
    delete child;
  }
  delete p;
  schema->release = nullptr;
}

void FillSchema(ArrowSchema* out, std::string format, std::string name,
                int64_t flags, std::vector<ArrowSchema*> children) {
  auto* p = new SchemaPrivate{std::move(format), std::move(name),
                              std::move(children)};
  out->format = p->format.c_str();
  out->name = p->name.c_str();
  out->metadata = nullptr;
  out->flags = flags;
  out->n_children = static_cast<int64_t>(p->children.size());
  out->children = p->children.empty() ? nullptr : p->children.data();
  out->dictionary = nullptr;
  out->release = &ReleaseSchema;
  out->private_data = p;
}

// --- arrays -----------------------------------------------------------------

struct ArrayPrivate {
  ColumnData column{ColumnType::kString};
  std::vector<uint8_t> validity;  // bitmap
  std::vector<uint8_t> bits;      // bool values, bitmap
  std::vector<int32_t> offsets;   // utf8
  std::vector<const void*> buffers;
  std::vector<ArrowArray*> children;
};

void ReleaseArray(ArrowArray* array) {
  auto* p = static_cast<ArrayPrivate*>(array->private_data);
  for (ArrowArray* child : p->children) {
    if (child->release != nullptr) child->release(child);
    delete child;
  }
  delete p;
  array->release = nullptr;
}

std::vector<uint8_t> Bitmap(const std::vector<uint8_t>& bytes) {
  std::vector<uint8_t> bits((bytes.size() + 7) / 8, 0);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != 0) bits[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  }
  return bits;
}

void FillColumnArray(ArrowArray* out, ColumnData column) {
  auto* p = new ArrayPrivate;
  p->column = std::move(column);
  ColumnData& c = p->column;
  int64_t length = static_cast<int64_t>(c.size());
  const void* validity = nullptr;
  if (c.nulls > 0) {
    p->validity = Bitmap(c.valid);
    validity = p->validity.data();
  }
  p->buffers.push_back(validity);
  switch (c.type) {
    case ColumnType::kBool:
      p->bits = Bitmap(c.bools);
      p->buffers.push_back(p->bits.data());
      break;
    case ColumnType::kInt64:
    case ColumnType::kTime:
    case ColumnType::kDuration:
      p->buffers.push_back(c.ints.data());
      break;
    case ColumnType::kDouble:
      p->buffers.push_back(c.doubles.data());
      break;
    case ColumnType::kString:
      p->offsets.reserve(c.offsets.size());
      for (int64_t o : c.offsets) p->offsets.push_back(static_cast<int32_t>(o));
      p->buffers.push_back(p->offsets.data());
      p->buffers.push_back(c.chars.data());
      break;
  }
  out->length = length;
  out->null_count = static_cast<int64_t>(c.nulls);
  out->offset = 0;
  out->n_buffers = static_cast<int64_t>(p->buffers.size());
  out->n_children = 0;
  out->buffers = p->buffers.data();
  out->children = nullptr;
  out->dictionary = nullptr;
  out->release = &ReleaseArray;
  out->private_data = p;
}

// --- the stream
// ---------------------------------------------------------------

struct StreamPrivate {
  std::shared_ptr<PyResult> result;
  size_t batch_rows = 0;
  std::string last_error;
};

int GetSchema(ArrowArrayStream* stream, ArrowSchema* out) {
  auto* s = static_cast<StreamPrivate*>(stream->private_data);
  std::vector<ArrowSchema*> children;
  for (const Column& c : s->result->columns()) {
    auto* child = new ArrowSchema;
    FillSchema(child, FormatOf(c.type), c.name, ARROW_FLAG_NULLABLE, {});
    children.push_back(child);
  }
  FillSchema(out, "+s", "", 0, std::move(children));
  return 0;
}

int GetNext(ArrowArrayStream* stream, ArrowArray* out) {
  auto* s = static_cast<StreamPrivate*>(stream->private_data);
  std::vector<ColumnData> columns;
  size_t rows = 0;
  absl::Status status = s->result->ReadColumns(
      s->batch_rows, kMaxBatchStringBytes, &columns, &rows);
  if (!status.ok()) {
    s->last_error = std::string(StatusCodeName(status.code())) + ": " +
                    std::string(status.message());
    return EIO;
  }
  if (rows == 0) {
    out->release = nullptr;  // the end of the stream
    return 0;
  }
  auto* p = new ArrayPrivate;
  p->buffers.push_back(nullptr);  // the struct has no nulls
  for (ColumnData& c : columns) {
    auto* child = new ArrowArray;
    FillColumnArray(child, std::move(c));
    p->children.push_back(child);
  }
  out->length = static_cast<int64_t>(rows);
  out->null_count = 0;
  out->offset = 0;
  out->n_buffers = 1;
  out->n_children = static_cast<int64_t>(p->children.size());
  out->buffers = p->buffers.data();
  out->children = p->children.empty() ? nullptr : p->children.data();
  out->dictionary = nullptr;
  out->release = &ReleaseArray;
  out->private_data = p;
  return 0;
}

const char* GetLastError(ArrowArrayStream* stream) {
  auto* s = static_cast<StreamPrivate*>(stream->private_data);
  return s->last_error.empty() ? nullptr : s->last_error.c_str();
}

void ReleaseStream(ArrowArrayStream* stream) {
  delete static_cast<StreamPrivate*>(stream->private_data);
  stream->release = nullptr;
}

// The capsule's destructor: a stream never handed to a consumer (or
// handed back unreleased) is released here, then freed.
void DestroyCapsule(PyObject* capsule) {
  auto* stream = static_cast<ArrowArrayStream*>(
      PyCapsule_GetPointer(capsule, "arrow_array_stream"));
  if (stream == nullptr) {
    PyErr_Clear();
    return;
  }
  if (stream->release != nullptr) stream->release(stream);
  delete stream;
}

}  // namespace

py::object ExportArrowStream(std::shared_ptr<PyResult> result,
                             size_t batch_rows) {
  auto* stream = new ArrowArrayStream;
  stream->get_schema = &GetSchema;
  stream->get_next = &GetNext;
  stream->get_last_error = &GetLastError;
  stream->release = &ReleaseStream;
  stream->private_data = new StreamPrivate{std::move(result), batch_rows, {}};
  PyObject* capsule =
      PyCapsule_New(stream, "arrow_array_stream", &DestroyCapsule);
  if (capsule == nullptr) {
    ReleaseStream(stream);
    delete stream;
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(capsule);
}

}  // namespace traversion::python
