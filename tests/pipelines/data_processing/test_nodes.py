from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd
import polars as pl
import pytest

from rfm_segmentation.pipelines.data_processing.nodes import validate_transactions
from rfm_segmentation.pipelines.data_processing.schema import TransactionSchemaError
from rfm_segmentation.slices import pipeline_of, run_slice

from ...support import source_id

SOURCE_ID = source_id()


ENGINES = {
    "polars": lambda frame: frame.lazy(),
    "pandas": lambda frame: frame.to_pandas(),
}


def uci_rows(*rows: tuple) -> pl.DataFrame:
    """Raw rows as text, the way the catalog reads a CSV."""
    columns = [
        "InvoiceNo",
        "StockCode",
        "Quantity",
        "InvoiceDate",
        "UnitPrice",
        SOURCE_ID,
    ]
    return pl.DataFrame(
        [tuple(None if v is None else str(v) for v in row) for row in rows],
        schema=dict.fromkeys(columns, pl.String),
        orient="row",
    ).with_columns(Country=pl.lit("United Kingdom"))  # the default passthrough


def process(
    raw: Any, params: dict[str, Any], **overrides: Any
) -> tuple[pd.DataFrame, dict]:
    """The data_processing pipeline on ``raw``: clean rows and the cleaning report."""
    outputs = run_slice(
        pipeline_of("data_processing"),
        {"raw_transactions": raw},
        {**params, **overrides},
    )
    return _to_pandas(outputs["clean_transactions"]), outputs["cleaning_report"]


def _to_pandas(frame: Any) -> pd.DataFrame:
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect().to_pandas()
    return frame.sort_values(list(frame.columns), ignore_index=True)


@pytest.fixture(params=list(ENGINES))
def engine(request):
    return ENGINES[request.param]


def test_rules_drop_in_order_and_the_report_adds_up(engine, params):
    raw = uci_rows(
        ("536365", "85123A", 6, "2010-12-01 08:26:00", 2.55, "17850"),
        ("536365", "85123A", 6, "2010-12-01 08:26:00", 2.55, "17850"),  # duplicate
        ("536366", "71053", 2, "2010-12-01 09:00:00", 3.39, None),  # guest
        ("C536367", "71053", -2, "2010-12-02 09:00:00", 3.39, "17850"),  # cancellation
        ("536368", "71053", 0, "2010-12-03 09:00:00", 3.39, "13047"),  # zero quantity
        ("536369", "71053", 1, "2010-12-03 10:00:00", 0, "13047"),  # zero price
        (
            "536370",
            "post",
            1,
            "2010-12-03 11:00:00",
            18,
            "13047",
        ),  # non-product, any case
        (
            "536371",
            "22752",
            3,
            "2010-12-04 12:00:00",
            7.65,
            "13047.0",
        ),  # float-style id
    )
    clean, report = process(engine(raw), params)

    assert report == {
        "rows_in": 8,
        "rows_dropped": {
            "missing_customer_id": 1,
            "missing_timestamp": 0,
            "cancelled_invoice": 1,
            "non_positive_quantity": 1,
            "non_positive_unit_price": 1,
            "non_product_stock_code": 1,
            "exact_duplicate": 1,
        },
        "rows_out": 2,
        "customers_out": 2,
        "revenue_out": 38.25,
    }
    json.dumps(report)  # the catalog saves it as JSON, on every engine
    assert clean["customer_id"].tolist() == ["13047", "17850"]
    assert clean["line_amount"].tolist() == pytest.approx([22.95, 15.3])


def test_a_customer_whose_every_invoice_was_cancelled_disappears(engine, params):
    raw = uci_rows(
        ("C1", "71053", -1, "2011-01-01 10:00:00", 3.0, "111"),
        ("C2", "71053", -4, "2011-02-01 10:00:00", 3.0, "111"),
        ("3", "71053", 1, "2011-02-01 10:00:00", 3.0, "222"),
    )
    clean, report = process(engine(raw), params)
    assert set(clean["customer_id"]) == {"222"}
    assert report["customers_out"] == 1


def test_missing_column_error_names_it_and_the_available_ones(engine, params):
    raw = uci_rows(("1", "A", 1, "2011-01-01 10:00:00", 1.0, "1")).drop("UnitPrice")
    with pytest.raises(TransactionSchemaError) as error:
        process(engine(raw), params)
    message = str(error.value)
    assert "'UnitPrice' (role `unit_price`)" in message
    assert "'InvoiceDate'" in message  # lists what is there
    assert "parameters_data_processing.yml" in message


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("Quantity", "six", "'Quantity' (role `quantity`)"),
        ("InvoiceDate", "yesterday", "timestamp_format"),
    ],
)
def test_unparseable_values_name_the_column(engine, params, column, value, expected):
    raw = uci_rows(
        ("1", "A", 1, "2011-01-01 10:00:00", 1.0, "1"),
        ("2", "A", 1, "2011-01-02 10:00:00", 1.0, "2"),
    ).with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.lit(value))
        .otherwise(pl.col(column))
        .alias(column)
    )
    with pytest.raises(TransactionSchemaError, match=re.escape(expected)) as error:
        process(engine(raw), params)
    assert value in str(error.value)  # the engine's message shows the bad value


