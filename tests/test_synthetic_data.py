from __future__ import annotations

import hashlib
from functools import cache
from itertools import pairwise

import polars as pl
import pytest

from rfm_segmentation.slices import feature_pipeline, run_slice
from rfm_segmentation.synthetic_data import (
    SHAPES,
    Quirks,
    generate_customers,
    generate_transactions,
    main,
)

from .support import base_parameters

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


def test_the_default_data_has_not_changed(params):
    """`make all` on a fresh checkout keeps giving the file it always gave."""
    default = {
        name: params["synthetic_data"][name]
        for name in ("n_rows", "seed", "start", "end")
    }
    data = generate_transactions(**default)
    assert hashlib.sha256(data.write_csv().encode()).hexdigest() == (
        "471b6f605db2acdace4be36a98ceaaaf5296c218d9f5044fa3366a9a5a0ec692"
    )


CUSTOMERS = 20_000


@cache
def shards(invoice_ids: bool = True) -> tuple[pl.DataFrame, ...]:
    """20,000 customers of ~2 orders of ~1.6 lines, generated in three shards."""
    return tuple(
        generate_customers(
            CUSTOMERS,
            seed=3,
            start="2010-12-01",
            end="2011-12-09",
            orders_per_customer=2,
            lines_per_order=1.6,
            invoice_ids=invoice_ids,
            shard_customers=7_000,
        )
    )


def shop(invoice_ids: bool = True) -> pl.DataFrame:
    return pl.concat(shards(invoice_ids))


def test_customer_scale_gives_that_many_customers_orders_and_lines():
    data = shop()
    assert data.columns == UCI_COLUMNS
    assert data["CustomerID"].drop_nulls().n_unique() == CUSTOMERS
    assert 4.0 < data.height / CUSTOMERS < 4.9  # ~4.4M lines for 1M customers
    orders = data.drop_nulls("CustomerID").filter(
        ~pl.col("InvoiceNo").str.starts_with("C")
    )
    assert orders["InvoiceNo"].n_unique() / CUSTOMERS == pytest.approx(2, rel=0.05)
    lines = orders.filter(~pl.col("StockCode").is_in(["POST", "DOT", "M", "C2"]))
    lines_per_order = lines.unique().height / orders["InvoiceNo"].n_unique()
    assert lines_per_order == pytest.approx(1.6, rel=0.05)
    # the real file's quirks at the same shares
    assert 0.2 < data["CustomerID"].null_count() / data.height < 0.3
    cancelled = data.filter(pl.col("InvoiceNo").str.starts_with("C"))
    assert 0.01 < cancelled.height / data.height < 0.03
    assert (cancelled["Quantity"] < 0).all()
    assert data.is_duplicated().sum() > 0
    parsed = data["InvoiceDate"].str.to_datetime("%Y-%m-%d %H:%M:%S")
    assert str(parsed.min().date()) >= "2010-12-01"
    assert str(parsed.max().date()) <= "2011-12-09"


def test_loyal_customers_still_buy_most_at_customer_scale():
    orders = (
        shop()
        .drop_nulls("CustomerID")
        .group_by("CustomerID")
        .agg(pl.col("InvoiceNo").n_unique())["InvoiceNo"]
    )
    assert orders.min() == 1
    assert orders.quantile(0.99) >= 8  # the loyal big spenders' share of the orders


def test_shards_have_their_own_customers_and_invoices():
    customers = [set(shard["CustomerID"].drop_nulls()) for shard in shards()]
    assert [len(ids) for ids in customers] == [7_000, 7_000, 6_000]
    assert len(set().union(*customers)) == CUSTOMERS
    invoices = [
        shard["InvoiceNo"].str.strip_prefix("C").cast(pl.Int64) for shard in shards()
    ]
    for earlier, later in pairwise(invoices):
        assert later.min() == earlier.max() + 1  # numbered on, none used twice
    numbers = pl.concat(invoices)
    assert numbers.min() == 536_365
    assert numbers.n_unique() == numbers.max() - 536_365 + 1


