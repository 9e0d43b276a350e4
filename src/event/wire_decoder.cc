#include "event/wire_decoder.h"

#include <array>
#include <bit>
#include <climits>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "event/proto_convert.h"
#include "event/utf8.h"
#include "util/status_macros.h"

namespace traversion::internal {
namespace {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLen = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

constexpr uint32_t Tag(uint32_t field, WireType type) {
  return field << 3 | type;
}

// protobuf's default recursion limit: every sub-message and every group
// nests one level deeper, and the parse fails past it.
constexpr int kRecursionLimit = 100;
// protobuf refuses lengths this close to INT_MAX (it keeps room for the 16
// bytes it may read past a buffer's end).
constexpr uint64_t kMaxLength = INT_MAX - 16;

// The bytes of one message, [p, end); p advances as fields are read.
struct Range {
  const uint8_t* p;
  const uint8_t* end;
  size_t left() const { return static_cast<size_t>(end - p); }
};

// Most strings are short and ASCII, where FindInvalidUtf8 would go byte by
// byte: this answers for them with a few overlapping loads.
inline bool IsAscii(const uint8_t* p, size_t n) {
  auto load64 = [](const uint8_t* at) {
    uint64_t v = 0;
    std::memcpy(&v, at, sizeof(v));
    return v;
  };
  auto load32 = [](const uint8_t* at) {
    uint32_t v = 0;
    std::memcpy(&v, at, sizeof(v));
    return v;
  };
  uint64_t bits;
  if (n >= 8) {
    bits = load64(p + n - 8);
    for (size_t i = 0; i + 8 < n; i += 8) bits |= load64(p + i);
  } else if (n >= 4) {
    bits = load32(p) | load32(p + n - 4);
  } else if (n > 0) {
    bits = p[0] | p[n / 2] | p[n - 1];
  } else {
    return true;
  }
  return (bits & 0x8080808080808080ULL) == 0;
}

// --- resetting reused values to their defaults, keeping their capacity -------

void Reset(ServiceRef* s) {
  s->name.clear();
  s->instance.clear();
  s->host.clear();
  s->version.clear();
  s->namespace_.clear();
  s->environment.clear();
}

void Reset(HttpInfo* h) {
  h->method.clear();
  h->route.clear();
  h->url.clear();
  h->status_code = 0;
  h->client_ip.clear();
  h->request_size = 0;
  h->response_size = 0;
}

void Reset(DbInfo* d) {
  d->system.clear();
  d->namespace_.clear();
  d->operation.clear();
  d->statement.clear();
  d->table.clear();
}

void Reset(RpcInfo* r) {
  r->system.clear();
  r->service.clear();
  r->method.clear();
  r->grpc_status_code = 0;
}

// The optional http/db/rpc parts are settled by the decoder (see Engage and
// Decoder::Finish), which reuses them when the new span has them too.
void Reset(SpanData* s) {
  s->kind = SpanKind::kUnspecified;
  s->duration_ns = 0;
  s->status = SpanStatus::kUnset;
  s->status_message.clear();
  s->peer_service.clear();
}

void Reset(LogData* l) {
  l->body.clear();
  l->logger.clear();
  l->code_file.clear();
  l->code_line = 0;
}

void Reset(ErrorData* e) {
  e->exception_type.clear();
  e->message.clear();
  e->stacktrace.clear();
  e->handled = false;
  e->escaped = false;
}

void Reset(MetricData* m) {
  m->kind = MetricKind::kUnspecified;
  m->value = 0;
  m->unit.clear();
  m->bucket_bounds.clear();
  m->bucket_counts.clear();
  m->sum = 0;
  m->count = 0;
}

void Reset(KernelData* k) {
  k->kind = KernelEventKind::kUnspecified;
  k->pid = 0;
  k->tid = 0;
  k->ppid = 0;
  k->comm.clear();
  k->cgroup_id = 0;
  k->syscall.clear();
  k->syscall_nr = 0;
  k->errno_value = 0;
  k->return_value = 0;
  k->exit_code = 0;
  k->signal = 0;
  k->filename.clear();
  k->saddr.clear();
  k->daddr.clear();
  k->sport = 0;
  k->dport = 0;
}

void Reset(KubernetesData* k) {
  k->namespace_.clear();
  k->pod.clear();
  k->container.clear();
  k->node.clear();
  k->object_kind.clear();
  k->reason.clear();
  k->message.clear();
}

// `fields` is trimmed by the decoder once it knows how many were read, so
// that the elements (and their strings) are reused meanwhile.
void Reset(EntityStateData* s) {
  s->entity.clear();
  s->entity_type.clear();
  s->deleted = false;
}

void Reset(UiInteractionData* u) {
  u->action.clear();
  u->target.clear();
  u->page.clear();
  u->session_id.clear();
  u->user_id.clear();
}

void Reset(std::string* s) { s->clear(); }

void Reset(EntityField* f) {
  f->name.clear();
  f->value.clear();
}

void Reset(Attribute* a) {
  a->key.clear();
  // An attribute without a value reads as the empty string.
  if (std::string* s = std::get_if<std::string>(&a->value)) {
    s->clear();
  } else {
    a->value.emplace<std::string>();
  }
}

// The next element of a repeated field of which `*used` elements were read
// so far: an element left from the previous event if there is one (reset),
// else a new one. The vector is trimmed to `*used` at the end.
template <typename T>
T& NextElement(std::vector<T>* v, size_t* used) {
  if (*used < v->size()) {
    T& element = (*v)[(*used)++];
    Reset(&element);
    return element;
  }
  ++*used;
  return v->emplace_back();
}

// --- the decoder -------------------------------------------------------------

// Each Read* function reads the fields of one message in `r` into its
// destination, the way protobuf's generated _InternalParse does: a tag it
// knows (field number and wire type) is read, any other tag is skipped as an
// unknown field. `depth` is the recursion budget left at that message. On
// malformed data they record the error and return false.
class Decoder {
 public:
  Decoder(absl::string_view bytes, const WireDecodeOptions& options)
      : begin_(reinterpret_cast<const uint8_t*>(bytes.data())),
        end_(begin_ + bytes.size()),
        skip_details_(options.skip_details) {}

