"""The exploration notebook runs headless against a trained project copy."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from .support import REPO

pytestmark = pytest.mark.slow

NOTEBOOK = REPO / "notebooks" / "1.0-rfm-segment-exploration.ipynb"


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells)


def test_notebook_executes_against_the_catalog(trained_project):
    notebooks = trained_project / "notebooks"
    notebooks.mkdir(exist_ok=True)
    copy = notebooks / NOTEBOOK.name
    shutil.copy(NOTEBOOK, copy)
    notebook = nbformat.read(copy, as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebooks)}},
    ).execute()
    outputs = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    ]
    assert not [output for output in outputs if output.output_type == "error"]
    summary_cell = next(
        cell for cell in notebook.cells if "segment_summary" in cell.source
    )
    assert "Champions" in str(summary_cell.outputs)
