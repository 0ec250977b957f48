"""Deterministic, realistic e-commerce transactions in the UCI Online Retail format.

Customers are drawn from behaviour groups (loyal big spenders, lapsed big spenders,
recent first-timers, one-off long-gone buyers and everything between) so that the
four segments emerge, and the data carries the real file's quirks: guest rows
without a customer id, cancellation invoices, exact duplicates, non-product stock
codes, zero prices and several countries. Same seed, same rows.

Run ``python -m rfm_segmentation.synthetic_data`` to write the ``raw_transactions``
catalog entry when it does not exist yet (``--force`` to overwrite).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

logger = logging.getLogger(__name__)

FIRST_INVOICE_NO = 536_365
_SECONDS_PER_DAY = 86_400
_NON_PRODUCTS = {  # stock code: (description, unit price; 0 = random)
    "POST": ("POSTAGE", 18.0),
    "DOT": ("DOTCOM POSTAGE", 0.0),
    "M": ("Manual", 0.0),
    "C2": ("CARRIAGE", 50.0),
    "BANK CHARGES": ("Bank Charges", 15.0),
}
_COUNTRIES = {
    "United Kingdom": 0.89,
    "Germany": 0.025,
    "France": 0.022,
    "EIRE": 0.018,
    "Spain": 0.008,
    "Netherlands": 0.008,
    "Belgium": 0.007,
    "Switzerland": 0.006,
    "Portugal": 0.005,
    "Australia": 0.004,
    "Norway": 0.004,
    "Italy": 0.003,
}
_WORDS = (
    ["WHITE", "RED", "PINK", "BLUE", "GREEN", "VINTAGE", "RETRO", "CREAM", "JUMBO"],
    ["HANGING", "METAL", "GLASS", "WOODEN", "PAPER", "CERAMIC", "KNITTED", "LACE"],
    ["HEART", "LANTERN", "BAG", "CANDLE", "MUG", "BUNTING", "CLOCK", "TIN", "SIGN"],
)


@dataclass(frozen=True)
class BehaviourGroup:
    """How one kind of customer buys: share of customers, activity window as
    fractions of the period, invoices, lines per invoice and basket quantities."""

    share: float
    first: tuple[float, float]
    last: tuple[float, float]
    extra_invoices: float
    lines_per_invoice: float
    quantity_scale: float


GROUPS: dict[str, BehaviourGroup] = {
    "loyal_big_spender": BehaviourGroup(0.14, (0.0, 0.3), (0.93, 1.0), 14, 26, 2.5),
    "lapsed_big_spender": BehaviourGroup(0.14, (0.0, 0.25), (0.3, 0.65), 6, 22, 2.0),
    "recent_first_timer": BehaviourGroup(0.20, (0.88, 1.0), (0.9, 1.0), 0.3, 10, 0.8),
    "one_off_long_gone": BehaviourGroup(0.24, (0.0, 0.45), (0.0, 0.0), 0.15, 9, 0.8),
    "in_between": BehaviourGroup(0.28, (0.0, 0.8), (0.4, 1.0), 2.5, 15, 1.2),
}

# Shops of other shapes, to check that segment names keep their meaning on them.
SHAPES: dict[str, dict[str, BehaviourGroup]] = {
    "uci_like": GROUPS,
    # every customer acquired in the first weeks, then buying for a year or not
    "one_early_cohort": {
        "loyal": BehaviourGroup(0.2, (0.0, 0.06), (0.9, 1.0), 12, 20, 2.0),
        "lapsed": BehaviourGroup(0.25, (0.0, 0.06), (0.3, 0.6), 5, 18, 1.5),
        "occasional": BehaviourGroup(0.25, (0.0, 0.06), (0.1, 1.0), 2, 12, 1.0),
        "one_off": BehaviourGroup(0.3, (0.0, 0.06), (0.0, 0.0), 0.1, 8, 0.8),
    },
    # recency and value spread evenly between extremes, no distinct groups
    "continuum": {
        f"step_{i}": BehaviourGroup(
            0.1, (0.0, 0.9 * i / 9), (i / 10, (i + 1) / 10), i * 1.2, 8 + i, 0.6 + i / 6
        )
        for i in range(10)
    },
    # a few wholesalers buying hundreds of times in bulk beside ordinary customers
    "heavy_tails": {
        **GROUPS,
        "wholesaler": BehaviourGroup(0.01, (0.0, 0.2), (0.95, 1.0), 150, 40, 40.0),
        "bulk_buyer": BehaviourGroup(0.04, (0.0, 0.5), (0.5, 1.0), 30, 30, 8.0),
    },
    # most customers buy once and never come back
    "mostly_one_time": {
        "one_off": BehaviourGroup(0.75, (0.0, 1.0), (0.0, 0.0), 0.0, 8, 0.8),
        "repeat": BehaviourGroup(0.15, (0.0, 0.7), (0.3, 1.0), 3, 12, 1.2),
        "loyal": BehaviourGroup(0.10, (0.0, 0.3), (0.85, 1.0), 10, 18, 2.0),
    },
}


def generate_transactions(
    n_rows: int,
    seed: int,
    start: str | date,
    end: str | date,
    *,
    guest_share: float = 0.25,
    cancellation_share: float = 0.02,
    duplicate_share: float = 0.01,
    non_product_share: float = 0.004,
    zero_price_share: float = 0.004,
    groups: Mapping[str, BehaviourGroup] = GROUPS,
) -> pl.DataFrame:
    """Exactly ``n_rows`` transaction lines between ``start`` and ``end``, from
    customers of the behaviour ``groups`` (``GROUPS``, or one of ``SHAPES``).

    Columns and formats are those of the UCI Online Retail CSV: ``InvoiceNo``
    (``C`` prefix for cancellations), ``StockCode``, ``Description``, ``Quantity``,
    ``InvoiceDate`` (``YYYY-MM-DD HH:MM:SS``), ``UnitPrice``, ``CustomerID``
    (empty for guests) and ``Country``.
    """
    if n_rows < 100:
        raise ValueError(f"n_rows must be at least 100, got {n_rows}")
    rng = np.random.default_rng(seed)
    start_day, end_day = date.fromisoformat(str(start)), date.fromisoformat(str(end))
    n_days = (end_day - start_day).days
    if n_days < 30:
        raise ValueError(f"start..end must span at least 30 days, got {n_days}")

    products = _product_catalogue(rng, n_products=max(50, min(4000, n_rows // 130)))
    margin = 1.08  # generate a little more, then sample exactly n_rows
    quirk_share = cancellation_share + duplicate_share + non_product_share
    sales_rows = int(n_rows * margin / (1 + quirk_share))
    customers = _customers(rng, int(sales_rows * (1 - guest_share)), n_days, groups)
    invoices = _invoices(rng, customers, n_days)
    invoices = (
        pl.concat([invoices, _guest_invoices(rng, sales_rows * guest_share, n_days)])
        .sort("seconds", maintain_order=True)
        .with_row_index("invoice")
    )
    lines = _lines(rng, invoices, products, zero_price_share)
    lines = pl.concat(
        [
            lines,
            _non_product_lines(rng, invoices, int(sales_rows * non_product_share)),
            _cancellations(rng, lines, int(sales_rows * cancellation_share), n_days),
        ]
    )
    lines = pl.concat(
        [lines, lines.sample(int(sales_rows * duplicate_share), seed=seed)]
    )
    keep = np.sort(
        rng.choice(lines.height, size=min(n_rows, lines.height), replace=False)
    )
    return _to_uci_format(lines[keep], start_day)


def _product_catalogue(rng: np.random.Generator, n_products: int) -> pl.DataFrame:
    codes = rng.choice(np.arange(10_000, 99_999), size=n_products, replace=False)
    suffix = rng.choice(["", "", "", "A", "B", "C"], size=n_products)
    words = [rng.choice(options, size=n_products) for options in _WORDS]
    prices = np.clip(np.round(rng.lognormal(np.log(2.5), 0.8, n_products), 2), 0.1, 60)
    popularity = 1.0 / np.arange(1, n_products + 1) ** 0.8
    return pl.DataFrame(
        {
            "stock_code": [f"{c}{s}" for c, s in zip(codes, suffix, strict=True)],
            "description": [" ".join(w) for w in zip(*words, strict=True)],
            "unit_price": prices,
            "weight": popularity / popularity.sum(),
        }
    )


def _customers(
    rng: np.random.Generator,
    customer_rows: int,
    n_days: int,
    groups: Mapping[str, BehaviourGroup],
) -> pl.DataFrame:
    names = list(groups)
    shares = np.array([groups[g].share for g in names])
    expected_lines = (
        sum(
            groups[g].share
            * (1 + groups[g].extra_invoices)
            * groups[g].lines_per_invoice
            for g in names
        )
        / shares.sum()
    )
    n = max(20, round(customer_rows / expected_lines))
    group = rng.choice(len(names), size=n, p=shares / shares.sum())
    spec = [groups[names[g]] for g in group]
    first = np.array([rng.uniform(*s.first) for s in spec])
    last = np.array([rng.uniform(*s.last) for s in spec])
    last = np.maximum(first, last)  # one-off buyers: last purchase = first purchase
    countries = list(_COUNTRIES)
    weights = np.array(list(_COUNTRIES.values()))
    return pl.DataFrame(
        {
            "customer_id": rng.choice(
                np.arange(12_346, 12_346 + 8 * n), n, replace=False
            ),
            "first_day": first * n_days,
            "last_day": last * n_days,
            "n_invoices": 1 + rng.poisson([s.extra_invoices for s in spec]),
            "lines_per_invoice": np.array([s.lines_per_invoice for s in spec], float),
            "quantity_scale": np.array([s.quantity_scale for s in spec], float),
            "country": rng.choice(countries, size=n, p=weights / weights.sum()),
        }
    )


def _invoices(
    rng: np.random.Generator, customers: pl.DataFrame, n_days: int
) -> pl.DataFrame:
    """Invoices spread between each customer's first and last purchase day."""
    per_customer = customers["n_invoices"].to_numpy()
    rows = np.repeat(np.arange(customers.height), per_customer)
    invoices = customers[rows]
    is_last = np.r_[rows[1:] != rows[:-1], True]
    fraction = np.where(is_last, 1.0, rng.random(len(rows)))
    day = invoices["first_day"] + fraction * (
        invoices["last_day"] - invoices["first_day"]
    )
    return invoices.select(
        "customer_id", "lines_per_invoice", "quantity_scale", "country"
    ).with_columns(seconds=_business_seconds(rng, day.to_numpy(), n_days))


