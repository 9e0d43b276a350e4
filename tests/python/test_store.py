"""The store and the recording API: open/close, spans, logs, errors,
metrics, entity state, complete events, and what bad input does."""

from __future__ import annotations

import asyncio
import datetime as dt
import pathlib

import pytest

import traversion


def events_of(store: traversion.Store, where: str = "") -> list[dict]:
    store.flush()
    result = store.query("EVENTS" + (f" WHERE {where}" if where else ""))
    return [store.get(row["id"]) for row in result.dicts()]


def test_open_context_manager_closes(tmp_path: pathlib.Path) -> None:
    with traversion.open(tmp_path / "s", service="svc") as store:
        assert not store.closed
        assert store.path.endswith("s")
    assert store.closed
    with pytest.raises(traversion.StoreClosedError):
        store.query("EVENTS")
    with pytest.raises(traversion.StoreClosedError):
        store.log("after close")
    store.close()  # idempotent


def test_reopen_keeps_what_was_recorded(tmp_path: pathlib.Path) -> None:
    with traversion.open(tmp_path / "s", service="svc") as store:
        store.log("first life")
    with traversion.open(tmp_path / "s", create=False) as store:
        rows = store.query("EVENTS message").rows()
    assert rows == [("first life",)]


def test_missing_store_is_store_not_found(tmp_path: pathlib.Path) -> None:
    with pytest.raises(traversion.StoreNotFoundError) as info:
        traversion.open(tmp_path / "absent", create=False)
    assert info.value.code == "NOT_FOUND"
    assert isinstance(info.value, traversion.StoreError)


def test_second_open_in_one_process_is_store_error(tmp_path: pathlib.Path) -> None:
    with traversion.open(tmp_path / "s"):
        with pytest.raises(traversion.StoreError) as info:
            traversion.open(tmp_path / "s")
        assert info.value.code == "FAILED_PRECONDITION"


def test_read_only_store_refuses_recording(tmp_path: pathlib.Path) -> None:
    with traversion.open(tmp_path / "s") as store:
        store.log("x")
    with traversion.open(tmp_path / "s", read_only=True) as store:
        assert store.read_only
        assert len(store.query("EVENTS").rows()) == 1
        with pytest.raises(traversion.RecorderError):
            store.log("refused")


def test_bad_open_options_are_value_errors(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError):
        traversion.open(tmp_path / "s", sync="sometimes")  # type: ignore[arg-type]
    with pytest.raises(traversion.RecorderError):
        traversion.open(tmp_path / "t", pii_patterns={"bad": "("})


def test_span_context_manager_records_tree(store: traversion.Store) -> None:
    with store.span("GET /orders/{id}", kind="server",
                    attributes={"order.id": 42}) as outer:
        outer.set_http("GET", "/orders/{id}", 200)
        assert traversion.current_span() is outer
        with store.span("SELECT orders", kind="client") as inner:
            inner.set_db("postgresql", "SELECT", "SELECT * FROM orders")
            store.log("loaded", rows=3, cached=False, ratio=0.5)
        assert traversion.current_span() is outer
    assert traversion.current_span() is None

    store.flush()
    events = store.trace_events(outer.trace_id)
    by_name = {e["name"] or e["type"]: e for e in events}
    root, child = by_name["GET /orders/{id}"], by_name["SELECT orders"]
    assert root["span"]["kind"] == "server"
    assert root["span"]["http"]["status_code"] == 200
    assert root["attributes"]["order.id"] == 42
    assert root["parent_span_id"] is None
    assert child["parent_span_id"] == outer.span_id
    assert child["span"]["db"]["system"] == "postgresql"
    assert child["span"]["duration_ns"] <= root["span"]["duration_ns"]
    log = by_name["log"]
    assert log["span_id"] == inner.span_id
    assert log["log"]["body"] == "loaded"
    assert log["attributes"] == {"rows": 3, "cached": False, "ratio": 0.5}


def test_exception_leaving_span_is_error_event_and_status(store: traversion.Store) -> None:
    class PaymentDeclined(Exception):
        pass

    with pytest.raises(PaymentDeclined):
        with store.span("charge") as span:
            raise PaymentDeclined("card declined")
    store.flush()
    events = store.trace_events(span.trace_id)
    spans = [e for e in events if e["type"] == "span"]
    errors = [e for e in events if e["type"] == "error"]
    assert spans[0]["span"]["status"] == "error"
    assert spans[0]["span"]["status_message"] == "card declined"
    assert len(errors) == 1
    error = errors[0]["error"]
    assert error["type"].endswith("PaymentDeclined")
    assert error["message"] == "card declined"
    assert error["escaped"] is True and error["handled"] is False
    assert "raise PaymentDeclined" in error["stacktrace"]
    assert errors[0]["span_id"] == span.span_id