  absl::Status Decode(Event* e);

 private:
  // Records the error (the first one: reading stops there) at byte `at`
  // and returns false. Inline so that the compiler sees the false.
  bool Fail(const uint8_t* at, absl::string_view what) {
    SetError(at, what);
    return false;
  }
  [[gnu::cold, gnu::noinline]] void SetError(const uint8_t* at,
                                             absl::string_view what);

  bool Varint(Range& r, uint64_t* v) {
    if (r.p < r.end && *r.p < 0x80) [[likely]] {
      *v = *r.p++;
      return true;
    }
    return VarintSlow(r, v);
  }
  bool VarintSlow(Range& r, uint64_t* v);
  // The caller has checked that r is not empty.
  bool ReadTag(Range& r, uint32_t* tag) {
    if (*r.p < 0x80) [[likely]] {
      *tag = *r.p++;
      return true;
    }
    return TagSlow(r, tag);
  }
  bool TagSlow(Range& r, uint32_t* tag);
  // The contents of a length-delimited field, which r then skips.
  bool Length(Range& r, Range* field) {
    uint64_t size;
    if (r.p < r.end && *r.p < 0x80) [[likely]] {
      size = *r.p;
      if (size < r.left()) [[likely]] {
        field->p = r.p + 1;
        field->end = field->p + size;
        r.p = field->end;
        return true;
      }
    }
    return LengthSlow(r, field);
  }
  bool LengthSlow(Range& r, Range* field);
  // A base-128 varint of at most `max_bytes` bytes (`what` names it in
  // errors); advances r past it.
  bool Base128(Range& r, int max_bytes, absl::string_view what, uint64_t* out);
  bool Fixed64(Range& r, uint64_t* v) {
    if (r.left() < 8) [[unlikely]] {
      return Fail(r.p, "truncated fixed64 value");
    }
    uint64_t x = 0;
    for (int i = 7; i >= 0; --i) x = x << 8 | r.p[i];
    r.p += 8;
    *v = x;
    return true;
  }

  // Scalars as protobuf reads them: 32-bit fields keep the low 32 bits of
  // the varint, bools are any non-zero value, enums are open (any int32).
  bool U64(Range& r, uint64_t* out) { return Varint(r, out); }
  bool I64(Range& r, int64_t* out) {
    uint64_t v = 0;
    if (!Varint(r, &v)) return false;
    *out = static_cast<int64_t>(v);
    return true;
  }
  bool U32(Range& r, uint32_t* out) {
    uint64_t v = 0;
    if (!Varint(r, &v)) return false;
    *out = static_cast<uint32_t>(v);
    return true;
  }
  bool I32(Range& r, int32_t* out) {
    uint64_t v = 0;
    if (!Varint(r, &v)) return false;
    *out = static_cast<int32_t>(static_cast<uint32_t>(v));
    return true;
  }
  bool Bool(Range& r, bool* out) {
    uint64_t v = 0;
    if (!Varint(r, &v)) return false;
    *out = v != 0;
    return true;
  }
  bool Double(Range& r, double* out) {
    uint64_t v = 0;
    if (!Fixed64(r, &v)) return false;
    *out = std::bit_cast<double>(v);
    return true;
  }
  // A `bytes` field, as a view into the input.
  bool Bytes(Range& r, absl::string_view* out) {
    Range f;
    if (!Length(r, &f)) return false;
    *out = absl::string_view(reinterpret_cast<const char*>(f.p), f.left());
    return true;
  }
  // A proto3 `string` field: protobuf's parser fails on invalid UTF-8.
  // `field` is its full name, for the error.
  bool Utf8(Range& r, const char* field, absl::string_view* out) {
    if (!Bytes(r, out)) return false;
    if (IsAscii(reinterpret_cast<const uint8_t*>(out->data()), out->size()))
        [[likely]] {
      return true;
    }
    const size_t bad = FindInvalidUtf8(*out);
    if (bad != absl::string_view::npos) [[unlikely]] {
      return Fail(reinterpret_cast<const uint8_t*>(out->data()) + bad,
                  absl::StrCat("invalid UTF-8 in ", field));
    }
    return true;
  }
  bool String(Range& r, const char* field, std::string* out) {
    absl::string_view s;
    if (!Utf8(r, field, &s)) return false;
    out->assign(s.data(), s.size());
    return true;
  }