def test_customer_scale_is_deterministic_and_seeded():
    again = pl.concat(
        generate_customers(
            CUSTOMERS,
            seed=3,
            start="2010-12-01",
            end="2011-12-09",
            orders_per_customer=2,
            lines_per_order=1.6,
            shard_customers=7_000,
        )
    )
    other = next(
        generate_customers(
            100,
            seed=4,
            start="2010-12-01",
            end="2011-12-09",
            orders_per_customer=2,
            lines_per_order=1.6,
        )
    )
    assert again.equals(shop())
    assert not other.head(50).equals(shop().head(50))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n_customers": 0}, "n_customers must be at least 1"),
        ({"orders_per_customer": 0.5}, "orders_per_customer must be at least 1"),
        ({"lines_per_order": 0}, "lines_per_order must be at least 1"),
        (
            {"groups": {"once": SHAPES["mostly_one_time"]["one_off"]}},
            "orders_per_customer must be 1",
        ),
    ],
)
def test_customer_scale_arguments_are_validated_before_any_shard(arguments, message):
    with pytest.raises(ValueError, match=message):
        generate_customers(
            **{
                "n_customers": 100,
                "seed": 1,
                "start": "2011-01-01",
                "end": "2011-06-30",
                "orders_per_customer": 2,
                "lines_per_order": 1.6,
                **arguments,
            }
        )


def test_quirk_shares_are_validated():
    with pytest.raises(ValueError, match="guest_share must be at least 0 and below 1"):
        Quirks(guest_share=1)


def test_without_invoice_ids_the_same_lines_lack_the_invoice_column():
    data = shop(invoice_ids=False)
    assert data.columns == [c for c in UCI_COLUMNS if c != "InvoiceNo"]
    assert data.equals(shop().drop("InvoiceNo"))
    assert (data["Quantity"] < 0).sum() > 0  # returns: negative quantities, no C
    rows = generate_transactions(
        1000, seed=1, start="2011-01-01", end="2011-06-30", invoice_ids=False
    )
    assert rows.equals(
        generate_transactions(1000, seed=1, start="2011-01-01", end="2011-06-30").drop(
            "InvoiceNo"
        )
    )


def test_without_invoice_ids_purchases_are_distinct_days():
    params = base_parameters()
    params = {**params, "columns": {**params["columns"], "invoice_id": None}}
    data = shop(invoice_ids=False).cast(pl.String)
    features = run_slice(feature_pipeline(), {"raw_transactions": data.lazy()}, params)[
        "rfm_features"
    ]
    kept = data.filter(
        pl.col("CustomerID").is_not_null()
        & (pl.col("Quantity").cast(pl.Int64) > 0)
        & (pl.col("UnitPrice").cast(pl.Float64) > 0)
        & ~pl.col("StockCode").is_in(params["cleaning"]["non_product_stock_codes"])
    )
    days = kept.group_by("CustomerID").agg(
        pl.col("InvoiceDate").str.slice(0, 10).n_unique().alias("days")
    )
    assert len(features) == days.height > 0.99 * CUSTOMERS
    assert features["frequency"].sum() == days["days"].sum()


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


def test_cli_writes_customers_streamed_and_without_invoice_ids(
    project_factory, monkeypatch
):
    project = project_factory()
    monkeypatch.chdir(project)
    raw = project / "data/01_raw/online_retail.csv"
    main(["--customers", "3000", "--orders-per-customer", "3", "--no-invoice-ids"])
    data = pl.read_csv(raw, infer_schema=False)
    assert data.columns == [c for c in UCI_COLUMNS if c != "InvoiceNo"]
    assert data["CustomerID"].drop_nulls().n_unique() == 3000
    assert 6 * 3000 < data.height < 7.5 * 3000  # 3 orders of 1.6 lines, and guests
    main(["--rows", "2000", "--force"])  # rows again, whatever the parameters say
    assert pl.read_csv(raw, infer_schema=False).height == 2000