def _guest_invoices(
    rng: np.random.Generator, guest_rows: float, n_days: int
) -> pl.DataFrame:
    lines_per_invoice = 30.0
    n = max(1, round(guest_rows / lines_per_invoice))
    return pl.DataFrame(
        {
            "customer_id": pl.Series([None] * n, dtype=pl.Int64),
            "lines_per_invoice": np.full(n, lines_per_invoice),
            "quantity_scale": np.full(n, 0.8),
            "country": np.where(rng.random(n) < 0.97, "United Kingdom", "EIRE"),
            "seconds": _business_seconds(rng, rng.uniform(0, n_days, n), n_days),
        }
    )


def _business_seconds(
    rng: np.random.Generator, day: np.ndarray, n_days: int
) -> np.ndarray:
    """Whole days from ``day`` plus a time between 08:00 and 20:00, in seconds."""
    whole_days = np.clip(np.floor(day), 0, n_days).astype(np.int64)
    return (
        whole_days * _SECONDS_PER_DAY
        + rng.integers(8 * 3600, 20 * 3600, len(day)) // 60 * 60
    )


def _lines(
    rng: np.random.Generator,
    invoices: pl.DataFrame,
    products: pl.DataFrame,
    zero_price_share: float,
) -> pl.DataFrame:
    per_invoice = rng.geometric(1 / invoices["lines_per_invoice"].to_numpy())
    lines = invoices[np.repeat(np.arange(invoices.height), per_invoice)]
    picked = rng.choice(
        products.height, size=lines.height, p=products["weight"].to_numpy()
    )
    base_quantity = rng.choice([1, 2, 3, 4, 6, 8, 10, 12, 24], size=lines.height)
    quantity = np.ceil(base_quantity * lines["quantity_scale"].to_numpy()).astype(
        np.int64
    )
    price = products["unit_price"].to_numpy()[picked]
    price = np.where(rng.random(lines.height) < zero_price_share, 0.0, price)
    return lines.select("invoice", "customer_id", "country", "seconds").with_columns(
        stock_code=products["stock_code"].gather(picked),
        description=products["description"].gather(picked),
        quantity=quantity,
        unit_price=price,
        cancelled=False,
    )


