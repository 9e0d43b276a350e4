"""OpenTelemetry exporters that write into a Traversion store.

For programs instrumented with the official ``opentelemetry-sdk``: spans and
log records go into the store with their trace ids, span ids, parent links,
attributes, status, times and resource (service) intact, so that TimeQL
(``TRACE``, ``TRAVERSE``, ``ROOT CAUSE OF``...) works on them::

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    import traversion, traversion.otel

    store = traversion.open("history")
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(traversion.otel.SpanExporter(store)))
    trace.set_tracer_provider(provider)

What is stored for each span: one ``span`` event (time = start, its
duration, kind, status and message; HTTP, database and RPC fields taken from
the semantic-convention attributes, which are kept as attributes too), one
``error`` event per ``exception`` span event (type, message, stack trace,
escaped), one ``log`` event per other span event, and the span's links in
the attribute ``otel.links`` (``traceparent`` values separated by spaces).
Ids are derived from the span, so exporting a batch twice stores it once.

Importing this module imports the OpenTelemetry SDK.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Iterable, List, Mapping, Optional, Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter as _SdkSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode

from ._store import Store
from .errors import TraversionError

# The SDK's log exporter interface is still evolving: newer releases call it
# LogRecordExporter (and deprecate LogExporter); take what this SDK has.
import opentelemetry.sdk._logs.export as _sdk_logs

_SdkLogExporter: Any = getattr(_sdk_logs, "LogRecordExporter", None) or _sdk_logs.LogExporter
_LogResult: Any = getattr(_sdk_logs, "LogRecordExportResult", None) or _sdk_logs.LogExportResult

__all__ = ["SpanExporter", "LogExporter"]

_log = logging.getLogger(__name__)

_KINDS = {
    SpanKind.INTERNAL: "internal",
    SpanKind.SERVER: "server",
    SpanKind.CLIENT: "client",
    SpanKind.PRODUCER: "producer",
    SpanKind.CONSUMER: "consumer",
}
_STATUSES = {StatusCode.UNSET: "unset", StatusCode.OK: "ok",
             StatusCode.ERROR: "error"}


def _service(resource: Optional[Resource]) -> dict[str, str]:
    attrs: Mapping[str, Any] = resource.attributes if resource is not None else {}

    def text(*keys: str) -> str:
        for key in keys:
            value = attrs.get(key)
            if value is not None:
                return str(value)
        return ""

    return {
        "name": text("service.name"),
        "instance": text("service.instance.id"),
        "host": text("host.name"),
        "version": text("service.version"),
        "namespace": text("service.namespace"),
        "environment": text("deployment.environment.name",
                            "deployment.environment"),
    }


def _attribute(value: Any) -> Any:
    """An OpenTelemetry attribute value as the store keeps it: scalars as
    they are, sequences as JSON text."""
    if isinstance(value, (str, bool, int, float, bytes)):
        return value
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value), default=str)
    return str(value)


def _attributes(attrs: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    return {str(k): _attribute(v) for k, v in (attrs or {}).items()}


def _first(attrs: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in attrs and attrs[key] is not None:
            return attrs[key]
    return None


def _event_id(time_ns: int, *parts: object) -> str:
    """A stable event id: the time, then 8 bytes of a hash of what makes the
    event unique (re-exporting it yields the same id, stored once)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()
    return f"{time_ns:016x}{digest}"


def _hex(value: int, digits: int) -> str:
    return format(value, f"0{digits}x")


