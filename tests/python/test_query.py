"""TimeQL from Python: results as tuples, pandas, Arrow; errors with their
position; limits; trace, root cause."""

from __future__ import annotations

import ctypes
import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import traversion

T0 = 1_705_333_200_000_000_000  # 2024-01-15T15:40:00Z


def seed(store: traversion.Store) -> None:
    """A failed request: a trace of three spans with an error and a log,
    plus gauges."""
    trace = "11111111111111111111111111111111"
    events = [
        {"time_ns": T0, "service": "web", "name": "POST /checkout",
         "trace_id": trace, "span_id": "000000000000000a", "severity": "error",
         "span": {"kind": "server", "duration_ns": 900_000_000, "status": "error",
                  "status_message": "checkout failed"}},
        {"time_ns": T0 + 1_000, "service": "payments", "name": "POST /pay",
         "trace_id": trace, "span_id": "000000000000000b",
         "parent_span_id": "000000000000000a", "severity": "error",
         "span": {"kind": "server", "duration_ns": 800_000_000, "status": "error",
                  "status_message": "pool exhausted"}},
        {"time_ns": T0 + 2_000, "service": "payments", "name": "PoolTimeout",
         "trace_id": trace, "span_id": "000000000000000b", "severity": "error",
         "error": {"type": "PoolTimeout", "message": "no connection in 5000 ms"}},
        {"time_ns": T0 + 3_000, "service": "web", "trace_id": trace,
         "span_id": "000000000000000a", "severity": "info",
         "log": {"body": "retrying"}},
    ]
    for i in range(10):
        events.append({"time_ns": T0 + i * 1_000_000_000, "service": "payments",
                       "name": "cpu.utilization", "severity": "info",
                       "metric": {"kind": "gauge", "value": 10.0 + i, "unit": "%"}})
    store.write(events)


def test_columns_and_typed_rows(store: traversion.Store) -> None:
    seed(store)
    result = store.query("EVENTS time, service, duration, value, name "
                         "WHERE type = 'span' ORDER BY time")
    assert result.kind == "events"
    assert result.columns == [("time", "time"), ("service", "string"),
                              ("duration", "duration"), ("value", "double"),
                              ("name", "string")]
    rows = list(result)
    assert rows[0] == (dt.datetime(2024, 1, 15, 15, 40, tzinfo=dt.timezone.utc),
                       "web", dt.timedelta(milliseconds=900), None,
                       "POST /checkout")
    assert len(rows) == 2
    assert result.exhausted
    assert list(result) == []  # consumed once, like a cursor


def test_peek_and_html_do_not_consume(store: traversion.Store) -> None:
    seed(store)
    result = store.query("EVENTS name WHERE type = 'metric'")
    assert len(result.peek(3)) == 3
    html = result._repr_html_()
    assert html.count("<tr>") == 1 + 10 and "cpu.utilization" in html
    assert "<script>" not in store.query("EVENTS '<script>' AS x")._repr_html_()
    assert len(result.fetchmany(4)) == 4
    assert len(result.rows()) == 6


def test_to_pandas_dtypes_and_nulls(store: traversion.Store) -> None:
    seed(store)
    frame = store.query("EVENTS time, name, duration, value, "
                        "COUNT(*) AS n, value > 12 AS hot "
                        "GROUP BY time, name, duration, value ORDER BY time").to_pandas()
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]"
    assert frame["duration"].dtype == np.dtype("timedelta64[ns]")
    assert frame["value"].dtype == np.float64
    assert frame["n"].dtype == np.int64
    assert frame["time"].iloc[0] == pd.Timestamp("2024-01-15T15:40:00Z")
    # Nanoseconds are kept (T0 + 1 µs exactly, not rounded).
    assert (frame["time"] == pd.Timestamp(T0 + 1_000, tz="UTC")).sum() == 1
    assert pd.isna(frame["duration"]).sum() == len(frame) - 2
    assert frame["hot"].dtype == "boolean"  # NULL for events without a value
    assert frame["value"].notna().sum() == 10


def test_empty_result_to_pandas(store: traversion.Store) -> None:
    frame = store.query("EVENTS time, name WHERE type = 'span'").to_pandas()
    assert list(frame.columns) == ["time", "name"] and len(frame) == 0


def test_arrow_stream_with_pyarrow(store: traversion.Store) -> None:
    seed(store)
    table = pa.table(store.query("EVENTS time, name, duration, value, "
                                 "severity = 'error' AS bad ORDER BY time"))
    assert table.schema.field("time").type == pa.timestamp("ns", tz="UTC")
    assert table.schema.field("duration").type == pa.duration("ns")
    assert table.schema.field("value").type == pa.float64()
    assert table.schema.field("bad").type == pa.bool_()
    assert table.num_rows == 14
    assert table.column("value").null_count == 4
    assert T0 + 1_000 in {t.value for t in table.column("time")}  # ns kept
    assert table.column("bad").to_pylist().count(True) == 3


