#include "event/wire_encoder.h"

#include <bit>
#include <cstring>

#include "event/presence.h"

namespace traversion::internal {
namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2 };

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}

  void Varint(uint64_t v) {
    char buf[10];
    int n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_->append(buf, n);
  }
  void Tag(uint32_t field, WireType type) { Varint(field << 3 | type); }

  // proto3 scalars: written only when not the default.
  void UInt(uint32_t field, uint64_t v) {
    if (v != 0) {
      Tag(field, kVarint);
      Varint(v);
    }
  }
  // int32/int64/enums: negative values are sign-extended to 64 bits.
  void Int(uint32_t field, int64_t v) { UInt(field, static_cast<uint64_t>(v)); }
  void Bool(uint32_t field, bool v) { UInt(field, v ? 1 : 0); }
  void Fixed64(uint32_t field, uint64_t v) {
    if (v != 0) {
      Tag(field, kFixed64);
      RawFixed64(v);
    }
  }
  // Doubles are compared by bits: -0.0 is a value (as protobuf does).
  void Double(uint32_t field, double v) {
    Fixed64(field, std::bit_cast<uint64_t>(v));
  }
  void String(uint32_t field, const std::string& s) {
    if (!s.empty()) Bytes(field, s.data(), s.size());
  }
  // Always written: oneof members and repeated elements.
  void Bytes(uint32_t field, const void* data, size_t size) {
    Tag(field, kLen);
    Varint(size);
    out_->append(static_cast<const char*>(data), size);
  }
  void RawFixed64(uint64_t v) {
    char buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (8 * i));
    out_->append(buf, 8);
  }

  // A length-delimited sub-message: `body` writes its fields. One byte is
  // reserved for the length, which nearly always suffices; longer lengths
  // shift the body up.
  template <typename Body>
  void Message(uint32_t field, Body body) {
    Tag(field, kLen);
    const size_t at = out_->size();
    out_->push_back(0);
    body();
    const size_t len = out_->size() - at - 1;
    if (len < 0x80) {
      (*out_)[at] = static_cast<char>(len);
      return;
    }
    char buf[10];
    int n = 0;
    for (uint64_t v = len;; v >>= 7) {
      if (v < 0x80) {
        buf[n++] = static_cast<char>(v);
        break;
      }
      buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    }
    out_->insert(at + 1, static_cast<size_t>(n - 1), '\0');
    std::memcpy(out_->data() + at, buf, static_cast<size_t>(n));
  }

 private:
  std::string* out_;
};

template <size_t N>
void Id(Writer& w, uint32_t field, const std::array<uint8_t, N>& id) {
  if (!AllZero(id)) w.Bytes(field, id.data(), N);
}

void WriteAttributeValue(Writer& w, const AttributeValue& value) {
  switch (value.index()) {
    case 0: {
      const std::string& s = std::get<std::string>(value);
      w.Bytes(1, s.data(), s.size());
      break;
    }
    case 1:
      w.Tag(2, kVarint);
      w.Varint(static_cast<uint64_t>(std::get<int64_t>(value)));
      break;
    case 2:
      w.Tag(3, kFixed64);
      w.RawFixed64(std::bit_cast<uint64_t>(std::get<double>(value)));
      break;
    case 3:
      w.Tag(4, kVarint);
      w.Varint(std::get<bool>(value) ? 1 : 0);
      break;
    case 4: {
      const std::vector<uint8_t>& b = std::get<std::vector<uint8_t>>(value);
      w.Bytes(5, b.data(), b.size());
      break;
    }
  }
}

void WriteSpan(Writer& w, const SpanData& s) {
  w.Int(1, static_cast<int>(s.kind));
  w.Fixed64(2, s.duration_ns);
  w.Int(3, static_cast<int>(s.status));
  w.String(4, s.status_message);
  if (s.http) {
    const HttpInfo& h = *s.http;
    w.Message(5, [&] {
      w.String(1, h.method);
      w.String(2, h.route);
      w.String(3, h.url);
      w.Int(4, h.status_code);
      w.String(5, h.client_ip);
      w.Int(6, h.request_size);
      w.Int(7, h.response_size);
    });
  }
  if (s.db) {
    const DbInfo& d = *s.db;
    w.Message(6, [&] {
      w.String(1, d.system);
      w.String(2, d.namespace_);
      w.String(3, d.operation);
      w.String(4, d.statement);
      w.String(5, d.table);
    });
  }
  if (s.rpc) {
    const RpcInfo& r = *s.rpc;
    w.Message(7, [&] {
      w.String(1, r.system);
      w.String(2, r.service);
      w.String(3, r.method);
      w.Int(4, r.grpc_status_code);
    });
  }
  w.String(8, s.peer_service);
}

void WriteMetric(Writer& w, const MetricData& m) {
  w.Int(1, static_cast<int>(m.kind));
  w.Double(2, m.value);
  w.String(3, m.unit);
  if (!m.bucket_bounds.empty()) {  // packed
    w.Tag(4, kLen);
    w.Varint(m.bucket_bounds.size() * 8);
    for (double d : m.bucket_bounds) w.RawFixed64(std::bit_cast<uint64_t>(d));
  }
  if (!m.bucket_counts.empty()) {  // packed
    w.Message(5, [&] {
      for (uint64_t c : m.bucket_counts) w.Varint(c);
    });
  }
  w.Double(6, m.sum);
  w.UInt(7, m.count);
}

