"""Deterministic, realistic e-commerce transactions in the UCI Online Retail format.

Customers are drawn from behaviour groups (loyal big spenders, lapsed big spenders,
recent first-timers, one-off long-gone buyers and everything between) so that the
four segments emerge, and the data carries the real file's quirks: guest rows
without a customer id, cancellation invoices, exact duplicates, non-product stock
codes, zero prices and several countries. Same seed, same rows.

Sized by lines (``generate_transactions``: ~120 lines a customer, as in the real
file) or by customers (``generate_customers``: millions of customers with a few
orders each, generated shard by shard); both run the same line generation. Without
invoice ids the ``InvoiceNo`` column is left out.

Run ``python -m rfm_segmentation.synthetic_data`` to write the ``raw_transactions``
catalog entry when it does not exist yet (``--force`` to overwrite; ``--customers
1000000 --orders-per-customer 2`` for a shop of a million customers).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

logger = logging.getLogger(__name__)

FIRST_INVOICE_NO = 536_365
FIRST_CUSTOMER_ID = 12_346
SHARD_CUSTOMERS = 1_000_000  # generate_customers: ~4.5M lines, ~2 GiB at a time
_ID_SPAN = 8  # customer ids are drawn from 8 times as many numbers as customers
_INVOICE_KEYS = ["invoice", "cancelled"]
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


@dataclass(frozen=True)
class Quirks:
    """The real file's quirks, as shares of the sales lines: guest lines without a
    customer id, returns on ``C`` invoices, exact duplicates, postage and other
    non-product lines, and zero prices."""

    guest_share: float = 0.25
    cancellation_share: float = 0.02
    duplicate_share: float = 0.01
    non_product_share: float = 0.004
    zero_price_share: float = 0.004

    def __post_init__(self) -> None:
        for name, share in vars(self).items():
            if not 0 <= share < 1:
                raise ValueError(f"{name} must be at least 0 and below 1, got {share}")


def generate_transactions(
    n_rows: int,
    seed: int,
    start: str | date,
    end: str | date,
    *,
    quirks: Quirks = Quirks(),
    groups: Mapping[str, BehaviourGroup] = GROUPS,
    invoice_ids: bool = True,
) -> pl.DataFrame:
    """Exactly ``n_rows`` transaction lines between ``start`` and ``end``, from
    customers of the behaviour ``groups`` (``GROUPS``, or one of ``SHAPES``), as
    many as those rows hold (~120 lines each with ``GROUPS``).

    Columns and formats are those of the UCI Online Retail CSV: ``InvoiceNo``
    (``C`` prefix for cancellations; left out without ``invoice_ids``),
    ``StockCode``, ``Description``, ``Quantity``, ``InvoiceDate`` (``YYYY-MM-DD
    HH:MM:SS``), ``UnitPrice``, ``CustomerID`` (empty for guests) and ``Country``.
    """
    if n_rows < 100:
        raise ValueError(f"n_rows must be at least 100, got {n_rows}")
    rng = np.random.default_rng(seed)
    start_day, n_days = _period(start, end)
    products = _product_catalogue(rng, _n_products(n_rows))
    margin = 1.08  # generate a little more, then sample exactly n_rows
    sales_rows = int(n_rows * margin / (1 + _extra_line_share(quirks)))
    customer_rows = int(sales_rows * (1 - quirks.guest_share))
    n_customers = max(20, round(customer_rows / _lines_per_customer(groups)))
    lines = _shop_lines(
        rng,
        n_customers,
        sales_rows,
        n_days=n_days,
        products=products,
        groups=groups,
        quirks=quirks,
        first_customer_id=FIRST_CUSTOMER_ID,
        sample_seed=seed,
    )
    keep = np.sort(
        rng.choice(lines.height, size=min(n_rows, lines.height), replace=False)
    )
    return _to_uci_format(lines[keep], start_day, FIRST_INVOICE_NO, invoice_ids)


def generate_customers(
    n_customers: int,
    seed: int,
    start: str | date,
    end: str | date,
    *,
    orders_per_customer: float,
    lines_per_order: float,
    quirks: Quirks = Quirks(),
    groups: Mapping[str, BehaviourGroup] = GROUPS,
    invoice_ids: bool = True,
    shard_customers: int = SHARD_CUSTOMERS,
) -> Iterator[pl.DataFrame]:
    """The transactions of exactly ``n_customers`` customers, who make
    ``orders_per_customer`` orders of ``lines_per_order`` lines on average (both at
    least 1), plus guests and the other ``quirks``; columns and formats as
    ``generate_transactions``.

    The ``groups`` keep their shares, activity windows and baskets, their orders
    and lines scaled to those means (``scaled_groups``). Yielded in shards of
    ``shard_customers`` customers, each with its own customer ids and invoice
    numbers, so that a shop of millions is written without being held whole
    (``spilled``); same arguments, same rows.
    """
    if n_customers < 1:
        raise ValueError(f"n_customers must be at least 1, got {n_customers}")
    start_day, n_days = _period(start, end)
    groups = scaled_groups(groups, orders_per_customer, lines_per_order)
    sales_lines = _lines_per_customer(groups) / (1 - quirks.guest_share)  # guests too
    products = _product_catalogue(
        np.random.default_rng(seed), _n_products(round(n_customers * sales_lines))
    )

    def shards() -> Iterator[pl.DataFrame]:
        first_invoice_no = FIRST_INVOICE_NO
        for shard, done in enumerate(range(0, n_customers, shard_customers)):
            rng = np.random.default_rng([seed, shard])
            size = min(shard_customers, n_customers - done)
            lines = _shop_lines(
                rng,
                size,
                round(size * sales_lines),
                n_days=n_days,
                products=products,
                groups=groups,
                quirks=quirks,
                first_customer_id=FIRST_CUSTOMER_ID + _ID_SPAN * done,
                sample_seed=int(rng.integers(2**31)),
            )
            n_invoices = lines.select(pl.struct(_INVOICE_KEYS).n_unique()).item()
            transactions = _to_uci_format(
                lines, start_day, first_invoice_no, invoice_ids
            )
            del lines  # not held while the caller has the shard
            yield transactions
            first_invoice_no += n_invoices

    return shards()  # arguments checked now, shards made as they are asked for


def scaled_groups(
    groups: Mapping[str, BehaviourGroup],
    orders_per_customer: float,
    lines_per_order: float,
) -> dict[str, BehaviourGroup]:
    """``groups`` whose customers make ``orders_per_customer`` orders of
    ``lines_per_order`` lines on average: every group's orders beyond the first, and
    lines beyond the first, scaled by one factor each, so that loyal customers still
    buy most often and in the biggest baskets."""
    spec = list(groups.values())
    share = np.array([g.share for g in spec]) / sum(g.share for g in spec)
    extra_orders = np.array([g.extra_invoices for g in spec])
    extra_lines = np.array([g.lines_per_invoice - 1 for g in spec])
    order_scale = _scale(
        "orders_per_customer", orders_per_customer, share @ extra_orders
    )
    orders = share * (1 + extra_orders * order_scale)
    line_scale = _scale(
        "lines_per_order", lines_per_order, orders @ extra_lines / orders.sum()
    )
    return {
        name: replace(
            g,
            extra_invoices=g.extra_invoices * order_scale,
            lines_per_invoice=1 + (g.lines_per_invoice - 1) * line_scale,
        )
        for name, g in groups.items()
    }


def _scale(name: str, wanted: float, beyond_one: float) -> float:
    """The factor turning a mean of ``1 + beyond_one`` into ``wanted``."""
    if wanted < 1:
        raise ValueError(f"{name} must be at least 1, got {wanted}")
    if beyond_one == 0 and wanted > 1:
        raise ValueError(f"{name} must be 1 for groups that never buy more than one")
    return (wanted - 1) / beyond_one if beyond_one else 0.0


@contextmanager
def spilled(shards: Iterable[pl.DataFrame]) -> Iterator[pl.LazyFrame]:
    """The ``shards`` as one LazyFrame, each written to a Parquet file in a scratch
    folder (removed afterwards) as it comes: a sink streams them on without holding
    more than one in memory."""
    with tempfile.TemporaryDirectory(prefix="rfm-synthetic-") as folder:
        files = []
        for number, shard in enumerate(shards):
            files.append(Path(folder) / f"{number:05}.parquet")
            shard.write_parquet(files[-1])
        yield pl.scan_parquet(files)


def _period(start: str | date, end: str | date) -> tuple[date, int]:
    """The first day and the number of days from ``start`` to ``end``."""
    start_day, end_day = date.fromisoformat(str(start)), date.fromisoformat(str(end))
    n_days = (end_day - start_day).days
    if n_days < 30:
        raise ValueError(f"start..end must span at least 30 days, got {n_days}")
    return start_day, n_days


def _n_products(rows: int) -> int:
    return max(50, min(4000, rows // 130))


def _extra_line_share(quirks: Quirks) -> float:
    """Lines added to the sales lines, as a share of them."""
    return quirks.cancellation_share + quirks.duplicate_share + quirks.non_product_share


def _lines_per_customer(groups: Mapping[str, BehaviourGroup]) -> float:
    """Expected sales lines of one customer of ``groups``."""
    shares = np.array([g.share for g in groups.values()])
    return (
        sum(
            g.share * (1 + g.extra_invoices) * g.lines_per_invoice
            for g in groups.values()
        )
        / shares.sum()
    )


def _shop_lines(
    rng: np.random.Generator,
    n_customers: int,
    sales_rows: int,
    *,
    n_days: int,
    products: pl.DataFrame,
    groups: Mapping[str, BehaviourGroup],
    quirks: Quirks,
    first_customer_id: int,
    sample_seed: int,
) -> pl.DataFrame:
    """The lines of ``n_customers`` customers and of guests (``sales_rows`` lines
    in all, a ``guest_share`` of them guests'), with the ``quirks`` added."""
    customers = _customers(rng, n_customers, n_days, groups, first_customer_id)
    invoices = _invoices(rng, customers, n_days)
    invoices = (
        pl.concat(
            [invoices, _guest_invoices(rng, sales_rows * quirks.guest_share, n_days)]
        )
        .sort("seconds", maintain_order=True)
        .with_row_index("invoice")
    )
    lines = _lines(rng, invoices, products, quirks.zero_price_share)
    lines = pl.concat(
        [
            lines,
            _non_product_lines(
                rng, invoices, int(sales_rows * quirks.non_product_share)
            ),
            _cancellations(
                rng, lines, int(sales_rows * quirks.cancellation_share), n_days
            ),
        ]
    )
    return pl.concat(
        [
            lines,
            lines.sample(int(sales_rows * quirks.duplicate_share), seed=sample_seed),
        ]
    )


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
    n: int,
    n_days: int,
    groups: Mapping[str, BehaviourGroup],
    first_id: int,
) -> pl.DataFrame:
    """``n`` customers of the ``groups``, with ids between ``first_id`` and
    ``first_id + _ID_SPAN * n``."""
    spec = list(groups.values())
    shares = np.array([g.share for g in spec])
    group = rng.choice(len(spec), size=n, p=shares / shares.sum())
    first_window, last_window = (
        np.array([g.first for g in spec])[group],
        np.array([g.last for g in spec])[group],
    )
    first = rng.uniform(first_window[:, 0], first_window[:, 1])
    last = rng.uniform(last_window[:, 0], last_window[:, 1])
    last = np.maximum(first, last)  # one-off buyers: last purchase = first purchase
    countries = list(_COUNTRIES)
    weights = np.array(list(_COUNTRIES.values()))
    return pl.DataFrame(
        {
            "customer_id": rng.choice(
                np.arange(first_id, first_id + _ID_SPAN * n), n, replace=False
            ),
            "first_day": first * n_days,
            "last_day": last * n_days,
            "n_invoices": 1
            + rng.poisson(np.array([g.extra_invoices for g in spec])[group]),
            "lines_per_invoice": np.array([g.lines_per_invoice for g in spec], float)[
                group
            ],
            "quantity_scale": np.array([g.quantity_scale for g in spec], float)[group],
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


def _to_uci_format(
    lines: pl.DataFrame, start_day: date, first_invoice_no: int, invoice_ids: bool
) -> pl.DataFrame:
    """Number invoices in time order from ``first_invoice_no`` and write the UCI
    column names and formats (``InvoiceNo`` only with ``invoice_ids``)."""
    numbers = (
        lines.group_by(_INVOICE_KEYS)
        .agg(pl.col("seconds").min())
        .sort("seconds", *_INVOICE_KEYS)
        .with_row_index("number", offset=first_invoice_no)
        .drop("seconds")
    )
    lines = lines.join(numbers, on=_INVOICE_KEYS).sort("number", maintain_order=True)
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
    ).drop([] if invoice_ids else ["InvoiceNo"])


def main(argv: list[str] | None = None) -> None:
    """Write the ``raw_transactions`` catalog entry unless it already exists."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--rows", type=int, help="rows to write (default: parameters)")
    size.add_argument("--customers", type=int, help="customers instead of rows")
    parser.add_argument(
        "--orders-per-customer", type=float, help="with --customers: mean orders"
    )
    parser.add_argument(
        "--lines-per-order", type=float, help="with --customers: mean lines an order"
    )
    parser.add_argument(
        "--invoice-ids",
        action=argparse.BooleanOptionalAction,
        help="write the InvoiceNo column (default: parameters)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing data")
    parser.add_argument("--env", help="Kedro environment")
    args = parser.parse_args(argv)

    project_path = Path.cwd()
    bootstrap_project(project_path)
    with KedroSession.create(project_path=project_path, env=args.env) as session:
        context = session.load_context()
        catalog = context.catalog
        if catalog.exists("raw_transactions") and not args.force:
            logger.info(
                "raw_transactions exists: leaving it as it is (--force to overwrite)"
            )
            return
        params = dict(context.params["synthetic_data"])
        chosen = {
            "n_rows": args.rows,
            "n_customers": args.customers,
            "orders_per_customer": args.orders_per_customer,
            "lines_per_order": args.lines_per_order,
            "invoice_ids": args.invoice_ids,
        }
        params.update((name, v) for name, v in chosen.items() if v is not None)
        if args.rows:  # rows, not the parameters' customers
            params["n_customers"] = None
        n_rows, n_customers = params.pop("n_rows"), params.pop("n_customers")
        orders, lines = params.pop("orders_per_customer"), params.pop("lines_per_order")
        if n_customers is None:
            catalog.save("raw_transactions", generate_transactions(n_rows, **params))
            logger.info(
                "Wrote %s synthetic transaction rows to raw_transactions", n_rows
            )
            return
        shards = generate_customers(
            n_customers, orders_per_customer=orders, lines_per_order=lines, **params
        )
        with spilled(shards) as transactions:
            catalog.save("raw_transactions", transactions)
        logger.info(
            "Wrote the transactions of %s synthetic customers to raw_transactions",
            n_customers,
        )


if __name__ == "__main__":
    main()