def test_arrow_capsule_protocol() -> None:
    # The PyCapsule interface, checked without pyarrow: the capsule's name.
    import tempfile

    with tempfile.TemporaryDirectory() as d, traversion.open(d + "/s") as store:
        capsule = store.query("EVENTS").__arrow_c_stream__()
        is_valid = ctypes.pythonapi.PyCapsule_IsValid
        is_valid.restype = ctypes.c_int
        is_valid.argtypes = [ctypes.py_object, ctypes.c_char_p]
        assert is_valid(capsule, b"arrow_array_stream") == 1
        del capsule  # its destructor releases the unconsumed stream


def test_arrow_batches_stream_large_results(store: traversion.Store) -> None:
    store.write([{"time_ns": T0 + i, "name": f"e{i % 7}", "log": {"body": "b"}}
                 for i in range(70_000)])
    reader = pa.RecordBatchReader.from_stream(store.query("EVENTS name"))
    sizes = [batch.num_rows for batch in reader]
    assert sum(sizes) == 70_000 and len(sizes) == 2


def test_query_error_carries_line_and_column(store: traversion.Store) -> None:
    with pytest.raises(traversion.QueryError) as info:
        store.query("MATCH PATTERN WHERE cpu > 80%\n  FOLLOWD BY memory > 90%")
    error = info.value
    assert (error.line, error.column) == (2, 3)
    assert error.reason.startswith("unexpected 'FOLLOWD'")
    assert error.source_line == "  FOLLOWD BY memory > 90%"
    assert error.caret is not None and error.caret.index("^") == 2
    assert isinstance(error, ValueError) and error.code == "INVALID_ARGUMENT"

    with pytest.raises(traversion.QueryError) as info:
        store.query("EVENTS WHERE sevrity = 'error'")
    assert "did you mean 'severity'" in info.value.reason
    with pytest.raises(traversion.QueryError):
        store.query("")


def test_limits_raise_instead_of_partial_answers(store: traversion.Store) -> None:
    seed(store)
    with pytest.raises(traversion.QueryLimitError) as info:
        store.query("EVENTS", max_rows=5).to_pandas()
    assert info.value.code == "RESOURCE_EXHAUSTED"
    # Streaming: the rows before the limit come, then the error.
    result = store.query("EVENTS", max_rows=5)
    assert len(result.fetchmany(5)) == 5
    with pytest.raises(traversion.QueryLimitError):
        result.fetchmany(5)
    with pytest.raises(traversion.QueryLimitError):
        store.query("EVENTS", max_events_examined=3).rows()


def test_params_now_and_format(store: traversion.Store) -> None:
    seed(store)
    (error_id,) = store.query("EVENTS id WHERE type = 'error'").rows()[0]
    steps = store.query("TRAVERSE FROM eid FOLLOWING backward",
                        params={"eid": error_id}).dicts()
    assert [s["edge"] for s in steps] == ["start", "in_span", "parent"]
    later = dt.datetime(2024, 1, 15, 15, 45, tzinfo=dt.timezone.utc)
    recent = store.query("EVENTS COUNT(*) IN LAST 2 minutes", now=later).rows()
    assert recent == [(0,)]
    recent = store.query("EVENTS COUNT(*) IN LAST 5 minutes", now=later).rows()
    assert recent == [(14,)]
    assert traversion.format_query("timeline where type='error'  in last 1h") == \
        "TIMELINE IN LAST 1 hour WHERE type = 'error'"


def test_trace_and_structured(store: traversion.Store) -> None:
    seed(store)
    result = store.trace("11111111111111111111111111111111")
    assert result.kind == "trace"
    tree = result.structured()  # does not consume
    root = tree["roots"][0]
    assert root["name"] == "POST /checkout"
    assert [c["name"] for c in root["children"] if c["type"] == "span"] == ["POST /pay"]
    assert len(result.rows()) == 4
    assert store.query("EVENTS").structured() is None
    with pytest.raises(ValueError):
        store.trace("not-a-trace")


def test_root_cause_forms(store: traversion.Store) -> None:
    seed(store)
    candidates = store.root_cause(last_error=True)
    assert candidates and candidates[0].rank == 1
    best = candidates[0]
    assert 0 < best.score <= 1 and best.explanation
    assert all(store.get(e) is not None for e in best.evidence)
    (error_id,) = store.query("EVENTS id WHERE type = 'error'").rows()[0]
    assert store.root_cause(error_id)[0].evidence == best.evidence
    window = store.root_cause(window=(T0 - 1, dt.datetime(2024, 1, 15, 15, 41)),
                              limit=1)
    assert len(window) == 1 and window[0].kind == "service"
    assert store.root_cause(window=("2024-01-15 15:39", "2024-01-15 15:41"))
    with pytest.raises(ValueError):
        store.root_cause()
    with pytest.raises(ValueError):
        store.root_cause("abc", last_error=True)
    with pytest.raises(ValueError):
        store.root_cause("zz")
    with pytest.raises(traversion.QueryError):
        store.root_cause(window=(T0 + 10, T0))  # ends before it starts
