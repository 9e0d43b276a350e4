#!/usr/bin/env python3
"""The Python binding's benchmark, run by benchmarks/run with the
interpreter of build/python-venv (where `traversion` is installed).

It measures, and appends to --summary_out as `key value` lines:
  python.record_ns             per event recorded from Python (store.log with
                               two attributes), through to durable in the
                               store: N calls, then flush(), divided by N
  python.record_call_ns        the calls alone (what the caller waits for)
  python.sqlite3_record_ns     the same events inserted with the standard
                               sqlite3 module into the schema of the C++
                               ingest benchmark's SQLite peer (WAL,
                               synchronous=FULL, a commit per 1000), per event
  python.query_rows_per_s      TimeQL EVENTS -> pandas DataFrame, rows per
                               second (best of 3)
  python.sqlite3_query_rows_per_s  SELECT of the same rows ->
                               pandas.read_sql_query, times converted to
                               datetime64 (best of 3)
benchmarks/run derives python.vs_sqlite3 (sqlite3 ns / ours: > 1 means
faster than sqlite3) and python.vs_sqlite3_query (ours rows/s / sqlite3's).
Nothing is asserted: the figures are reported, not checked.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import struct
import sys
import tempfile
import time

import pandas as pd

import traversion

SERVICES = ["web", "api", "orders", "payments", "inventory"]
T0 = 1_705_333_200_000_000_000


def emit(path: str, key: str, value: float) -> None:
    print(f"  {key}: {value:.6g}")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"{key} {value:.17g}\n")


def sqlite_open(path: str) -> sqlite3.Connection:
    """The schema and settings of benchmarks/ingest_bench.cc's SQLite peer."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
        "PRAGMA cache_size=-262144;"
        "CREATE TABLE events(id BLOB PRIMARY KEY, ts INTEGER, service TEXT,"
        " type INTEGER, severity INTEGER, trace_id BLOB, payload BLOB);"
        "CREATE INDEX events_trace ON events(trace_id);"
        "CREATE INDEX events_service_type ON events(service, type, ts);"
        "CREATE INDEX events_service_severity ON events(service, severity, ts);")
    return conn


def bench_record(work: str, n: int, out: str) -> None:
    with traversion.open(os.path.join(work, "record"), service="bench",
                         backpressure="block", block_timeout=1.0,
                         sampling=False) as store:
        store.log("warm up")
        store.flush()
        log = store.log
        start = time.perf_counter_ns()
        for i in range(n):
            log("request served", order_id=i, route="/orders")
        called = time.perf_counter_ns()
        store.flush()
        done = time.perf_counter_ns()
        stats = store.recorder_stats() or {}
    if stats.get("dropped", 0):
        print(f"  (dropped {stats['dropped']} events)")
    emit(out, "python.record_call_ns", (called - start) / n)
    emit(out, "python.record_ns", (done - start) / n)

    conn = sqlite_open(os.path.join(work, "record.db"))
    insert = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)"
    start = time.perf_counter_ns()
    conn.execute("BEGIN")
    for i in range(n):
        now = time.time_ns()
        payload = json.dumps({"body": "request served",
                              "attributes": {"order_id": i, "route": "/orders"}})
        conn.execute(insert, (struct.pack(">QQ", now, i), now, "bench", 2, 9,
                              None, payload.encode()))
        if i % 1000 == 999:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    done = time.perf_counter_ns()
    conn.close()
    emit(out, "python.sqlite3_record_ns", (done - start) / n)


def bench_query(work: str, n: int, out: str) -> None:
    rows = [{"time_ns": T0 + i * 1_000, "service": SERVICES[i % 5],
             "severity": "info", "name": "served",
             "log": {"body": f"request {i % 1000} served"}} for i in range(n)]
    conn = sqlite_open(os.path.join(work, "query.db"))
    with traversion.open(os.path.join(work, "query"), sync="no_sync",
                         pii=False) as store:
        for k in range(0, n, 50_000):
            store.write(rows[k:k + 50_000], mask=False)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((struct.pack(">QQ", r["time_ns"], i), r["time_ns"], r["service"], 2,
              9, None, r["log"]["body"].encode())
             for i, r in enumerate(rows)))
        conn.execute("COMMIT")
        del rows

        def ours() -> int:
            frame = store.query(
                "EVENTS time, service, type, severity, message "
                "WHERE type = 'log'", max_rows=n).to_pandas()
            return len(frame)

        def peer() -> int:
            frame = pd.read_sql_query(
                "SELECT ts, service, type, severity, payload FROM events "
                "WHERE type = 2 ORDER BY ts", conn)
            frame["ts"] = pd.to_datetime(frame["ts"], unit="ns", utc=True)
            return len(frame)

        for key, run in (("python.query_rows_per_s", ours),
                         ("python.sqlite3_query_rows_per_s", peer)):
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                got = run()
                best = min(best, time.perf_counter() - start)
                assert got == n, (key, got)
            emit(out, key, n / best)
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--summary_out", default="")
    parser.add_argument("--work_dir", default="")
    parser.add_argument("--quick", action="store_true",
                        help="sizes scaled down ~10x")
    args = parser.parse_args()
    record_n = 20_000 if args.quick else 200_000
    query_n = 100_000 if args.quick else 1_000_000
    with tempfile.TemporaryDirectory(dir=args.work_dir or None) as work:
        print(f"python {sys.version.split()[0]}, pandas {pd.__version__}, "
              f"sqlite {sqlite3.sqlite_version}; record {record_n}, "
              f"query {query_n} rows")
        bench_record(work, record_n, args.summary_out)
        bench_query(work, query_n, args.summary_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
