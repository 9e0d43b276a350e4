"""Shared fixtures of the Python tests (tests/python/).

Run by scripts/test's python stage in build/python-venv:
    build/python-venv/bin/python -m pytest tests/python
The notebook test needs the `traversion` CLI (to make the demo store): it
is found through $TRAVERSION_CLI, else build/release/src/traversion.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
from typing import Iterator, Optional

import pytest

import traversion

REPO = pathlib.Path(__file__).resolve().parents[2]


def find_cli() -> Optional[str]:
    """The traversion CLI, or None."""
    explicit = os.environ.get("TRAVERSION_CLI")
    if explicit:
        return explicit
    built = REPO / "build" / "release" / "src" / "traversion"
    if built.exists():
        return str(built)
    return shutil.which("traversion")


def require_cli() -> str:
    """The CLI; skips the test without it, unless TRAVERSION_REQUIRE_CLI=1
    (scripts/test), where its absence fails."""
    cli = find_cli()
    if cli is None:
        if os.environ.get("TRAVERSION_REQUIRE_CLI") == "1":
            pytest.fail("the traversion CLI was not found ($TRAVERSION_CLI)")
        pytest.skip("the traversion CLI is not built (build/release/src/traversion)")
    return cli


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Iterator[traversion.Store]:
    """A fresh store recording as service 'checkout'."""
    with traversion.open(tmp_path / "store", service="checkout",
                         sync="no_sync") as s:
        yield s


#: The end of the demo's simulated window: fixed, so the queries below can
#: name instants inside it.
DEMO_END = "2024-01-15T15:50:00Z"


@pytest.fixture(scope="session")
def demo_store_path(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A store made by `traversion demo` (the scenario generator)."""
    cli = require_cli()
    path = tmp_path_factory.mktemp("demo") / "store"
    subprocess.run([cli, "demo", "--store", str(path), "--end", DEMO_END],
                   check=True, stdout=subprocess.DEVNULL)
    return path
