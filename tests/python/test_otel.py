"""traversion.otel: a small program instrumented with the official
OpenTelemetry SDK exports into a store; spans, attributes, status,
exception events, parent links and log records land intact."""

from __future__ import annotations

import logging
import pathlib
from typing import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

import traversion
import traversion.otel


class OutOfStock(Exception):
    pass


def checkout(tracer: trace.Tracer, logger: logging.Logger, item: str) -> str:
    """The program under test: an HTTP handler calling a database and a
    payment service, failing when the item is out of stock."""
    with tracer.start_as_current_span("POST /checkout", kind=trace.SpanKind.SERVER,
                                      attributes={"http.request.method": "POST",
                                                  "http.route": "/checkout",
                                                  "cart.items": 3}) as server:
        with tracer.start_as_current_span("SELECT stock", kind=trace.SpanKind.CLIENT,
                                          attributes={"db.system.name": "postgresql",
                                                      "db.operation.name": "SELECT",
                                                      "db.query.text": "SELECT n FROM stock"}):
            logger.warning("stock low for %s", item)
        try:
            with tracer.start_as_current_span("reserve", attributes={"item": item,
                                                                      "tags": ["a", "b"]}):
                raise OutOfStock(f"{item} is out of stock")
        except OutOfStock as e:
            server.set_status(Status(StatusCode.ERROR, str(e)))
            server.set_attribute("http.response.status_code", 409)
            return "conflict"
    return "ok"  # pragma: no cover


from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

Instrumented = tuple[traversion.Store, trace.Tracer, logging.Logger, InMemorySpanExporter]


@pytest.fixture
def instrumented(tmp_path: pathlib.Path) -> Iterator[Instrumented]:
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

    store = traversion.open(tmp_path / "s")
    resource = Resource.create({"service.name": "shop", "service.version": "1.4.2",
                                "deployment.environment.name": "test"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(traversion.otel.SpanExporter(store)))
    # What the SDK itself exported, to compare the store with.
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(SimpleLogRecordProcessor(traversion.otel.LogExporter(store)))
    logger = logging.getLogger("shop")
    logger.propagate = False
    handler = LoggingHandler(logger_provider=logs)
    logger.addHandler(handler)
    try:
        yield store, provider.get_tracer("shop.checkout", "0.9"), logger, memory
    finally:
        logger.removeHandler(handler)
        provider.shutdown()
        logs.shutdown()
        store.close()


def test_spans_land_intact(instrumented: Instrumented) -> None:
    store, tracer, logger, memory = instrumented
    assert checkout(tracer, logger, "lamp") == "conflict"

    (trace_id,) = {r[0] for r in store.query("EVENTS trace_id WHERE type = 'span'").rows()}
    events = store.trace_events(trace_id)
    spans = {e["name"]: e for e in events if e["type"] == "span"}
    assert set(spans) == {"POST /checkout", "SELECT stock", "reserve"}
    server, db, reserve = spans["POST /checkout"], spans["SELECT stock"], spans["reserve"]

    # Parent links.
    assert server["parent_span_id"] is None
    assert db["parent_span_id"] == server["span_id"]
    assert reserve["parent_span_id"] == server["span_id"]
    # Resource, kinds, status, semantic conventions.
    assert server["service"]["name"] == "shop"
    assert server["service"]["version"] == "1.4.2"
    assert server["service"]["environment"] == "test"
    assert server["source"] == "otel"
    assert server["span"]["kind"] == "server" and db["span"]["kind"] == "client"
    assert server["span"]["status"] == "error"
    assert server["span"]["status_message"] == "lamp is out of stock"
    assert server["span"]["http"] == {**server["span"]["http"], "method": "POST",
                                      "route": "/checkout", "status_code": 409}
    assert db["span"]["db"]["statement"] == "SELECT n FROM stock"
    assert reserve["span"]["status"] == "error"
    # Attributes keep their types; sequences become JSON text.
    assert server["attributes"]["cart.items"] == 3
    assert server["attributes"]["otel.scope.name"] == "shop.checkout"
    assert reserve["attributes"]["tags"] == '["a", "b"]'
    # Times: the children lie within the parent.
    assert server["time_ns"] <= db["time_ns"]
    assert db["time_ns"] + db["span"]["duration_ns"] <= \
        server["time_ns"] + server["span"]["duration_ns"]
    # Ids and times are the SDK's own.
    exported = {s.name: s for s in memory.get_finished_spans()}
    for name, stored in spans.items():
        sdk = exported[name]
        assert stored["span_id"] == format(sdk.context.span_id, "016x")
        assert stored["trace_id"] == format(sdk.context.trace_id, "032x")
        assert stored["time_ns"] == sdk.start_time
        assert stored["span"]["duration_ns"] == sdk.end_time - sdk.start_time
    # The exception event of `reserve` became an error event in its span,
    # with what the SDK recorded.
    (sdk_event,) = exported["reserve"].events
    (error,) = [e for e in events if e["type"] == "error"]
    assert error["span_id"] == reserve["span_id"]
    assert error["time_ns"] == sdk_event.timestamp
    assert error["error"]["type"] == sdk_event.attributes["exception.type"]
    assert error["error"]["type"].endswith("OutOfStock")
    assert error["error"]["message"] == "lamp is out of stock"
    assert error["error"]["stacktrace"] == sdk_event.attributes["exception.stacktrace"]
    assert "raise OutOfStock" in error["error"]["stacktrace"]
    escaped = sdk_event.attributes.get("exception.escaped", "False") == "True"
    assert error["error"]["escaped"] is escaped
    # The log record joined its span.
    (log,) = [e for e in events if e["type"] == "log"]
    assert log["log"]["body"] == "stock low for lamp"
    assert log["severity"] == "warn" and log["span_id"] == db["span_id"]

    # TimeQL sees the tree, and the root cause is the deepest error.
    rows = store.trace(trace_id).dicts()
    assert [r["depth"] for r in rows if r["type"] == "span"] == [0, 1, 1]
    (best, *_) = store.root_cause(last_error=True)
    assert error["id"] in best.evidence


def test_reexport_is_idempotent(instrumented: Instrumented) -> None:
    store = instrumented[0]

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("once"):
        pass
    exporter = traversion.otel.SpanExporter(store)
    finished = memory.get_finished_spans()
    assert exporter.export(finished).name == "SUCCESS"
    assert exporter.export(finished).name == "SUCCESS"
    (count,) = store.query("EVENTS COUNT(*) WHERE name = 'once'").rows()[0]
    assert count == 1
    exporter.shutdown()
    assert exporter.export(finished).name == "FAILURE"
