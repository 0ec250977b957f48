"""Regenerate the documentation's figures of the real UCI data (``make docs-figures``):
``kedro run`` on ../shared/data/online_retail.csv.gz in a throwaway project copy, then
the figures and tables the docs show are copied into docs/img/, with a screenshot of
the report page (by the system's Chromium, /usr/bin/chromium)."""

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
    "customer_value_calibration.png",
    "segment_sizes.png",
    "rfm_distributions.png",
    "snake_plot.png",
    "k_selection_curves.png",
)
TABLES = (
    "migration_highlights.csv",
    "customer_value_model.json",
    "customer_value_backtest.json",
)
CHROMIUM = Path("/usr/bin/chromium")


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
        screenshot(reporting / "report.html", DOCS / "img" / "uci_report.png")


def screenshot(page: Path, png: Path) -> None:
    """The whole page, 1000 pixels wide, as the headless browser draws it offline."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - dev only

    if not CHROMIUM.exists():
        sys.exit(
            f"No Chromium at {CHROMIUM} (apt-get install chromium): no screenshot."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        tab = browser.new_page(viewport={"width": 1000, "height": 800}, offline=True)
        tab.goto(page.resolve().as_uri(), wait_until="load")
        tab.wait_for_selector("#segment-sizes .main-svg")
        tab.screenshot(path=png, full_page=True)
        browser.close()
    print(f"docs/img/{png.name}")


if __name__ == "__main__":
    main()