def span_to_events(span: ReadableSpan) -> List[dict[str, Any]]:
    """The store events of one finished span (see the module's docstring)."""
    context = span.get_span_context()
    if context is None:
        return []
    trace_id = _hex(context.trace_id, 32)
    span_id = _hex(context.span_id, 16)
    start = span.start_time or 0
    end = span.end_time or start
    attrs = dict(span.attributes or {})
    status = _STATUSES.get(span.status.status_code, "unset")
    service = _service(span.resource)
    base: dict[str, Any] = {
        "source": "otel",
        "service": service,
        "trace_id": trace_id,
        "span_id": span_id,
        "trace_flags": int(context.trace_flags),
    }
    payload: dict[str, Any] = {
        "kind": _KINDS.get(span.kind, "internal"),
        "duration_ns": max(0, end - start),
        "status": status,
        "status_message": span.status.description or "",
    }
    method = _first(attrs, "http.request.method", "http.method")
    code = _first(attrs, "http.response.status_code", "http.status_code")
    if method is not None or code is not None:
        payload["http"] = {
            "method": str(method or ""),
            "route": str(_first(attrs, "http.route") or ""),
            "url": str(_first(attrs, "url.full", "http.url") or ""),
            "status_code": int(code or 0),
        }
    db_system = _first(attrs, "db.system.name", "db.system")
    if db_system is not None:
        payload["db"] = {
            "system": str(db_system),
            "namespace": str(_first(attrs, "db.namespace", "db.name") or ""),
            "operation": str(_first(attrs, "db.operation.name", "db.operation") or ""),
            "statement": str(_first(attrs, "db.query.text", "db.statement") or ""),
            "table": str(_first(attrs, "db.collection.name", "db.sql.table") or ""),
        }
    rpc_system = _first(attrs, "rpc.system")
    if rpc_system is not None:
        payload["rpc"] = {
            "system": str(rpc_system),
            "service": str(_first(attrs, "rpc.service") or ""),
            "method": str(_first(attrs, "rpc.method") or ""),
            "grpc_status_code": int(_first(attrs, "rpc.grpc.status_code") or 0),
        }
    peer = _first(attrs, "peer.service")
    if peer is not None:
        payload["peer_service"] = str(peer)
    stored_attrs = _attributes(attrs)
    scope = span.instrumentation_scope
    if scope is not None:
        stored_attrs["otel.scope.name"] = scope.name
        if scope.version:
            stored_attrs["otel.scope.version"] = scope.version
    if span.links:
        stored_attrs["otel.links"] = " ".join(
            f"00-{_hex(link.context.trace_id, 32)}-"
            f"{_hex(link.context.span_id, 16)}-{int(link.context.trace_flags):02x}"
            for link in span.links)
    span_event: dict[str, Any] = dict(
        base,
        id=_event_id(start, trace_id, span_id),
        time_ns=start,
        name=span.name,
        severity="error" if status == "error" else "info",
        attributes=stored_attrs,
        span=payload,
    )
    if span.parent is not None and span.parent.span_id:
        span_event["parent_span_id"] = _hex(span.parent.span_id, 16)
    events = [span_event]
    for index, event in enumerate(span.events):
        event_attrs = dict(event.attributes or {})
        item: dict[str, Any] = dict(
            base,
            id=_event_id(event.timestamp, trace_id, span_id, index),
            time_ns=event.timestamp,
        )
        if event.name == "exception":
            escaped = str(event_attrs.pop("exception.escaped", "false")).lower() == "true"
            item.update(
                name=str(event_attrs.get("exception.type", "exception")),
                severity="error",
                error={
                    "type": str(event_attrs.pop("exception.type", "")),
                    "message": str(event_attrs.pop("exception.message", "")),
                    "stacktrace": str(event_attrs.pop("exception.stacktrace", "")),
                    "escaped": escaped,
                    "handled": not escaped,
                },
            )
        else:
            item.update(name=event.name, severity="info",
                        log={"body": event.name})
        item["attributes"] = _attributes(event_attrs)
        events.append(item)
    return events


