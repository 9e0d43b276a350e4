"""Many Python threads at once: recording, querying, writing and closing."""

from __future__ import annotations

import pathlib
import threading

import pytest

import traversion


def test_many_threads_record_and_query(tmp_path: pathlib.Path) -> None:
    threads, per_thread = 8, 2_000
    errors: list[BaseException] = []
    with traversion.open(tmp_path / "s", service="svc", backpressure="block",
                         block_timeout=5.0, sampling=False,
                         sync="no_sync") as store:
        start = threading.Barrier(threads + 2)

        def record(n: int) -> None:
            try:
                start.wait()
                for i in range(per_thread):
                    with store.span("work", attributes={"thread": n}):
                        store.log("step", i=i)
                store.flush()
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        def query() -> None:
            try:
                start.wait()
                for _ in range(20):
                    store.query("EVENTS COUNT(*) GROUP BY type").rows()
                    store.query("EVENTS time, name WHERE type = 'span'").to_pandas()
            except BaseException as e:  # pragma: no cover
                errors.append(e)

        workers = [threading.Thread(target=record, args=(n,)) for n in range(threads)]
        workers += [threading.Thread(target=query) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert errors == []
        store.flush()
        counts = dict(store.query("EVENTS type, COUNT(*) GROUP BY type").rows())
        assert counts == {"span": threads * per_thread, "log": threads * per_thread}
        stats = store.recorder_stats()
        assert stats is not None and stats["dropped"] == 0
        # Every log joined its own thread's span.
        (orphans,) = store.query(
            "EVENTS COUNT(*) WHERE type = 'log' AND span_id IS NULL").rows()[0]
        assert orphans == 0


def test_threads_start_without_a_current_span(store: traversion.Store) -> None:
    seen: list[object] = []
    with store.span("outer"):
        t = threading.Thread(target=lambda: seen.append(traversion.current_span()))
        t.start()
        t.join()
    assert seen == [None]


def test_one_result_shared_by_threads(store: traversion.Store) -> None:
    store.write([{"time_ns": 1_000 + i, "log": {"body": str(i)}}
                 for i in range(10_000)])
    result = store.query("EVENTS message")
    taken: list[list[tuple]] = [[] for _ in range(4)]

    def take(k: int) -> None:
        while True:
            batch = result.fetchmany(100)
            if not batch:
                return
            taken[k].extend(batch)

    workers = [threading.Thread(target=take, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    every = sorted(int(row[0]) for rows in taken for row in rows)
    assert every == list(range(10_000))  # each row delivered exactly once


def test_close_while_other_threads_record(tmp_path: pathlib.Path) -> None:
    store = traversion.open(tmp_path / "s", service="svc")
    stop = threading.Event()
    outcomes: list[str] = []

    def record() -> None:
        while not stop.is_set():
            try:
                store.log("tick")
            except traversion.StoreClosedError:
                outcomes.append("closed")
                return

    workers = [threading.Thread(target=record) for _ in range(4)]
    for w in workers:
        w.start()
    while store.recorder_stats() is None or store.recorder_stats()["recorded"] < 1000:  # type: ignore[index]
        pass
    result = store.query("EVENTS")  # a result outlives close()
    store.close()
    stop.set()
    for w in workers:
        w.join()
    assert result.fetchmany(10)
    del result  # it kept the store open (one Store per path per process)
    # What was recorded before close() is in the store.
    with traversion.open(tmp_path / "s") as again:
        (count,) = again.query("EVENTS COUNT(*)").rows()[0]
    assert count >= 1000


def test_query_from_closed_store_raises(tmp_path: pathlib.Path) -> None:
    store = traversion.open(tmp_path / "s")
    store.close()
    with pytest.raises(traversion.StoreClosedError):
        store.flush()
    with pytest.raises(traversion.StoreClosedError):
        store.write([{"time_ns": 1}])