def _non_product_lines(
    rng: np.random.Generator, invoices: pl.DataFrame, n: int
) -> pl.DataFrame:
    """Postage, carriage, manual adjustments and bank charges on random invoices."""
    rows = rng.integers(0, invoices.height, max(n, 1))
    codes = rng.choice(list(_NON_PRODUCTS), size=len(rows))
    fixed = np.array([_NON_PRODUCTS[c][1] for c in codes])
    price = np.where(fixed > 0, fixed, np.round(rng.uniform(0.5, 300, len(rows)), 2))
    return (
        invoices[rows]
        .select("invoice", "customer_id", "country", "seconds")
        .with_columns(
            stock_code=pl.Series(codes),
            description=pl.Series([_NON_PRODUCTS[c][0] for c in codes]),
            quantity=rng.integers(1, 4, len(rows)),
            unit_price=price,
            cancelled=False,
        )
    )


def _cancellations(
    rng: np.random.Generator, lines: pl.DataFrame, n: int, n_days: int
) -> pl.DataFrame:
    """Returns of earlier lines: negative quantity on a later ``C`` invoice."""
    returned = lines.sample(max(n, 1), seed=int(rng.integers(2**31)))
    delay = rng.integers(0, 20, returned.height) * _SECONDS_PER_DAY
    latest = n_days * _SECONDS_PER_DAY + 20 * 3600
    return returned.with_columns(
        quantity=-pl.col("quantity"),
        seconds=np.minimum(returned["seconds"].to_numpy() + delay, latest),
        cancelled=True,
    )


