"""A million rows from TimeQL into pandas, measured for peak memory in a
process of its own (the figure is printed; nothing is timed)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

ROWS = 1_000_000

# Writes ROWS log events, then reads them back with EVENTS into a DataFrame,
# and reports the process's peak RSS before and after the read.
CHILD = r"""
import json, resource, sys
import numpy, pandas
import traversion

path, rows = sys.argv[1], int(sys.argv[2])
services = ["web", "api", "orders", "payments", "inventory"]
with traversion.open(path, sync="no_sync", pii=False) as store:
    batch = []
    for i in range(rows):
        batch.append({"time_ns": 1_705_333_200_000_000_000 + i * 1_000,
                      "service": services[i % 5], "severity": "info",
                      "name": "tick", "log": {"body": f"request {i % 1000} done"}})
        if len(batch) == 50_000:
            store.write(batch, mask=False)
            batch = []
    if batch:
        store.write(batch, mask=False)
    del batch
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    frame = store.query("EVENTS", max_rows=rows).to_pandas()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": len(frame), "columns": list(frame.columns),
                      "time_dtype": str(frame["time"].dtype),
                      "first_service": frame["service"].iloc[0],
                      "last_body": frame["message"].iloc[-1],
                      "frame_mib": frame.memory_usage(deep=True).sum() / 2**20,
                      "peak_before_mib": before / 1024,
                      "peak_after_mib": after / 1024}))
"""


def test_million_rows_to_pandas(tmp_path: pathlib.Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "s"), str(ROWS)],
                         check=True, capture_output=True, text=True)
    report = json.loads(out.stdout)
    assert report["rows"] == ROWS
    assert report["time_dtype"] == "datetime64[ns, UTC]"
    assert report["first_service"] == "web"
    assert report["last_body"] == f"request {(ROWS - 1) % 1000} done"
    with capsys.disabled():
        print(f"\n[python.large] {ROWS} rows -> pandas: DataFrame "
              f"{report['frame_mib']:.0f} MiB (deep), process peak RSS "
              f"{report['peak_before_mib']:.0f} MiB before the query, "
              f"{report['peak_after_mib']:.0f} MiB after")