class SpanExporter(_SdkSpanExporter):
    """An OpenTelemetry ``SpanExporter`` writing finished spans into a store.

    Each ``export`` call is one durable transaction (all spans of the batch
    or none). Use it with a ``BatchSpanProcessor`` (or ``SimpleSpanProcessor``
    in tests). The store is not owned: close it yourself after the tracer
    provider's shutdown.

    Args:
        store: an open :class:`traversion.Store`.
        mask: mask personal data with the store's PII rules (default True).
    """

    def __init__(self, store: Store, *, mask: bool = True) -> None:
        self._store = store
        self._mask = mask
        self._shut_down = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Writes the spans. FAILURE (and a log message) if the store refused
        them; nothing of the batch is written then."""
        if self._shut_down:
            return SpanExportResult.FAILURE
        events: List[dict[str, Any]] = []
        for span in spans:
            events.extend(span_to_events(span))
        return (SpanExportResult.SUCCESS if self._write(events)
                else SpanExportResult.FAILURE)

    def _write(self, events: Iterable[dict[str, Any]]) -> bool:
        try:
            self._store.write(list(events), mask=self._mask)  # type: ignore[arg-type]
            return True
        except (TraversionError, TypeError, ValueError):
            _log.exception("traversion: could not store exported telemetry")
            return False

    def shutdown(self) -> None:
        """Stops exporting (later batches fail). The store stays open."""
        self._shut_down = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Always True: every export is durable when it returns."""
        del timeout_millis
        return True


def log_record_to_event(record: Any, resource: Optional[Resource]) -> Optional[dict[str, Any]]:
    """The store event of one OpenTelemetry log record: a log event, or an
    error event when it carries ``exception.type``."""
    time_ns = record.timestamp or record.observed_timestamp or 0
    attrs = dict(record.attributes or {})
    severity = record.severity_number.value if record.severity_number is not None else 0
    body = record.body if isinstance(record.body, str) else json.dumps(record.body, default=str)
    event: dict[str, Any] = {
        "source": "otel",
        "time_ns": time_ns,
        "service": _service(resource),
        "severity": int(severity),
        "trace_flags": int(record.trace_flags or 0),
    }
    if record.trace_id:
        event["trace_id"] = _hex(record.trace_id, 32)
    if record.span_id:
        event["span_id"] = _hex(record.span_id, 16)
    event["id"] = _event_id(time_ns, event.get("trace_id"), event.get("span_id"), body,
                            sorted(attrs.items(), key=lambda kv: kv[0]))
    if "exception.type" in attrs:
        event["name"] = str(attrs["exception.type"])
        event["error"] = {
            "type": str(attrs.pop("exception.type")),
            "message": str(attrs.pop("exception.message", body)),
            "stacktrace": str(attrs.pop("exception.stacktrace", "")),
            "handled": True,
        }
    else:
        logger = attrs.get("code.function.name") or attrs.get("code.function") or ""
        event["log"] = {
            "body": body,
            "logger": str(logger),
            "code_file": str(_first(attrs, "code.file.path", "code.filepath") or ""),
            "code_line": int(_first(attrs, "code.line.number", "code.lineno") or 0),
        }
    event["attributes"] = _attributes(attrs)
    return event


class LogExporter(_SdkLogExporter):  # type: ignore[misc]
    """An OpenTelemetry log exporter writing log records into a store (with
    their trace and span ids, so that they join their traces). Use it with
    a ``BatchLogRecordProcessor``. Arguments as for :class:`SpanExporter`."""

    def __init__(self, store: Store, *, mask: bool = True) -> None:
        self._spans = SpanExporter(store, mask=mask)

    def export(self, batch: Sequence[Any]) -> Any:
        """Writes the log records (``ReadableLogRecord``s, or ``LogData`` of
        older SDKs)."""
        events = []
        for item in batch:
            record = getattr(item, "log_record", item)
            resource = getattr(item, "resource", None) or getattr(record, "resource", None)
            event = log_record_to_event(record, resource)
            if event is not None:
                events.append(event)
        ok = self._spans._write(events)
        return _LogResult.SUCCESS if ok else _LogResult.FAILURE

    def shutdown(self) -> None:
        """Stops exporting. The store stays open."""
        self._spans.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Always True: every export is durable when it returns."""
        del timeout_millis
        return True
