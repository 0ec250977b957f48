"""The project's own catalog datasets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from kedro.io import DatasetError

from rfm_segmentation import datasets
from rfm_segmentation.datasets import (
    AtomicCSVDataset,
    EncodedCSVDataset,
    SegmentHistoryDataset,
    StreamingParquetDataset,
)
from rfm_segmentation.history import ABSENT, SegmentHistory


def test_a_failed_csv_save_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "08_reporting" / "customer_segments.csv"  # no folder yet
    dataset = AtomicCSVDataset(filepath=str(target))
    dataset.save(pd.DataFrame({"a": [1, 2]}))
    real_write_csv = pl.DataFrame.write_csv

    def dies_half_way(frame, path, **kwargs):
        real_write_csv(frame.head(3), path, **kwargs)
        raise OSError("No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_csv", dies_half_way)
    with pytest.raises(DatasetError, match="No space left"):
        dataset.save(pd.DataFrame({"a": range(1000)}))
    assert target.read_text() == "a\n1\n2\n"
    assert [p.name for p in target.parent.iterdir()] == [target.name]


@pytest.mark.parametrize("rows", [0, 1, 5, 6, 7])
def test_a_csv_written_in_chunks_is_one_table_with_one_header(
    tmp_path, monkeypatch, rows
):
    monkeypatch.setattr(datasets, "CSV_CHUNK_ROWS", 3)
    frame = pd.DataFrame({"id": [f"c{i}" for i in range(rows)], "spend": range(rows)})
    dataset = AtomicCSVDataset(
        filepath=str(tmp_path / "t.csv"), save_args={"separator": ";"}
    )
    dataset.save(frame)
    assert (tmp_path / "t.csv").read_text().splitlines() == [
        "id;spend",
        *(f"c{i};{i}" for i in range(rows)),
    ]


def test_a_csv_written_in_chunks_is_the_file_one_write_makes(tmp_path, monkeypatch):
    frame = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(10)],
            "segment": pd.Categorical(["Champions", "Lost Customers"] * 5),
            "value": [0.5, None] * 5,
        }
    )
    save_args = {"include_bom": True, "separator": ";"}
    whole, chunked = tmp_path / "whole.csv", tmp_path / "chunked.csv"
    AtomicCSVDataset(filepath=str(whole), save_args=save_args).save(frame)
    monkeypatch.setattr(datasets, "CSV_CHUNK_ROWS", 3)
    AtomicCSVDataset(filepath=str(chunked), save_args=save_args).save(frame)
    assert whole.read_bytes().startswith(b"\xef\xbb\xbfid;segment;value\nc0;")
    assert chunked.read_bytes() == whole.read_bytes()  # one BOM, one header


def test_a_latin1_csv_loads_with_its_encoding(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("id,name\n1,Café\n".encode("latin-1"))
    frame = EncodedCSVDataset(filepath=str(path), encoding="latin-1").load()
    assert frame.collect().to_dicts() == [{"id": 1, "name": "Café"}]
    utf8 = EncodedCSVDataset(filepath=str(path)).load()
    assert isinstance(utf8, pl.LazyFrame)  # UTF-8 stays a lazy scan


def test_an_unknown_encoding_is_refused_by_name():
    with pytest.raises(LookupError, match="latin-9000"):
        EncodedCSVDataset(filepath="x.csv", encoding="latin-9000")


def test_a_lazy_query_is_streamed_to_parquet_and_a_failed_one_changes_nothing(
    tmp_path,
):
    target = (
        tmp_path / "02_intermediate" / "clean_transactions.parquet"
    )  # no folder yet
    dataset = StreamingParquetDataset(filepath=str(target))
    dataset.save(pl.LazyFrame({"a": ["1", "2"]}).select(pl.col("a").cast(pl.Int64)))
    assert dataset.load().collect().to_dicts() == [{"a": 1}, {"a": 2}]
    unparseable = pl.LazyFrame({"a": ["3", "x"]}).select(pl.col("a").cast(pl.Int64))
    with pytest.raises(DatasetError, match="x"):
        dataset.save(unparseable)  # fails while the sink is writing
    assert dataset.load().collect()["a"].to_list() == [1, 2]
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_a_lazy_query_is_streamed_to_csv_as_an_eager_frame_is_written(
    tmp_path, monkeypatch
):
    frame = pl.DataFrame({"id": [1, None, 3], "price": [0.5, 2.0, 10.25]})
    lazy, eager = tmp_path / "raw" / "lazy.csv", tmp_path / "eager.csv"  # no folder
    EncodedCSVDataset(filepath=str(eager)).save(frame)
    with monkeypatch.context() as patch:  # streamed, never collected whole
        patch.setattr(pl.LazyFrame, "collect", lambda *_, **__: pytest.fail("held"))
        EncodedCSVDataset(filepath=str(lazy)).save(frame.lazy())
    assert (
        lazy.read_bytes() == eager.read_bytes() == b"id,price\n1,0.5\n,2.0\n3,10.25\n"
    )


def test_the_segment_history_is_saved_as_the_long_table_of_customers_present(
    tmp_path,
):
    ids = pd.array(["a", "b", "c"], dtype="string[pyarrow]")
    history = SegmentHistory(
        customer_ids=ids,
        snapshots=("2011-01-01", "2011-02-01"),
        segment_names=("Champions", "Lost Customers"),
        codes=np.array([[ABSENT, 1, 0], [0, 1, 1]], dtype=np.int8),
        recency=np.array([[0, 5, 6], [1, 36, 37]], dtype=np.int32),
        frequency=np.array([[0, 1, 2], [1, 1, 2]], dtype=np.int32),
        monetary=np.array([[0, 9.5, 20.25], [3.0, 9.5, 20.25]]),
        tenure=np.array([[0, 7, 40], [1, 38, 71]], dtype=np.int32),
    )
    path = tmp_path / "segment_history.parquet"
    SegmentHistoryDataset(filepath=str(path)).save(history)
    expected = pd.DataFrame(
        {
            "customer_id": ["b", "c", "a", "b", "c"],
            "snapshot": ["2011-01-01"] * 2 + ["2011-02-01"] * 3,
            "recency": np.array([5, 6, 1, 36, 37], dtype=np.int32),
            "frequency": np.array([1, 2, 1, 1, 2], dtype=np.int32),
            "monetary": [9.5, 20.25, 3.0, 9.5, 20.25],
            "tenure": np.array([7, 40, 1, 38, 71], dtype=np.int32),
            "segment_name": [
                *("Lost Customers", "Champions"),
                *("Champions", "Lost Customers", "Lost Customers"),
            ],
        }
    )
    saved = SegmentHistoryDataset(filepath=str(path)).load()
    pd.testing.assert_frame_equal(saved, expected, check_dtype=False)
    assert all(
        pd.api.types.is_string_dtype(saved[c])
        for c in ("customer_id", "snapshot", "segment_name")
    )
    pd.testing.assert_frame_equal(history.long(), expected, check_dtype=False)
