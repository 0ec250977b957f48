from __future__ import annotations

import polars as pl
import pytest

from rfm_segmentation.synthetic_data import generate_transactions, main

UCI_COLUMNS = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]


def test_same_seed_same_rows_other_seed_other_rows(small_transactions):
    again = generate_transactions(
        len(small_transactions), seed=7, start="2010-12-01", end="2011-12-09"
    )
    other = generate_transactions(
        len(small_transactions), seed=8, start="2010-12-01", end="2011-12-09"
    )
    assert again.equals(small_transactions)
    assert not other.equals(small_transactions)


def test_rows_have_the_uci_format_and_its_quirks(small_transactions):
    data = small_transactions
    assert data.columns == UCI_COLUMNS
    assert data.height == 30_000
    assert 0.2 < data["CustomerID"].null_count() / data.height < 0.3
    cancelled = data.filter(pl.col("InvoiceNo").str.starts_with("C"))
    assert 0.01 < cancelled.height / data.height < 0.03
    assert (cancelled["Quantity"] < 0).all()
    assert data.is_duplicated().sum() > 0
    assert data["StockCode"].is_in(["POST", "DOT", "M", "C2", "BANK CHARGES"]).sum() > 0
    assert (data["UnitPrice"] == 0).sum() > 0
    assert data["Country"].n_unique() > 5
    parsed = data["InvoiceDate"].str.to_datetime("%Y-%m-%d %H:%M:%S")
    assert str(parsed.min().date()) == "2010-12-01"
    assert str(parsed.max().date()) == "2011-12-09"


def test_size_is_a_parameter_and_validated():
    assert (
        generate_transactions(1234, seed=1, start="2011-01-01", end="2011-06-30").height
        == 1234
    )
    with pytest.raises(ValueError, match="n_rows"):
        generate_transactions(10, seed=1, start="2011-01-01", end="2011-06-30")


def test_cli_writes_raw_data_only_when_absent(project_factory, monkeypatch):
    project = project_factory()
    monkeypatch.chdir(project)
    raw = project / "data/01_raw/online_retail.csv"
    main(["--rows", "2000"])
    assert pl.read_csv(raw, infer_schema=False).height == 2000
    raw.write_text("InvoiceNo\n1\n")  # a real file put there is used as is
    main(["--rows", "3000"])
    assert raw.read_text() == "InvoiceNo\n1\n"
    main(["--rows", "3000", "--force"])
    assert pl.read_csv(raw, infer_schema=False).height == 3000
