"""examples/notebooks/postmortem.ipynb executes from top to bottom (nbclient),
on a store made by `traversion demo`, so that it cannot rot."""

from __future__ import annotations

import os
import pathlib

import nbformat
from nbclient import NotebookClient

from conftest import REPO, require_cli

NOTEBOOK = REPO / "examples" / "notebooks" / "postmortem.ipynb"


def test_postmortem_notebook_executes(demo_store_path: pathlib.Path,
                                      tmp_path: pathlib.Path) -> None:
    cli = require_cli()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    env_before = dict(os.environ)
    os.environ["TRAVERSION_CLI"] = cli
    os.environ["TRAVERSION_DEMO_STORE"] = str(demo_store_path)
    try:
        client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code"
               for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the timeline and the causality graph
    # Executed output can be kept for reading (scripts/test writes it under build/).
    target = os.environ.get("TRAVERSION_NOTEBOOK_OUT")
    if target:
        nbformat.write(notebook, target)
