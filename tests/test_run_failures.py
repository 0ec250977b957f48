"""A failing run says what is wrong and what to do, in its last lines."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from .support import kedro_run, read_segments, run_kedro, source_id

SOURCE_ID = source_id()
HEADER = f"InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,{SOURCE_ID},Country\n"


def write(project: Path, name: str, text: str) -> Path:
    path = project / "data/01_raw" / name
    path.write_text(text)
    return path


@pytest.mark.slow
def test_a_failing_run_ends_with_its_cause_and_the_full_traceback_is_a_switch(
    project_factory,
):
    project = project_factory()
    empty = write(project, "empty.csv", HEADER)
    short = kedro_run(project, "--params", f"raw_transactions_path={empty}")
    assert short.returncode == 1
    last_lines = short.stderr.strip().splitlines()[-2:]
    assert last_lines[0].startswith("Error: TransactionSchemaError: raw_transactions")
    assert "--traceback" in last_lines[1]
    assert "Traceback (most recent call last)" not in short.stdout + short.stderr
    full = kedro_run(
        project, "--params", f"raw_transactions_path={empty}", "--traceback"
    )
    assert full.returncode == 1
    assert "Traceback" in full.stdout + full.stderr


@pytest.mark.slow
def test_the_readmes_us_dates_example_works_verbatim(
    project_factory, small_transactions
):
    us = small_transactions.with_columns(
        pl.col("InvoiceDate").str.to_datetime().dt.strftime("%-m/%-d/%Y %-H:%M")
    )
    project = project_factory(us)
    result = kedro_run(
        project,
        "--pipelines",
        "data_processing",
        "--params",
        "timestamp_format=%m/%d/%Y %H:%M",
    )
    assert result.returncode == 0, result.stderr[-2000:]


def fails_with(project: Path, message: str, **runtime_params) -> None:
    with pytest.raises(Exception, match=message):
        run_kedro(project, runtime_params=runtime_params)


def test_a_latin1_file_is_reported_as_such_and_reads_with_its_encoding(
    project_factory, small_transactions
):
    project = project_factory()
    text = small_transactions.head(3000).write_csv()
    path = project / "data/01_raw/latin1.csv"
    path.write_bytes(
        (text + "536999,85123A,CAFÉ,1,2011-12-01 10:00:00,2.5,99999,France\n").encode(
            "latin-1"
        )
    )
    fails_with(project, "not UTF-8 needs its encoding", raw_transactions_path=str(path))
    run_kedro(
        project,
        runtime_params={"raw_transactions_path": str(path), "encoding": "latin-1"},
    )
    assert "99999" in set(read_segments(project)[SOURCE_ID])


def test_a_truncated_gzip_is_reported_as_cut_off(project_factory, small_transactions):
    project = project_factory()
    whole = gzip.compress(small_transactions.write_csv().encode())
    path = project / "data/01_raw/cut.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    fails_with(project, "cut off while copying", raw_transactions_path=str(path))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("", "raw_transactions has no rows"),
        (
            "C1,A,1,2011-01-01 10:00:00,1.0,7\n1,A,1,2011-01-01 10:00:00,1.0,\n",
            r"all 2 rows were dropped \(missing_customer_id 1, cancelled_invoice 1\)",
        ),
        (
            "".join(f"{i},A,1,2011-01-0{i} 10:00:00,1.0,{i}\n" for i in range(1, 4)),
            r"3 distinct .* cannot form clustering.n_clusters = 4 segments: lower it",
        ),
        (
            "".join(f"{i},A,1,2011-01-01 10:00:00,1.0,{i}\n" for i in range(1, 9)),
            r"All 8 customer\(s\) have the same recency \(1\), frequency \(1\)",
        ),
    ],
    ids=["empty", "nothing-left", "fewer-than-k", "identical"],
)
def test_data_that_cannot_be_segmented_gets_one_sentence(
    project_factory, rows, message
):
    project = project_factory()
    path = write(project, "small.csv", HEADER + rows.replace("\n", ",EIRE\n"))
    fails_with(project, message, raw_transactions_path=str(path))


@pytest.mark.parametrize("env", [None, "pandas"])
def test_na_null_and_none_are_customer_ids(project_factory, small_transactions, env):
    text = small_transactions.with_columns(pl.col(SOURCE_ID).cast(pl.String))
    ids = text[SOURCE_ID].drop_nulls().unique().sort().head(3)
    renamed = text.with_columns(
        pl.col(SOURCE_ID).replace(dict(zip(ids, ["NA", "null", "None"], strict=True)))
    )
    project = project_factory(renamed)
    run_kedro(project, env=env)
    assert {"NA", "null", "None"} <= set(read_segments(project)[SOURCE_ID])
