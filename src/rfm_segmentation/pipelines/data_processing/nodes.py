"""Nodes of the data_processing pipeline, written against narwhals so that the
catalog decides the engine (pandas, Polars or Spark)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import narwhals as nw

from rfm_segmentation.frames import as_lazy

from .distinct_rows import (
    DROPPED_BY,
    KEPT,
    distinct_kept_rows,
    first_failed_rule,
    tally_rows,
)
from .schema import (
    PARAMETERS_FILE,
    ColumnRoles,
    TransactionSchemaError,
    passthrough_columns,
    raise_unparseable,
    require_columns,
    typed_columns,
    unreadable,
)

HEAD_CHECK_ROWS = 1000  # rows parsed by validate_transactions itself


def validate_transactions(
    raw_transactions: Any, columns: Mapping[str, Any], timestamp_format: str
) -> Any:
    """Check the mapped columns exist and parse them to typed, role-named columns.

    The result has one column per mapped role plus ``line_amount`` (quantity x unit
    price where the file has no amount column), and the ``columns.passthrough``
    columns as text under their own names. On lazy engines parsing happens when
    the data is first evaluated, in ``clean_transactions``.
    """
    roles = ColumnRoles.from_params(columns)
    carried = passthrough_columns(columns)
    frame = as_lazy(raw_transactions)
    try:
        schema = frame.collect_schema()
    except Exception as error:  # an empty or unreadable file, by engine
        raise TransactionSchemaError(unreadable(error)) from error
    require_columns(schema.names(), roles, "raw_transactions", carried)
    parsed = typed_columns(schema, roles, timestamp_format)
    try:
        typed = frame.select(
            *parsed.values(), *(nw.col(name).cast(nw.String) for name in carried)
        )
        # lazy engines parse when evaluated: the first rows now, while the source
        # values are at hand for the error's hint (a wrong format breaks them all)
        frame.select(*parsed.values()).head(HEAD_CHECK_ROWS).collect()
    except Exception as error:  # eager engines parse here
        raise_unparseable(frame, parsed, roles, timestamp_format, error)
    if not roles.line_amount:
        typed = typed.with_columns(
            line_amount=nw.col("quantity") * nw.col("unit_price")
        )
    return typed.to_native()


def clean_transactions(
    validated_transactions: Any,
    cleaning: Mapping[str, Any],
    columns: Mapping[str, str | None],
    timestamp_format: str,
) -> tuple[Any, dict[str, int]]:
    """Drop rows that are not customer purchases; count how many each rule dropped.

    Rules apply in order, each counting only rows that survived the ones before:
    missing customer, missing timestamp, cancellation invoice, non-positive quantity,
    price or amount, non-product stock code, then exact duplicates. The counts take
    one pass over the data (``distinct_rows``: on Polars it also finds the rows that
    may be duplicates); the clean rows are evaluated when the catalog saves them.
    """
    frame = as_lazy(validated_transactions)
    rules = _drop_rules(frame.collect_schema().names(), cleaning)
    tagged = frame.with_columns(
        first_failed_rule(list(rules.values())).alias(DROPPED_BY)
    )
    try:
        tally = tally_rows(tagged)
    except Exception as error:  # lazy engines parse here
        roles = ColumnRoles.from_params(columns)
        parsed = {role: nw.col(role) for role in roles.mapped()}
        raise_unparseable(frame, parsed, roles, timestamp_format, error)
    counts = {
        "rows_in": sum(tally.rows.values()),
        **{rule: tally.rows.get(index, 0) for index, rule in enumerate(rules)},
        "rows_kept": tally.rows.get(KEPT, 0),
    }
    _require_purchases(counts)
    return distinct_kept_rows(tagged, tally), counts


def report_cleaning(
    clean_transactions: Any, cleaning_counts: dict[str, int]
) -> dict[str, Any]:
    """Rows in, rows dropped per rule (exact duplicates last), and what is left."""
    out = _first_row(
        as_lazy(clean_transactions).select(
            nw.len().alias("rows_out"),
            nw.col("customer_id").n_unique().alias("customers_out"),
            nw.col("line_amount").sum().round(2).alias("revenue_out"),
        )
    )
    counts = dict(cleaning_counts)
    rows_in, rows_kept = counts.pop("rows_in"), counts.pop("rows_kept")
    return {
        "rows_in": rows_in,
        "rows_dropped": {**counts, "exact_duplicate": rows_kept - out["rows_out"]},
        **out,
    }


def _require_purchases(counts: Mapping[str, int]) -> None:
    """Fail in one sentence when no row is left, naming the rules that removed them."""
    if counts["rows_in"] == 0:
        raise TransactionSchemaError(
            "raw_transactions has no rows (an empty file, or a header only): point "
            "`raw_transactions_path` at your export."
        )
    if counts["rows_kept"] == 0:
        dropped = ", ".join(
            f"{rule} {n:,}"
            for rule, n in counts.items()
            if n and rule not in ("rows_in", "rows_kept")
        )
        raise TransactionSchemaError(
            f"No customer purchases are left after cleaning: all {counts['rows_in']:,} "
            f"rows were dropped ({dropped}). Check `columns` and `cleaning` in "
            f"{PARAMETERS_FILE}."
        )


def _drop_rules(names: list[str], cleaning: Mapping[str, Any]) -> dict[str, nw.Expr]:
    """Rule name -> condition a row must meet to be kept, for the roles present."""
    rules = {
        "missing_customer_id": ~nw.col("customer_id").is_null(),
        "missing_timestamp": ~nw.col("invoiced_at").is_null(),
    }
    if "invoice_id" in names:
        prefix = cleaning["cancellation_prefix"]
        rules["cancelled_invoice"] = ~nw.col("invoice_id").str.starts_with(prefix)
    if "quantity" in names:
        rules["non_positive_quantity"] = nw.col("quantity") > 0
        rules["non_positive_unit_price"] = nw.col("unit_price") > 0
    else:
        rules["non_positive_line_amount"] = nw.col("line_amount") > 0
    if "stock_code" in names:
        codes = [str(code).upper() for code in cleaning["non_product_stock_codes"]]
        rules["non_product_stock_code"] = ~nw.col(
            "stock_code"
        ).str.to_uppercase().is_in(codes)
    return rules


def _first_row(frame: nw.LazyFrame[Any]) -> dict[str, Any]:
    """Evaluate a one-row aggregate into plain Python numbers."""
    row = frame.collect().rows(named=True)[0]
    return {
        key: (value.item() if hasattr(value, "item") else value)
        for key, value in row.items()
    }
