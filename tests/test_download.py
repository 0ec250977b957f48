"""The UCI download, exercised against a local archive (no internet here)."""

from __future__ import annotations

import socket
import subprocess
import sys
import zipfile

import pandas as pd
import pytest

from rfm_segmentation.download import WORKBOOK_NAME, download_online_retail


def test_extracts_the_workbook_from_the_archive(tmp_path):
    workbook = tmp_path / WORKBOOK_NAME
    pd.DataFrame({"InvoiceNo": ["536365"], "Quantity": [6]}).to_excel(
        workbook, index=False
    )
    archive = tmp_path / "online_retail.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(workbook, WORKBOOK_NAME)

    output = download_online_retail(
        archive.as_uri(), tmp_path / "raw/online_retail.xlsx"
    )
    assert pd.read_excel(output).to_dict("records") == [
        {"InvoiceNo": 536365, "Quantity": 6}
    ]


def test_an_archive_without_the_workbook_is_an_error(tmp_path):
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("README.txt", "nothing here")
    with pytest.raises(ValueError, match=r"README\.txt"):
        download_online_retail(archive.as_uri(), tmp_path / "out.xlsx")


def test_no_network_is_one_sentence_and_a_failed_exit(tmp_path):
    with socket.socket() as closed:  # bound, never listening: connection refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/online+retail.zip"
        result = subprocess.run(
            [sys.executable, "-m", "rfm_segmentation.download", "--url", url],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.startswith(f"Could not download {url} (")
    assert "run `make download` again" in message
    assert len(message.splitlines()) == 1
    assert not (tmp_path / "data").exists()