void WriteKernel(Writer& w, const KernelData& k) {
  w.Int(1, static_cast<int>(k.kind));
  w.UInt(2, k.pid);
  w.UInt(3, k.tid);
  w.UInt(4, k.ppid);
  w.String(5, k.comm);
  w.UInt(6, k.cgroup_id);
  w.String(7, k.syscall);
  w.Int(8, k.syscall_nr);
  w.Int(9, k.errno_value);
  w.Int(10, k.return_value);
  w.Int(11, k.exit_code);
  w.Int(12, k.signal);
  w.String(13, k.filename);
  w.String(14, k.saddr);
  w.String(15, k.daddr);
  w.UInt(16, k.sport);
  w.UInt(17, k.dport);
}

void WritePayload(Writer& w, const Payload& payload) {
  switch (payload.index()) {
    case 0:
      return;
    case 1:
      w.Message(20, [&] { WriteSpan(w, std::get<SpanData>(payload)); });
      return;
    case 2: {
      const LogData& l = std::get<LogData>(payload);
      w.Message(21, [&] {
        w.String(1, l.body);
        w.String(2, l.logger);
        w.String(3, l.code_file);
        w.Int(4, l.code_line);
      });
      return;
    }
    case 3: {
      const ErrorData& e = std::get<ErrorData>(payload);
      w.Message(22, [&] {
        w.String(1, e.exception_type);
        w.String(2, e.message);
        w.String(3, e.stacktrace);
        w.Bool(4, e.handled);
        w.Bool(5, e.escaped);
      });
      return;
    }
    case 4:
      w.Message(23, [&] { WriteMetric(w, std::get<MetricData>(payload)); });
      return;
    case 5:
      w.Message(24, [&] { WriteKernel(w, std::get<KernelData>(payload)); });
      return;
    case 6: {
      const KubernetesData& k = std::get<KubernetesData>(payload);
      w.Message(25, [&] {
        w.String(1, k.namespace_);
        w.String(2, k.pod);
        w.String(3, k.container);
        w.String(4, k.node);
        w.String(5, k.object_kind);
        w.String(6, k.reason);
        w.String(7, k.message);
      });
      return;
    }
    case 7: {
      const EntityStateData& s = std::get<EntityStateData>(payload);
      w.Message(26, [&] {
        w.String(1, s.entity);
        w.String(2, s.entity_type);
        for (const EntityField& f : s.fields) {
          w.Message(3, [&] {
            w.String(1, f.name);
            w.String(2, f.value);
          });
        }
        w.Bool(4, s.deleted);
      });
      return;
    }
    case 8: {
      const UiInteractionData& u = std::get<UiInteractionData>(payload);
      w.Message(27, [&] {
        w.String(1, u.action);
        w.String(2, u.target);
        w.String(3, u.page);
        w.String(4, u.session_id);
        w.String(5, u.user_id);
      });
      return;
    }
  }
}

}  // namespace

void AppendEventWire(const Event& e, const WireOptions& options,
                     std::string* out) {
  Writer w(out);
  if (!options.omit_id_and_time) {
    if (!e.id.empty()) {
      static constexpr char kHex[] = "0123456789abcdef";
      char hex[32];
      int i = 0;
      for (uint64_t half : {e.id.time_ns, e.id.suffix}) {
        for (int shift = 60; shift >= 0; shift -= 4) {
          hex[i++] = kHex[(half >> shift) & 0xf];
        }
      }
      w.Bytes(1, hex, sizeof(hex));
    }
    w.Fixed64(2, e.time_ns);
  }
  w.Int(3, static_cast<int>(e.effective_type()));
  w.String(4, e.source);
  if (!IsEmpty(e.service)) {
    w.Message(5, [&] {
      w.String(1, e.service.name);
      w.String(2, e.service.instance);
      w.String(3, e.service.host);
      w.String(4, e.service.version);
      w.String(5, e.service.namespace_);
      w.String(6, e.service.environment);
    });
  }
  if (!IsEmpty(e.trace)) {
    w.Message(6, [&] {
      Id(w, 1, e.trace.trace_id);
      Id(w, 2, e.trace.span_id);
      Id(w, 3, e.trace.parent_span_id);
      w.UInt(4, e.trace.trace_flags);
    });
  }
  w.Int(7, static_cast<int>(e.severity));
  w.String(8, e.name);
  if (!IsEmpty(e.semantic)) {
    w.Message(9, [&] {
      w.String(1, e.semantic.intent);
      w.String(2, e.semantic.category);
      for (const std::string& tag : e.semantic.tags) {
        w.Bytes(3, tag.data(), tag.size());
      }
    });
  }
  if (!IsEmpty(e.impact)) {
    w.Message(10, [&] {
      w.Bool(1, e.impact.customer_facing);
      w.String(2, e.impact.slo);
      w.Double(3, e.impact.severity_score);
    });
  }
  for (const Attribute& a : e.attributes) {
    w.Message(11, [&] {
      w.String(1, a.key);
      w.Message(2, [&] { WriteAttributeValue(w, a.value); });
    });
  }
  for (const std::string& ref : e.entity_refs) {
    w.Bytes(12, ref.data(), ref.size());
  }
  w.Double(13, e.sample_rate);
  WritePayload(w, e.payload);
}

}  // namespace traversion::internal
