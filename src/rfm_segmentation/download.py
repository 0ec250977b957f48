"""Fetch the public UCI Online Retail workbook (CC BY 4.0, donor Dr Daqing Chen).

``python -m rfm_segmentation.download`` (``make download``) saves it to
``data/01_raw/online_retail.xlsx``; run the pipelines on it with
``kedro run --env uci_xlsx``. Needs internet; nothing else in the project does.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

logger = logging.getLogger(__name__)

UCI_ARCHIVE_URL = "https://archive.ics.uci.edu/static/public/352/online+retail.zip"
WORKBOOK_NAME = "Online Retail.xlsx"
DEFAULT_OUTPUT = Path("data/01_raw/online_retail.xlsx")


class DownloadError(RuntimeError):
    """The archive could not be fetched: no network, or the server refused."""


def download_online_retail(url: str, output: Path) -> Path:
    """Download the archive at ``url`` and extract its workbook to ``output``."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "online_retail.zip"
        try:
            with (
                urllib.request.urlopen(url, timeout=60) as response,
                archive.open("wb") as out,
            ):
                shutil.copyfileobj(response, out)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise DownloadError(
                f"Could not download {url} ({reason}): check the internet connection "
                f"and run `make download` again, or save {WORKBOOK_NAME!r} from that "
                f"archive as {output} yourself."
            ) from error
        with zipfile.ZipFile(archive) as zipped:
            if WORKBOOK_NAME not in zipped.namelist():
                raise ValueError(
                    f"{url} has no {WORKBOOK_NAME!r}; it holds {zipped.namelist()}"
                )
            output.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(WORKBOOK_NAME) as workbook, output.open("wb") as out:
                shutil.copyfileobj(workbook, out)
    return output


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=UCI_ARCHIVE_URL)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    try:
        saved = download_online_retail(args.url, args.output)
    except DownloadError as error:
        raise SystemExit(str(error)) from None
    logger.info("Saved %s", saved)


if __name__ == "__main__":
    main()
