"""The clustering steps of ``kedro run --env spark`` where the customer features are
a Spark DataFrame: the seeded fit sample drawn to the driver, every customer assigned
on the executors, and the assigned table written by Spark and read on the driver.

The nodes (``pipelines/clustering/nodes.py``) call this module only when their input
is a Spark DataFrame; the assignment itself is the one ``Segmenter.assign``, run on
each batch by ``mapInPandas``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
from kedro_datasets.spark import SparkDatasetV2
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructField, StructType, _parse_datatype_string

from .frames import as_lazy, to_pandas
from .model import sample_rows


def fit_sample(
    rfm_features: DataFrame, columns: Sequence[str], size: int, seed: int
) -> pd.DataFrame:
    """``columns`` of the customers the default path fits on, on the driver: all of
    them, or the seeded sample ``model.sample_rows`` picks from the customers in
    ``customer_id`` order. Only these rows leave the executors."""
    table = rfm_features.select(*columns)
    rows = sample_rows(table.count(), size, seed)
    if not isinstance(rows, slice):
        picked = table.sparkSession.createDataFrame(pd.DataFrame({"position": rows}))
        position = F.row_number().over(Window.orderBy("customer_id")) - 1
        table = (
            table.withColumn("position", position)
            .join(F.broadcast(picked), "position")
            .drop("position")
        )
    return to_pandas(as_lazy(table.orderBy("customer_id"))).reset_index(drop=True)


def assign_on_executors(
    rfm_features: DataFrame,
    assign: Callable[[pd.DataFrame], pd.DataFrame],
    added: Mapping[str, str],
    order: Callable[[list[str]], list[str]],
) -> DataFrame:
    """``assign`` (a pandas table of customers -> the same with the ``added`` columns,
    name -> Spark SQL type) on every batch, on the executors (``mapInPandas``); the
    fitted model travels inside ``assign``. Columns in ``order(input columns)``;
    persisted, so that the assignment runs once for all its readers."""
    schema = StructType(
        [
            *rfm_features.schema.fields,
            *(StructField(n, _parse_datatype_string(t)) for n, t in added.items()),
        ]
    )

    def batches(tables: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for table in tables:
            yield assign(table.reset_index(drop=True))

    return (
        rfm_features.mapInPandas(batches, schema)
        .select(*order(rfm_features.columns))
        .persist()
    )


class DriverLoadedSparkDataset(SparkDatasetV2):
    """Saved by Spark like ``spark.SparkDatasetV2``; loaded on the driver as one
    pandas table in ``order_by`` order (Spark keeps no row order across files),
    collected once per save."""

    def __init__(self, *, order_by: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._order_by = order_by
        self._collected: pd.DataFrame | None = None

    def _load(self) -> pd.DataFrame:
        if self._collected is None:
            table = super()._load().orderBy(self._order_by)
            self._collected = to_pandas(as_lazy(table))
        return self._collected

    def _save(self, data: DataFrame | pd.DataFrame) -> None:
        self._collected = None
        super()._save(data)