def _to_uci_format(lines: pl.DataFrame, start_day: date) -> pl.DataFrame:
    """Number invoices in time order and write the UCI column names and formats."""
    invoice_keys = ["invoice", "cancelled"]
    numbers = (
        lines.group_by(invoice_keys)
        .agg(pl.col("seconds").min())
        .sort("seconds", *invoice_keys)
        .with_row_index("number", offset=FIRST_INVOICE_NO)
        .drop("seconds")
    )
    lines = lines.join(numbers, on=invoice_keys).sort("number", maintain_order=True)
    invoice_no = pl.col("number").cast(pl.String)
    timestamp = pl.lit(start_day).cast(pl.Datetime("us")) + pl.duration(
        seconds=pl.col("seconds")
    )
    return lines.select(
        InvoiceNo=pl.when(pl.col("cancelled"))
        .then("C" + invoice_no)
        .otherwise(invoice_no),
        StockCode="stock_code",
        Description="description",
        Quantity="quantity",
        InvoiceDate=timestamp.dt.strftime("%Y-%m-%d %H:%M:%S"),
        UnitPrice="unit_price",
        CustomerID="customer_id",
        Country="country",
    )


def main(argv: list[str] | None = None) -> None:
    """Write the ``raw_transactions`` catalog entry unless it already exists."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--rows", type=int, help="rows to write (default: parameters)")
    parser.add_argument("--force", action="store_true", help="overwrite existing data")
    parser.add_argument("--env", help="Kedro environment")
    args = parser.parse_args(argv)

    project_path = Path.cwd()
    bootstrap_project(project_path)
    with KedroSession.create(project_path=project_path, env=args.env) as session:
        context = session.load_context()
        catalog = context.catalog
        params = dict(context.params["synthetic_data"])
        if args.rows:
            params["n_rows"] = args.rows
        if catalog.exists("raw_transactions") and not args.force:
            logger.info(
                "raw_transactions exists: leaving it as it is (--force to overwrite)"
            )
            return
        transactions = generate_transactions(**params)
        catalog.save("raw_transactions", transactions)
        logger.info(
            "Wrote %s synthetic transaction rows to raw_transactions",
            transactions.height,
        )


if __name__ == "__main__":
    main()