def test_exception_inside_except_block(store: traversion.Store) -> None:
    try:
        {}["missing"]
    except KeyError:
        store.exception(attributes={"retry": 1})
    (event,) = events_of(store, "type = 'error'")
    assert event["error"]["type"] == "KeyError"
    assert event["error"]["handled"] is True
    assert event["attributes"] == {"retry": 1}
    with pytest.raises(ValueError):
        store.exception()  # no exception being handled


def test_decorator_makes_a_span_per_call(store: traversion.Store) -> None:
    @store.span("fib")
    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert fib(4) == 3
    store.flush()
    (count,) = store.query("EVENTS COUNT(*) WHERE name = 'fib'").rows()[0]
    assert count == 9  # calls of fib(4)
    (roots,) = store.query(
        "EVENTS COUNT(*) WHERE name = 'fib' AND NOT HAS PARENT (name = 'fib')").rows()[0]
    assert roots == 1


def test_async_decorator_keeps_tasks_apart(store: traversion.Store) -> None:
    @store.span("handle")
    async def handle(i: int) -> str:
        await asyncio.sleep(0)
        with store.span("step"):
            await asyncio.sleep(0)
            return traversion.current_span().trace_id  # type: ignore[union-attr]

    async def main() -> list[str]:
        return list(await asyncio.gather(*(handle(i) for i in range(5))))

    trace_ids = asyncio.run(main())
    store.flush()
    assert len(set(trace_ids)) == 5  # each task its own trace
    for trace_id in trace_ids:
        names = sorted(e["name"] for e in store.trace_events(trace_id))
        assert names == ["handle", "step"]


def test_traceparent_parent_joins_remote_trace(store: traversion.Store) -> None:
    header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with store.span("GET /api", kind="server", parent=header) as span:
        pass
    assert span.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    store.flush()
    (event,) = store.trace_events(span.trace_id)
    assert event["parent_span_id"] == "00f067aa0ba902b7"
    assert span.traceparent.startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    # An invalid header starts a new trace, as W3C Trace Context asks.
    with store.span("GET /api", parent="garbage") as fresh:
        pass
    assert fresh.trace_id != span.trace_id


def test_span_entered_twice_is_an_error(store: traversion.Store) -> None:
    span = store.span("once")
    with span:
        pass
    with pytest.raises(RuntimeError):
        with span:
            pass


def test_metrics_and_custom_events(store: traversion.Store) -> None:
    store.gauge("cpu.utilization", 42.5, unit="%")
    store.counter("requests", 3, attributes={"route": "/x"})
    store.histogram("latency", 0.25, unit="s")
    store.event("deploy.started", severity="warn", version="1.2.3")
    events = {e["name"]: e for e in events_of(store)}
    assert events["cpu.utilization"]["metric"] == {
        **events["cpu.utilization"]["metric"], "kind": "gauge", "value": 42.5,
        "unit": "%"}
    assert events["requests"]["metric"]["kind"] == "counter"
    assert events["latency"]["metric"]["kind"] == "histogram"
    assert events["deploy.started"]["severity"] == "warn"
    assert events["deploy.started"]["attributes"] == {"version": "1.2.3"}


def test_entity_state_and_state_at(store: traversion.Store) -> None:
    store.entity_state("pool/db", "connection_pool",
                       {"in_use": 5, "max": 20, "healthy": True})
    store.flush()
    middle = dt.datetime.now(dt.timezone.utc)
    store.entity_state("pool/db", "connection_pool",
                       {"in_use": 20, "max": 20, "healthy": False})
    store.flush()
    then = store.query(f"STATE AT {middle.timestamp() * 1e9:.0f} "
                       "WHERE entity = 'pool/db'").dicts()
    now = store.query("STATE AT 'now' WHERE entity = 'pool/db'").dicts()
    assert {r["field"]: r["value"] for r in then} == {
        "healthy": "true", "in_use": "5", "max": "20"}
    assert {r["field"]: r["value"] for r in now}["in_use"] == "20"
    history = store.query("HISTORY OF 'pool/db'").rows()
    assert len(history) == 2