  // An unknown field whose tag (at `at`) has been read.
  bool Skip(Range& r, const uint8_t* at, uint32_t tag, int depth);
  bool SkipGroup(Range& r, const uint8_t* at, uint32_t field, int depth);

  bool ReadEvent(Range r, Event* e);
  bool ReadService(Range r, int depth, ServiceRef* s);
  bool ReadTrace(Range r, int depth);
  bool ReadSemantic(Range r, int depth, Semantic* s);
  bool ReadImpact(Range r, int depth, Impact* i);
  bool ReadAttribute(Range r, int depth, Attribute* a);
  bool ReadAttributeValue(Range r, int depth, AttributeValue* v);
  bool ReadSpan(Range r, int depth, SpanData* s);
  bool ReadHttp(Range r, int depth, HttpInfo* h);
  bool ReadDb(Range r, int depth, DbInfo* d);
  bool ReadRpc(Range r, int depth, RpcInfo* rpc);
  bool ReadLog(Range r, int depth, LogData* l);
  bool ReadError(Range r, int depth, ErrorData* e);
  bool ReadMetric(Range r, int depth, MetricData* m);
  bool ReadKernel(Range r, int depth, KernelData* k);
  bool ReadKubernetes(Range r, int depth, KubernetesData* k);
  bool ReadEntityState(Range r, int depth, EntityStateData* s);
  bool ReadEntityField(Range r, int depth, EntityField* f);
  bool ReadUi(Range r, int depth, UiInteractionData* u);

  // The payload of the layer whose field number is `field`: the one being
  // read if it is of that layer too (a repeated sub-message merges), else a
  // reset one, reusing `e`'s payload when that already holds a T.
  template <typename T>
  T& BeginPayload(uint32_t field, Event* e);
  // A span's optional part, engaged and reset when first met in this span.
  template <typename T>
  T& Engage(std::optional<T>* part, bool* seen);

  // Checks what EventFromProto checks, in its order, and settles the fields
  // kept raw while reading.
  absl::Status Finish(Event* e);

  const uint8_t* const begin_;
  const uint8_t* const end_;
  const bool skip_details_;
  std::string error_;

