"""Exact duplicates dropped through row hashes give the rows `unique()` gives, even
when different rows share a hash."""

from __future__ import annotations

import narwhals as nw
import pandas as pd
import polars as pl
import pytest

from rfm_segmentation.frames import as_lazy
from rfm_segmentation.pipelines.data_processing import distinct_rows
from rfm_segmentation.pipelines.data_processing.distinct_rows import (
    DROPPED_BY,
    KEPT,
    distinct_kept_rows,
    first_failed_rule,
    tally_rows,
)


@pytest.fixture
def rows_with_duplicates(small_transactions, params) -> pl.LazyFrame:
    """Typed rows where some appear twice or three times; a third are dropped."""
    source = params["columns"]
    rows = small_transactions.select(
        pl.col(source["invoice_id"]).alias("invoice_id"),
        pl.col(source["stock_code"]).alias("stock_code"),
        pl.col(source["quantity"]).cast(pl.Float64).alias("quantity"),
        pl.col(source["unit_price"]).alias("unit_price"),
    )
    repeated = pl.concat([rows, rows.sample(2_000, seed=1), rows.sample(500, seed=2)])
    return repeated.lazy()


def tagged(rows: pl.LazyFrame | pd.DataFrame) -> nw.LazyFrame:
    rules = [nw.col("quantity") > 0, nw.col("unit_price") > 1]
    return as_lazy(rows).with_columns(first_failed_rule(rules).alias(DROPPED_BY))


def expected_rows(rows: pl.LazyFrame) -> pl.DataFrame:
    kept = rows.filter((pl.col("quantity") > 0) & (pl.col("unit_price") > 1))
    return kept.unique().collect().sort(pl.all())


def test_the_tally_counts_the_first_failed_rule(rows_with_duplicates):
    tally = tally_rows(tagged(rows_with_duplicates))
    rows = rows_with_duplicates.collect()
    not_positive = (rows["quantity"] <= 0).sum()
    cheap = ((rows["quantity"] > 0) & (rows["unit_price"] <= 1)).sum()
    assert tally.rows == {
        0: not_positive,
        1: cheap,
        KEPT: len(rows) - not_positive - cheap,
    }
    kept = rows.filter((pl.col("quantity") > 0) & (pl.col("unit_price") > 1))
    repeated = kept.group_by(pl.all()).len().filter(pl.col("len") > 1)
    assert len(tally.shared_hashes) == len(repeated) > 0


def test_kept_rows_equal_unique(rows_with_duplicates):
    frame = tagged(rows_with_duplicates)
    clean = distinct_kept_rows(frame, tally_rows(frame))
    assert clean.collect().sort(pl.all()).equals(expected_rows(rows_with_duplicates))


def test_rows_sharing_a_hash_are_compared_exactly(rows_with_duplicates, monkeypatch):
    coarse = lambda columns: pl.col("stock_code").hash().alias("_row_hash")  # noqa: E731
    monkeypatch.setattr(distinct_rows, "_row_hash", coarse)
    frame = tagged(rows_with_duplicates)
    tally = tally_rows(frame)
    assert len(tally.shared_hashes) > 100  # different rows now collide
    clean = distinct_kept_rows(frame, tally)
    assert clean.collect().sort(pl.all()).equals(expected_rows(rows_with_duplicates))


def test_other_engines_use_their_own_distinct(rows_with_duplicates):
    frame = tagged(rows_with_duplicates.collect().to_pandas())
    tally = tally_rows(frame)
    assert tally.shared_hashes is None
    clean = pl.from_pandas(distinct_kept_rows(frame, tally))
    assert clean.sort(pl.all()).equals(expected_rows(rows_with_duplicates))