def test_write_complete_events_round_trip(store: traversion.Store) -> None:
    event = {
        "time_ns": 1_705_333_643_000_000_000,
        "service": {"name": "payments", "version": "2.4.1"},
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "parent_span_id": "a0f067aa0ba902b7",
        "name": "POST /pay",
        "severity": "error",
        "attributes": {"attempt": 2, "raw": b"\x00\x01"},
        "span": {"kind": "server", "duration_ns": 5_000_000, "status": "error",
                 "status_message": "timeout",
                 "http": {"method": "POST", "route": "/pay", "status_code": 503}},
    }
    written = store.write([event])
    assert written["written"] == 1 and written["duplicates"] == 0
    (event_id,) = written["ids"]
    stored = store.get(event_id)
    assert stored is not None
    assert stored["time_ns"] == event["time_ns"]
    assert stored["service"]["version"] == "2.4.1"
    assert stored["parent_span_id"] == "a0f067aa0ba902b7"
    assert stored["attributes"] == {"attempt": 2, "raw": b"\x00\x01"}
    assert stored["span"]["http"]["status_code"] == 503
    # The same event again (same id) is stored once.
    again = store.write([dict(event, id=event_id)])
    assert again["written"] == 0 and again["duplicates"] == 1
    assert store.get("0" * 32) is None


@pytest.mark.parametrize("bad, error", [
    ({"time_ns": "yesterday"}, TypeError),
    ({"time_ns": -1}, ValueError),
    ({"severity": "loud"}, ValueError),
    ({"trace_id": "xyz"}, ValueError),
    ({"colour": "red"}, ValueError),                     # unknown key
    ({"span": {"kind": "sideways"}}, ValueError),
    ({"log": {"body": "x"}, "error": {"type": "E"}}, ValueError),
    ({"attributes": {"k": [1, 2]}}, TypeError),
    ({"attributes": {"k": 2**70}}, ValueError),
])
def test_bad_event_is_refused_and_batch_not_written(
        store: traversion.Store, bad: dict, error: type) -> None:
    good = {"time_ns": 1_000, "name": "good", "log": {"body": "fine"}}
    store.write([good])
    with pytest.raises(error) as info:
        store.write([dict(good, name="second good"), bad])
    assert "event 1" in str(info.value)
    names = [r[0] for r in store.query("EVENTS name").rows()]
    assert names == ["good"]  # nothing of the failed batch, nothing lost


def test_event_refused_by_store_validation(store: traversion.Store) -> None:
    huge = {"time_ns": 1_000, "log": {"body": "x" * (2 << 20)}}
    with pytest.raises(traversion.InvalidEventError) as info:
        store.write([{"time_ns": 1, "name": "kept?"}, huge])
    assert info.value.code == "INVALID_ARGUMENT"
    assert store.query("EVENTS").rows() == []


def test_bad_recording_arguments(store: traversion.Store) -> None:
    with pytest.raises(TypeError):
        store.log("x", attributes={"k": object()})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        store.log("x", severity="loud")
    with pytest.raises(ValueError):
        store.span("x", kind="sideways").start()  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.write({"time_ns": 1})  # type: ignore[arg-type]
    # Nothing recorded by the refused calls, and the store still works.
    store.log("still fine", severity=traversion.Severity.WARN)
    store.flush()
    assert [r[0] for r in store.query("EVENTS message").rows()] == ["still fine"]


def test_logging_handler(store: traversion.Store) -> None:
    import logging

    logger = logging.getLogger("test.traversion")
    logger.propagate = False
    handler = traversion.LoggingHandler(store)
    logger.addHandler(handler)
    try:
        with store.span("job"):
            logger.warning("disk at %d%%", 91)
    finally:
        logger.removeHandler(handler)
    (event,) = events_of(store, "type = 'log'")
    assert event["log"]["body"] == "disk at 91%"
    assert event["severity"] == "warn"
    assert event["attributes"]["logger"] == "test.traversion"
    assert event["span_id"] is not None


def test_recorder_stats_account_for_everything(store: traversion.Store) -> None:
    assert store.recorder_stats() is None
    for i in range(100):
        store.log("n", i=i)
    store.flush()
    stats = store.recorder_stats()
    assert stats is not None
    assert stats["recorded"] == 100
    assert stats["stored"] + stats["dropped"] + stats["sampled_out"] == 100