def test_the_format_hint_never_suggests_the_format_already_set(params):
    good = [("1", "A", 1, "2011-01-01 10:00:00", 1.0, "1")] * 1000
    raw = uci_rows(*good, ("2", "A", 1, "02/01/2011 10:00", 1.0, "2"))
    with pytest.raises(TransactionSchemaError) as error:
        process(raw.to_pandas(), params)  # eager: every row parsed at once
    message = str(error.value)
    assert "02/01/2011 10:00" in message
    assert "They read as" not in message
    assert "Set `timestamp_format` in" in message


def test_us_style_timestamps_parse_with_the_documented_format(engine, params):
    raw = uci_rows(("536365", "A", 6, "12/1/2010 8:26", 2.55, "17850.0"))
    clean, _ = process(engine(raw), params, timestamp_format="%m/%d/%Y %H:%M")
    assert clean["invoiced_at"].tolist() == [pd.Timestamp("2010-12-01 08:26")]
    assert clean["customer_id"].tolist() == ["17850"]


def test_line_amount_schema_without_invoice_or_stock_code(engine, params):
    raw = pl.DataFrame(
        {
            "client": ["a", "a", "b", "c"],
            "ts": [
                "2011-01-01 10:00:00",
                "2011-01-01 12:00:00",
                "2011-01-02 10:00:00",
                "2011-01-03 10:00:00",
            ],
            "total": ["10.5", "4.5", "-3", "7"],
        }
    )
    columns = {"customer_id": "client", "invoiced_at": "ts", "line_amount": "total"}
    clean, report = process(engine(raw), params, columns=columns)
    assert list(report["rows_dropped"]) == [
        "missing_customer_id",
        "missing_timestamp",
        "non_positive_line_amount",
        "exact_duplicate",
    ]
    assert clean["customer_id"].tolist() == ["a", "a", "c"]


def test_roles_must_be_known_and_give_an_amount(params):
    raw = uci_rows(("1", "A", 1, "2011-01-01 10:00:00", 1.0, "1"))
    with pytest.raises(TransactionSchemaError, match="Unknown column role"):
        validate_transactions(raw.lazy(), {**params["columns"], "customer": "x"}, "%Y")
    no_amount = {**params["columns"], "unit_price": None}
    with pytest.raises(TransactionSchemaError, match="either `line_amount` or both"):
        validate_transactions(raw.lazy(), no_amount, "%Y")


def test_pandas_and_polars_give_equal_results(small_transactions, params):
    text = small_transactions.cast(pl.String)
    polars_clean, polars_report = process(ENGINES["polars"](text), params)
    pandas_clean, pandas_report = process(ENGINES["pandas"](text), params)
    assert polars_report == pandas_report
    pd.testing.assert_frame_equal(polars_clean, pandas_clean, check_dtype=False)


def test_passthrough_columns_are_kept_as_text_under_their_own_names(engine, params):
    raw = uci_rows(("1", "A", 1, "2011-01-01 10:00:00", 1.0, "1")).with_columns(
        Email=pl.lit("a@example.com")
    )
    columns = {**params["columns"], "passthrough": ["Country", "Email"]}
    clean, _ = process(engine(raw), params, columns=columns)
    assert clean[["Country", "Email"]].values.tolist() == [
        ["United Kingdom", "a@example.com"]
    ]


@pytest.mark.parametrize(
    ("passthrough", "expected"),
    [
        (["Email"], "'Email' (`columns.passthrough`)"),
        (["recency"], "not the customer id nor a name the pipelines use"),
        ([SOURCE_ID], "not the customer id"),
        (["Country", "Country"], "each column once"),
        ([3], "must list column names"),
    ],
)
def test_passthrough_columns_must_exist_and_not_clash(params, passthrough, expected):
    raw = uci_rows(("1", "A", 1, "2011-01-01 10:00:00", 1.0, "1"))
    columns = {**params["columns"], "passthrough": passthrough}
    with pytest.raises(TransactionSchemaError, match=re.escape(expected)):
        validate_transactions(raw.lazy(), columns, params["timestamp_format"])