  // Read raw (the last value on the wire wins) and checked by Finish.
  absl::string_view id_;
  int32_t type_ = 0;
  absl::string_view trace_id_, span_id_, parent_span_id_;
  uint32_t trace_flags_ = 0;
  int32_t severity_ = 0;
  // Elements read so far of the repeated fields.
  size_t tags_ = 0, attributes_ = 0, entity_refs_ = 0;
  // The payload being read: its field number (0: none yet), its kind (span,
  // metric, kernel), the span's status, which of the span's optional parts
  // were met, and the entity fields read.
  uint32_t payload_field_ = 0;
  int32_t payload_kind_ = 0;
  int32_t span_status_ = 0;
  bool http_seen_ = false, db_seen_ = false, rpc_seen_ = false;
  size_t entity_fields_ = 0;
};

void Decoder::SetError(const uint8_t* at, absl::string_view what) {
  error_ = absl::StrCat(what, " at byte ", at - begin_);
}

bool Decoder::Base128(Range& r, int max_bytes, absl::string_view what,
                      uint64_t* out) {
  const uint8_t* p = r.p;
  uint64_t result = 0;
  for (int i = 0; i < max_bytes; ++i) {
    if (p == r.end) return Fail(r.p, absl::StrCat("truncated ", what));
    const uint8_t b = *p++;
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *out = result;
      r.p = p;
      return true;
    }
  }
  return Fail(r.p, absl::StrCat(what, " longer than ", max_bytes, " bytes"));
}

bool Decoder::VarintSlow(Range& r, uint64_t* v) {
  // Up to 10 bytes; bits past the 64th are dropped, as protobuf does.
  return Base128(r, 10, "varint", v);
}

bool Decoder::TagSlow(Range& r, uint32_t* tag) {
  // Up to 5 bytes, of which protobuf keeps the low 32 bits.
  uint64_t v = 0;
  if (!Base128(r, 5, "tag", &v)) return false;
  *tag = static_cast<uint32_t>(v);
  return true;
}

bool Decoder::LengthSlow(Range& r, Range* field) {
  // Up to 5 bytes, as protobuf reads lengths.
  const uint8_t* at = r.p;
  uint64_t size = 0;
  if (!Base128(r, 5, "length", &size)) return false;
  const uint8_t* p = r.p;
  const size_t left = static_cast<size_t>(r.end - p);
  if (size > kMaxLength || size > left) {
    return Fail(
        at, absl::StrCat("length ", size, " runs past the end of its message (",
                         left, " bytes left)"));
  }
  field->p = p;
  field->end = p + size;
  r.p = field->end;
  return true;
}

bool Decoder::Skip(Range& r, const uint8_t* at, uint32_t tag, int depth) {
  const uint32_t field = tag >> 3;
  if (field == 0) return Fail(at, "field number 0");
  switch (tag & 7) {
    case kVarint: {
      uint64_t v = 0;
      return Varint(r, &v);
    }
    case kFixed64:
      if (r.left() < 8) return Fail(r.p, "truncated fixed64 value");
      r.p += 8;
      return true;
    case kLen: {
      Range f;
      return Length(r, &f);
    }
    case kStartGroup:
      return SkipGroup(r, at, field, depth - 1);
    case kEndGroup:
      return Fail(at, absl::StrCat("end-group tag of field ", field,
                                   " outside a group"));
    case kFixed32:
      if (r.left() < 4) return Fail(r.p, "truncated fixed32 value");
      r.p += 4;
      return true;
    default:
      return Fail(at, absl::StrCat("invalid wire type ", tag & 7));
  }
}

bool Decoder::SkipGroup(Range& r, const uint8_t* at, uint32_t field,
                        int depth) {
  if (depth < 0) {
    return Fail(at, absl::StrCat("groups nested deeper than protobuf's limit "
                                 "of ",
                                 kRecursionLimit));
  }
  while (r.p < r.end) {
    const uint8_t* tag_at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    if ((tag & 7) == kEndGroup && (tag >> 3) != 0) {
      if ((tag >> 3) == field) return true;
      return Fail(tag_at, absl::StrCat("end-group tag of field ", tag >> 3,
                                       " in a group of field ", field));
    }
    if (!Skip(r, tag_at, tag, depth)) return false;
  }
  return Fail(at, absl::StrCat("group of field ", field,
                               " has no end-group tag in its message"));
}

template <typename T>
T& Decoder::BeginPayload(uint32_t field, Event* e) {
  if (payload_field_ == field) return *std::get_if<T>(&e->payload);
  payload_field_ = field;
  payload_kind_ = 0;
  span_status_ = 0;
  http_seen_ = db_seen_ = rpc_seen_ = false;
  entity_fields_ = 0;
  if (T* existing = std::get_if<T>(&e->payload)) {
    Reset(existing);
    return *existing;
  }
  return e->payload.emplace<T>();
}

template <typename T>
T& Decoder::Engage(std::optional<T>* part, bool* seen) {
  if (*seen) return **part;
  *seen = true;
  if (!part->has_value()) return part->emplace();
  Reset(&**part);
  return **part;
}

bool Decoder::ReadEvent(Range r, Event* e) {
  constexpr int kDepth = kRecursionLimit;  // the top level takes none
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    Range m;
    if (skip_details_) {
      switch (tag) {
        case Tag(4, kLen):   // source
        case Tag(9, kLen):   // semantic
        case Tag(10, kLen):  // impact
        case Tag(11, kLen):  // attributes
        case Tag(12, kLen):  // entity_refs
          if (!Skip(r, at, tag, kDepth)) return false;
          continue;
        default:
          break;
      }
    }
    switch (tag) {
      case Tag(1, kLen):
        ok = Utf8(r, "traversion.v1.Event.id", &id_);
        break;
      case Tag(2, kFixed64):
        ok = Fixed64(r, &e->time_ns);
        break;
      case Tag(3, kVarint):
        ok = I32(r, &type_);
        break;
      case Tag(4, kLen):
        ok = String(r, "traversion.v1.Event.source", &e->source);
        break;
      case Tag(5, kLen):
        ok = Length(r, &m) && ReadService(m, kDepth - 1, &e->service);
        break;
      case Tag(6, kLen):
        ok = Length(r, &m) && ReadTrace(m, kDepth - 1);
        break;
      case Tag(7, kVarint):
        ok = I32(r, &severity_);
        break;
      case Tag(8, kLen):
        ok = String(r, "traversion.v1.Event.name", &e->name);
        break;
      case Tag(9, kLen):
        ok = Length(r, &m) && ReadSemantic(m, kDepth - 1, &e->semantic);
        break;
      case Tag(10, kLen):
        ok = Length(r, &m) && ReadImpact(m, kDepth - 1, &e->impact);
        break;
      case Tag(11, kLen):
        ok = Length(r, &m) &&
             ReadAttribute(m, kDepth - 1,
                           &NextElement(&e->attributes, &attributes_));
        break;
      case Tag(12, kLen):
        ok = String(r, "traversion.v1.Event.entity_refs",
                    &NextElement(&e->entity_refs, &entity_refs_));
        break;
      case Tag(13, kFixed64):
        ok = Double(r, &e->sample_rate);
        break;
      case Tag(20, kLen):
        ok = Length(r, &m) &&
             ReadSpan(m, kDepth - 1, &BeginPayload<SpanData>(20, e));
        break;
      case Tag(21, kLen):
        ok = Length(r, &m) &&
             ReadLog(m, kDepth - 1, &BeginPayload<LogData>(21, e));
        break;
      case Tag(22, kLen):
        ok = Length(r, &m) &&
             ReadError(m, kDepth - 1, &BeginPayload<ErrorData>(22, e));
        break;
      case Tag(23, kLen):
        ok = Length(r, &m) &&
             ReadMetric(m, kDepth - 1, &BeginPayload<MetricData>(23, e));
        break;
      case Tag(24, kLen):
        ok = Length(r, &m) &&
             ReadKernel(m, kDepth - 1, &BeginPayload<KernelData>(24, e));
        break;
      case Tag(25, kLen):
        ok =
            Length(r, &m) &&
            ReadKubernetes(m, kDepth - 1, &BeginPayload<KubernetesData>(25, e));
        break;
      case Tag(26, kLen):
        ok = Length(r, &m) &&
             ReadEntityState(m, kDepth - 1,
                             &BeginPayload<EntityStateData>(26, e));
        break;
      case Tag(27, kLen):
        ok = Length(r, &m) &&
             ReadUi(m, kDepth - 1, &BeginPayload<UiInteractionData>(27, e));
        break;
      default:
        ok = Skip(r, at, tag, kDepth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadService(Range r, int depth, ServiceRef* s) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    // Details: everything but the name and the instance.
    if (skip_details_ && tag != Tag(1, kLen) && tag != Tag(2, kLen)) {
      if (!Skip(r, at, tag, depth)) return false;
      continue;
    }
    switch (tag) {
      case Tag(1, kLen):
        ok = String(r, "traversion.v1.ServiceRef.name", &s->name);
        break;
      case Tag(2, kLen):
        ok = String(r, "traversion.v1.ServiceRef.instance", &s->instance);
        break;
      case Tag(3, kLen):
        ok = String(r, "traversion.v1.ServiceRef.host", &s->host);
        break;
      case Tag(4, kLen):
        ok = String(r, "traversion.v1.ServiceRef.version", &s->version);
        break;
      case Tag(5, kLen):
        ok = String(r, "traversion.v1.ServiceRef.namespace", &s->namespace_);
        break;
      case Tag(6, kLen):
        ok = String(r, "traversion.v1.ServiceRef.environment", &s->environment);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadTrace(Range r, int depth) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    switch (tag) {
      case Tag(1, kLen):
        ok = Bytes(r, &trace_id_);
        break;
      case Tag(2, kLen):
        ok = Bytes(r, &span_id_);
        break;
      case Tag(3, kLen):
        ok = Bytes(r, &parent_span_id_);
        break;
      case Tag(4, kVarint):
        ok = U32(r, &trace_flags_);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadSemantic(Range r, int depth, Semantic* s) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    switch (tag) {
      case Tag(1, kLen):
        ok = String(r, "traversion.v1.Semantic.intent", &s->intent);
        break;
      case Tag(2, kLen):
        ok = String(r, "traversion.v1.Semantic.category", &s->category);
        break;
      case Tag(3, kLen):
        ok = String(r, "traversion.v1.Semantic.tags",
                    &NextElement(&s->tags, &tags_));
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadImpact(Range r, int depth, Impact* i) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    switch (tag) {
      case Tag(1, kVarint):
        ok = Bool(r, &i->customer_facing);
        break;
      case Tag(2, kLen):
        ok = String(r, "traversion.v1.Impact.slo", &i->slo);
        break;
      case Tag(3, kFixed64):
        ok = Double(r, &i->severity_score);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadAttribute(Range r, int depth, Attribute* a) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    Range m;
    switch (tag) {
      case Tag(1, kLen):
        ok = String(r, "traversion.v1.Attribute.key", &a->key);
        break;
      case Tag(2, kLen):
        ok = Length(r, &m) && ReadAttributeValue(m, depth - 1, &a->value);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadAttributeValue(Range r, int depth, AttributeValue* v) {
  // A oneof: each member replaces whichever was set before.
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    switch (tag) {
      case Tag(1, kLen): {
        absl::string_view s;
        ok = Utf8(r, "traversion.v1.AttributeValue.string_value", &s);
        if (ok) {
          std::string* str = std::get_if<std::string>(v);
          if (str == nullptr) str = &v->emplace<std::string>();
          str->assign(s.data(), s.size());
        }
        break;
      }
      case Tag(2, kVarint): {
        int64_t i;
        ok = I64(r, &i);
        if (ok) v->emplace<int64_t>(i);
        break;
      }
      case Tag(3, kFixed64): {
        double d;
        ok = Double(r, &d);
        if (ok) v->emplace<double>(d);
        break;
      }
      case Tag(4, kVarint): {
        bool b;
        ok = Bool(r, &b);
        if (ok) v->emplace<bool>(b);
        break;
      }
      case Tag(5, kLen): {
        absl::string_view bytes;
        ok = Bytes(r, &bytes);
        if (ok) {
          auto* vec = std::get_if<std::vector<uint8_t>>(v);
          if (vec == nullptr) vec = &v->emplace<std::vector<uint8_t>>();
          const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
          vec->assign(data, data + bytes.size());
        }
        break;
      }
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadSpan(Range r, int depth, SpanData* s) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    Range m;
    switch (tag) {
      case Tag(1, kVarint):
        ok = I32(r, &payload_kind_);
        break;
      case Tag(2, kFixed64):
        ok = Fixed64(r, &s->duration_ns);
        break;
      case Tag(3, kVarint):
        ok = I32(r, &span_status_);
        break;
      case Tag(4, kLen):
        ok = String(r, "traversion.v1.Span.status_message", &s->status_message);
        break;
      case Tag(5, kLen):
        ok = Length(r, &m) &&
             ReadHttp(m, depth - 1, &Engage(&s->http, &http_seen_));
        break;
      case Tag(6, kLen):
        ok = Length(r, &m) && ReadDb(m, depth - 1, &Engage(&s->db, &db_seen_));
        break;
      case Tag(7, kLen):
        ok = Length(r, &m) &&
             ReadRpc(m, depth - 1, &Engage(&s->rpc, &rpc_seen_));
        break;
      case Tag(8, kLen):
        ok = String(r, "traversion.v1.Span.peer_service", &s->peer_service);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadHttp(Range r, int depth, HttpInfo* h) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    switch (tag) {
      case Tag(1, kLen):
        ok = String(r, "traversion.v1.HttpInfo.method", &h->method);
        break;
      case Tag(2, kLen):
        ok = String(r, "traversion.v1.HttpInfo.route", &h->route);
        break;
      case Tag(3, kLen):
        ok = String(r, "traversion.v1.HttpInfo.url", &h->url);
        break;
      case Tag(4, kVarint):
        ok = I32(r, &h->status_code);
        break;
      case Tag(5, kLen):
        ok = String(r, "traversion.v1.HttpInfo.client_ip", &h->client_ip);
        break;
      case Tag(6, kVarint):
        ok = I64(r, &h->request_size);
        break;
      case Tag(7, kVarint):
        ok = I64(r, &h->response_size);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadDb(Range r, int depth, DbInfo* d) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    switch (tag) {
      case Tag(1, kLen):
        ok = String(r, "traversion.v1.DbInfo.system", &d->system);
        break;
      case Tag(2, kLen):
        ok = String(r, "traversion.v1.DbInfo.namespace", &d->namespace_);
        break;
      case Tag(3, kLen):
        ok = String(r, "traversion.v1.DbInfo.operation", &d->operation);
        break;
      case Tag(4, kLen):
        ok = String(r, "traversion.v1.DbInfo.statement", &d->statement);
        break;
      case Tag(5, kLen):
        ok = String(r, "traversion.v1.DbInfo.table", &d->table);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadRpc(Range r, int depth, RpcInfo* rpc) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    switch (tag) {
      case Tag(1, kLen):
        ok = String(r, "traversion.v1.RpcInfo.system", &rpc->system);
        break;
      case Tag(2, kLen):
        ok = String(r, "traversion.v1.RpcInfo.service", &rpc->service);
        break;
      case Tag(3, kLen):
        ok = String(r, "traversion.v1.RpcInfo.method", &rpc->method);
        break;
      case Tag(4, kVarint):
        ok = I32(r, &rpc->grpc_status_code);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadLog(Range r, int depth, LogData* l) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    switch (tag) {
      case Tag(1, kLen):
        ok = String(r, "traversion.v1.Log.body", &l->body);
        break;
      case Tag(2, kLen):
        ok = String(r, "traversion.v1.Log.logger", &l->logger);
        break;
      case Tag(3, kLen):
        ok = String(r, "traversion.v1.Log.code_file", &l->code_file);
        break;
      case Tag(4, kVarint):
        ok = I32(r, &l->code_line);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadError(Range r, int depth, ErrorData* e) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    switch (tag) {
      case Tag(1, kLen):
        ok =
            String(r, "traversion.v1.Error.exception_type", &e->exception_type);
        break;
      case Tag(2, kLen):
        ok = String(r, "traversion.v1.Error.message", &e->message);
        break;
      case Tag(3, kLen):
        ok = String(r, "traversion.v1.Error.stacktrace", &e->stacktrace);
        break;
      case Tag(4, kVarint):
        ok = Bool(r, &e->handled);
        break;
      case Tag(5, kVarint):
        ok = Bool(r, &e->escaped);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadMetric(Range r, int depth, MetricData* m) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    Range packed;
    switch (tag) {
      case Tag(1, kVarint):
        ok = I32(r, &payload_kind_);
        break;
      case Tag(2, kFixed64):
        ok = Double(r, &m->value);
        break;
      case Tag(3, kLen):
        ok = String(r, "traversion.v1.Metric.unit", &m->unit);
        break;
      case Tag(4, kLen):  // packed
        ok = Length(r, &packed);
        if (ok && packed.left() % 8 != 0) {
          ok = Fail(packed.p,
                    absl::StrCat("packed traversion.v1.Metric.bucket_bounds "
                                 "of ",
                                 packed.left(), " bytes, not a multiple of 8"));
        }
        while (ok && packed.p < packed.end) {
          double d = 0;
          ok = Double(packed, &d);
          m->bucket_bounds.push_back(d);
        }
        break;
      case Tag(4, kFixed64): {
        double d;
        ok = Double(r, &d);
        if (ok) m->bucket_bounds.push_back(d);
        break;
      }
      case Tag(5, kLen):  // packed
        ok = Length(r, &packed);
        while (ok && packed.p < packed.end) {
          uint64_t count;
          ok = Varint(packed, &count);
          if (ok) m->bucket_counts.push_back(count);
        }
        break;
      case Tag(5, kVarint): {
        uint64_t count;
        ok = Varint(r, &count);
        if (ok) m->bucket_counts.push_back(count);
        break;
      }
      case Tag(6, kFixed64):
        ok = Double(r, &m->sum);
        break;
      case Tag(7, kVarint):
        ok = U64(r, &m->count);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadKernel(Range r, int depth, KernelData* k) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    switch (tag) {
      case Tag(1, kVarint):
        ok = I32(r, &payload_kind_);
        break;
      case Tag(2, kVarint):
        ok = U32(r, &k->pid);
        break;
      case Tag(3, kVarint):
        ok = U32(r, &k->tid);
        break;
      case Tag(4, kVarint):
        ok = U32(r, &k->ppid);
        break;
      case Tag(5, kLen):
        ok = String(r, "traversion.v1.Kernel.comm", &k->comm);
        break;
      case Tag(6, kVarint):
        ok = U64(r, &k->cgroup_id);
        break;
      case Tag(7, kLen):
        ok = String(r, "traversion.v1.Kernel.syscall", &k->syscall);
        break;
      case Tag(8, kVarint):
        ok = I32(r, &k->syscall_nr);
        break;
      case Tag(9, kVarint):
        ok = I32(r, &k->errno_value);
        break;
      case Tag(10, kVarint):
        ok = I64(r, &k->return_value);
        break;
      case Tag(11, kVarint):
        ok = I32(r, &k->exit_code);
        break;
      case Tag(12, kVarint):
        ok = I32(r, &k->signal);
        break;
      case Tag(13, kLen):
        ok = String(r, "traversion.v1.Kernel.filename", &k->filename);
        break;
      case Tag(14, kLen):
        ok = String(r, "traversion.v1.Kernel.saddr", &k->saddr);
        break;
      case Tag(15, kLen):
        ok = String(r, "traversion.v1.Kernel.daddr", &k->daddr);
        break;
      case Tag(16, kVarint):
        ok = U32(r, &k->sport);
        break;
      case Tag(17, kVarint):
        ok = U32(r, &k->dport);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadKubernetes(Range r, int depth, KubernetesData* k) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    switch (tag) {
      case Tag(1, kLen):
        ok = String(r, "traversion.v1.Kubernetes.namespace", &k->namespace_);
        break;
      case Tag(2, kLen):
        ok = String(r, "traversion.v1.Kubernetes.pod", &k->pod);
        break;
      case Tag(3, kLen):
        ok = String(r, "traversion.v1.Kubernetes.container", &k->container);
        break;
      case Tag(4, kLen):
        ok = String(r, "traversion.v1.Kubernetes.node", &k->node);
        break;
      case Tag(5, kLen):
        ok = String(r, "traversion.v1.Kubernetes.object_kind", &k->object_kind);
        break;
      case Tag(6, kLen):
        ok = String(r, "traversion.v1.Kubernetes.reason", &k->reason);
        break;
      case Tag(7, kLen):
        ok = String(r, "traversion.v1.Kubernetes.message", &k->message);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadEntityState(Range r, int depth, EntityStateData* s) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    Range m;
    switch (tag) {
      case Tag(1, kLen):
        ok = String(r, "traversion.v1.EntityState.entity", &s->entity);
        break;
      case Tag(2, kLen):
        ok =
            String(r, "traversion.v1.EntityState.entity_type", &s->entity_type);
        break;
      case Tag(3, kLen):
        ok = Length(r, &m) &&
             ReadEntityField(m, depth - 1,
                             &NextElement(&s->fields, &entity_fields_));
        break;
      case Tag(4, kVarint):
        ok = Bool(r, &s->deleted);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadEntityField(Range r, int depth, EntityField* f) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    switch (tag) {
      case Tag(1, kLen):
        ok = String(r, "traversion.v1.EntityField.name", &f->name);
        break;
      case Tag(2, kLen):
        ok = String(r, "traversion.v1.EntityField.value", &f->value);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Decoder::ReadUi(Range r, int depth, UiInteractionData* u) {
  while (r.p < r.end) {
    const uint8_t* at = r.p;
    uint32_t tag;
    if (!ReadTag(r, &tag)) return false;
    bool ok;
    switch (tag) {
      case Tag(1, kLen):
        ok = String(r, "traversion.v1.UiInteraction.action", &u->action);
        break;
      case Tag(2, kLen):
        ok = String(r, "traversion.v1.UiInteraction.target", &u->target);
        break;
      case Tag(3, kLen):
        ok = String(r, "traversion.v1.UiInteraction.page", &u->page);
        break;
      case Tag(4, kLen):
        ok =
            String(r, "traversion.v1.UiInteraction.session_id", &u->session_id);
        break;
      case Tag(5, kLen):
        ok = String(r, "traversion.v1.UiInteraction.user_id", &u->user_id);
        break;
      default:
        ok = Skip(r, at, tag, depth);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

absl::Status Decoder::Finish(Event* e) {
  e->semantic.tags.resize(tags_);
  e->attributes.resize(attributes_);
  e->entity_refs.resize(entity_refs_);

  if (id_.empty()) {
    e->id = EventId{};
  } else {
    std::optional<EventId> id = EventId::Parse(id_);
    if (!id) {
      constexpr size_t kShown = 40;
      return absl::InvalidArgumentError(absl::StrCat(
          "id: expected 32 hex digits, got \"",
          absl::CHexEscape(id_.substr(0, kShown)),
          id_.size() > kShown ? "...\"" : "\"", " (", id_.size(), " bytes)"));
    }
    e->id = *id;
  }
  TV_RETURN_IF_ERROR(EnumFromWire(type_, "type", &e->type));
  TV_RETURN_IF_ERROR(
      IdFromWire(trace_id_, "trace.trace_id", &e->trace.trace_id));
  TV_RETURN_IF_ERROR(IdFromWire(span_id_, "trace.span_id", &e->trace.span_id));
  TV_RETURN_IF_ERROR(IdFromWire(parent_span_id_, "trace.parent_span_id",
                                &e->trace.parent_span_id));
  if (trace_flags_ > 0xff) {
    return absl::InvalidArgumentError(
        absl::StrCat("trace.trace_flags: ", trace_flags_,
                     " does not fit the 8 bits of W3C trace flags"));
  }
  e->trace.trace_flags = static_cast<uint8_t>(trace_flags_);
  if (severity_ < 0 || severity_ > 24) {
    return absl::InvalidArgumentError(
        absl::StrCat("severity: ", severity_,
                     " is not an OpenTelemetry SeverityNumber (0..24)"));
  }
  e->severity = static_cast<Severity>(severity_);

  switch (payload_field_) {
    case 0:
      e->payload.emplace<std::monostate>();
      break;
    case 20: {
      SpanData& s = *std::get_if<SpanData>(&e->payload);
      if (!http_seen_) s.http.reset();
      if (!db_seen_) s.db.reset();
      if (!rpc_seen_) s.rpc.reset();
      TV_RETURN_IF_ERROR(EnumFromWire(payload_kind_, "span.kind", &s.kind));
      TV_RETURN_IF_ERROR(EnumFromWire(span_status_, "span.status", &s.status));
      break;
    }
    case 23: {
      MetricData& m = *std::get_if<MetricData>(&e->payload);
      const size_t bounds = m.bucket_bounds.size();
      const size_t counts = m.bucket_counts.size();
      if ((bounds != 0 || counts != 0) && counts != bounds + 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("metric.bucket_counts: ", counts, " counts for ",
                         bounds, " bucket_bounds, expected ", bounds + 1));
      }
      TV_RETURN_IF_ERROR(EnumFromWire(payload_kind_, "metric.kind", &m.kind));
      break;
    }
    case 24: {
      KernelData& k = *std::get_if<KernelData>(&e->payload);
      TV_RETURN_IF_ERROR(EnumFromWire(payload_kind_, "kernel.kind", &k.kind));
      break;
    }
    case 26:
      std::get_if<EntityStateData>(&e->payload)->fields.resize(entity_fields_);
      break;
    default:  // the other layers have nothing to check
      break;
  }
  return absl::OkStatus();
}

absl::Status Decoder::Decode(Event* e) {
  e->time_ns = 0;
  e->source.clear();
  Reset(&e->service);
  e->name.clear();
  e->semantic.intent.clear();
  e->semantic.category.clear();
  e->impact.customer_facing = false;
  e->impact.slo.clear();
  e->impact.severity_score = 0;
  e->sample_rate = 0;
  // The id, type, trace, severity, repeated fields and payload are settled
  // by Finish.
  if (!ReadEvent(Range{begin_, end_}, e)) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed wire data: ", error_));
  }
  return Finish(e);
}

}  // namespace

absl::Status DecodeEventWire(absl::string_view bytes, Event* out,
                             const WireDecodeOptions& options) {
  return Decoder(bytes, options).Decode(out);
}

}  // namespace traversion::internal
