"""Regenerate the documentation's figures of the real UCI data (``make docs-figures``):
``kedro run`` on ../shared/data/online_retail.csv.gz in a throwaway project copy, then
the figures and tables the docs show are copied into docs/img/."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from tests.support import REAL_DATA, make_project, run_kedro

DOCS = Path(__file__).resolve().parent
FIGURES = (
    "migration_sankey.png",
    "segment_sizes_over_time.png",
    "stability.png",
    "segment_sizes.png",
    "rfm_distributions.png",
    "snake_plot.png",
    "k_selection_curves.png",
)
TABLES = ("migration_highlights.csv",)


def main() -> None:
    if not REAL_DATA.exists():
        sys.exit(f"{REAL_DATA} is not on this machine: nothing to draw.")
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "project")
        run_kedro(project, runtime_params={"raw_transactions_path": str(REAL_DATA)})
        reporting = project / "data" / "08_reporting"
        for name in (*FIGURES, *TABLES):
            shutil.copy(reporting / name, DOCS / "img" / f"uci_{name}")
            print(f"docs/img/uci_{name}")


if __name__ == "__main__":
    main()
