"""Column roles: which column of the user's file plays which part in RFM."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import narwhals as nw

PARAMETERS_FILE = "conf/base/parameters_data_processing.yml"
NUMERIC_ROLES = ("quantity", "unit_price", "line_amount")
TEXT_ROLES = ("customer_id", "invoice_id", "stock_code")  # never fail to parse
PASSTHROUGH = "passthrough"  # the `columns` key listing source columns carried along
# Names the pipelines give their own columns: a carried column may not take one.
RESERVED_NAMES = frozenset(
    {
        "line_amount",
        "purchase_day",
        "period",
        "first_purchase_at",
        "last_purchase_at",
        "recency",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_score",
        "cluster_label",
        "segment",
        "segment_name",
        "name_reason",
        "strategy",
        "tenure",
        "as_of",
        "first_purchase",
        "last_purchase",
        "revenue",
        "currency",
        "is_outlier",
        "from",
        "to",
        "from_segment",
        "to_segment",
    }
)


class TransactionSchemaError(ValueError):
    """The raw transactions do not have the columns or types the parameters name."""


@dataclass(frozen=True)
class ColumnRoles:
    """Source column name for each role; ``None`` where the file has no such column.

    Either ``line_amount`` or both ``quantity`` and ``unit_price`` are needed. Without
    ``invoice_id`` a customer's distinct purchase days count as purchases.
    """

    customer_id: str
    invoiced_at: str
    invoice_id: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    line_amount: str | None = None
    stock_code: str | None = None

    @classmethod
    def from_params(cls, columns: Mapping[str, Any]) -> ColumnRoles:
        known = {field.name for field in fields(cls)}
        columns = {k: v for k, v in columns.items() if k != PASSTHROUGH}
        unknown = sorted(set(columns) - known)
        if unknown:
            raise TransactionSchemaError(
                f"Unknown column role(s) {unknown} in `columns` ({PARAMETERS_FILE}); "
                f"known roles: {sorted(known)} (and `{PASSTHROUGH}`: columns to carry)"
            )
        missing = [
            role for role in ("customer_id", "invoiced_at") if not columns.get(role)
        ]
        roles = cls(**{**columns, **dict.fromkeys(missing, "")})
        has_amount = roles.line_amount or (roles.quantity and roles.unit_price)
        if missing or not has_amount:
            needs = [f"`{role}`" for role in missing]
            if not has_amount:
                needs.append("either `line_amount` or both `quantity` and `unit_price`")
            raise TransactionSchemaError(
                f"`columns` in {PARAMETERS_FILE} must map {' and '.join(needs)}"
            )
        return roles

    def mapped(self) -> dict[str, str]:
        """Role -> source column, for the roles the file has."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)
        }


def passthrough_columns(columns: Mapping[str, Any]) -> list[str]:
    """The source columns ``columns.passthrough`` carries per customer (one name
    or a list; none when unset), checked not to clash with the pipelines' own."""
    listed = columns.get(PASSTHROUGH) or []
    names = [listed] if isinstance(listed, str) else list(listed)
    where = f"`columns.{PASSTHROUGH}` ({PARAMETERS_FILE})"
    if not all(isinstance(name, str) and name for name in names):
        raise TransactionSchemaError(f"{where} must list column names, got {listed!r}")
    clashes = [
        name
        for name in names
        if name in RESERVED_NAMES
        or name in {f.name for f in fields(ColumnRoles)}
        or name == columns.get("customer_id")
    ]
    if clashes or len(set(names)) < len(names):
        raise TransactionSchemaError(
            f"{where} lists {clashes or names}: each column once, and not the "
            "customer id nor a name the pipelines use for their own columns "
            f"({', '.join(sorted(RESERVED_NAMES))}); rename it in your file."
        )
    return names


def typed_columns(
    schema: Mapping[str, nw.dtypes.DType], roles: ColumnRoles, timestamp_format: str
) -> dict[str, nw.Expr]:
    """One expression per mapped role that parses the source column to its type."""
    parsers: dict[str, Callable[[nw.Expr, nw.dtypes.DType], nw.Expr]] = {
        "customer_id": lambda expr, dtype: _identifier(expr, dtype, customer=True),
        "invoice_id": lambda expr, dtype: _identifier(expr, dtype, customer=False),
        "stock_code": lambda expr, dtype: _identifier(expr, dtype, customer=False),
        **dict.fromkeys(NUMERIC_ROLES, lambda expr, _: expr.cast(nw.Float64)),
        "invoiced_at": lambda expr, dtype: _timestamp(expr, dtype, timestamp_format),
    }
    return {
        role: parsers[role](nw.col(source), schema[source]).alias(role)
        for role, source in roles.mapped().items()
    }


def _identifier(expr: nw.Expr, dtype: nw.dtypes.DType, *, customer: bool) -> nw.Expr:
    """An id as the file writes it. Integers stay integers (fast to group and compare);
    float columns (ids with gaps, Excel) become text without their ``.0``. Customer ids,
    the key people look up, are also trimmed and lose a ``.0`` written as text (CSV
    copies of UCI write ``17850.0``); empty text is missing."""
    if dtype.is_integer():
        return expr
    if dtype.is_float():
        return expr.cast(nw.String).str.replace_all(r"\.0+$", "", literal=False)
    if not customer:
        return expr.cast(nw.String)
    text = (
        expr.cast(nw.String)
        .str.strip_chars()
        .str.replace_all(r"\.0+$", "", literal=False)
    )
    return nw.when(text != "").then(text)


def _timestamp(expr: nw.Expr, dtype: nw.dtypes.DType, timestamp_format: str) -> nw.Expr:
    if dtype == nw.Datetime:
        return expr
    if dtype == nw.Date:
        return expr.cast(nw.Datetime("us"))
    return expr.cast(nw.String).str.strip_chars().str.to_datetime(timestamp_format)


def require_columns(
    available: list[str],
    roles: ColumnRoles,
    dataset: str,
    carried: Sequence[str] = (),
) -> None:
    """Fail naming every mapped or carried column the data lacks, and what it has
    instead."""
    wanted = [(source, f"role `{role}`") for role, source in roles.mapped().items()] + [
        (name, f"`columns.{PASSTHROUGH}`") for name in carried
    ]
    missing = [(source, why) for source, why in wanted if source not in available]
    if missing:
        listed = ", ".join(f"{source!r} ({why})" for source, why in missing)
        raise TransactionSchemaError(
            f"{dataset} is missing required column(s) {listed}. Available columns: "
            f"{available}. Map your file's columns under `columns` in {PARAMETERS_FILE}"
            + (f" (`{PASSTHROUGH}: []` carries none)." if carried else ".")
        )


def raise_unparseable(
    frame: nw.LazyFrame[Any],
    parsed: Mapping[str, nw.Expr],
    roles: ColumnRoles,
    timestamp_format: str,
    cause: Exception,
) -> None:
    """Find which parsed role broke evaluation and raise an error that names it.

    Called only after evaluation failed. First reads the file without parsing
    anything, so that an unreadable file is not blamed on a column; then evaluates
    each role's parse on its own.
    """
    try:
        frame.select(parsed["customer_id"].is_null().sum()).collect()
    except Exception as error:  # engine-specific read errors
        raise TransactionSchemaError(unreadable(error)) from error
    for role, expr in parsed.items():
        if role in TEXT_ROLES:
            continue
        try:
            frame.select(expr.max()).collect()
        except Exception as error:  # engine-specific parse errors
            source = roles.mapped()[role]
            found = f"Column {source!r} (role `{role}`) has values that are not"
            # the engine's own first paragraph shows the values (Polars' next ones
            # suggest arguments this project sets, not the user)
            shown = str(error).strip().split("\n\n")[0]
            if role != "invoiced_at":
                raise TransactionSchemaError(f"{found} numbers: {shown}") from error
            raise TransactionSchemaError(
                f"{found} timestamps in format {timestamp_format!r}: {shown}. "
                + _format_hint(frame, source, timestamp_format)
            ) from error
    raise cause


# Timestamp formats of shop exports, for the hint of a format that does not parse.
COMMON_TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)


def _format_hint(
    frame: nw.LazyFrame[Any], source: str, timestamp_format: str, sample: int = 1000
) -> str:
    """What to set ``timestamp_format`` to: the first common format that reads the
    column's first ``sample`` values, if any does and it is not the one set (which
    reads them where the bad values come later)."""
    where = f"`timestamp_format` in {PARAMETERS_FILE}"
    generic = f"Set {where} to the column's format (Python strftime codes)."
    if source not in frame.collect_schema().names():  # parsed already
        return generic
    values = (
        frame.select(nw.col(source).cast(nw.String).str.strip_chars())
        .head(sample)
        .collect()[source]
        .drop_nulls()
        .to_list()
    )
    candidates = (timestamp_format, *COMMON_TIMESTAMP_FORMATS)
    fitting = next((f for f in candidates if values and _all_parse(values, f)), None)
    if fitting in (None, timestamp_format):
        return generic
    return (
        f"They read as {fitting!r}: set {where}, or run with "
        f'`--params "timestamp_format={fitting}"`.'
    )


def _all_parse(values: list[str], timestamp_format: str) -> bool:
    try:
        for value in values:
            datetime.strptime(value, timestamp_format)
    except ValueError:
        return False
    return True


def unreadable(error: Exception) -> str:
    """What to do about a raw file that cannot be read at all."""
    return (
        f"raw_transactions could not be read ({error}). A file that is not UTF-8 "
        "needs its encoding: `kedro run --params encoding=latin-1` (or cp1252, ...); "
        "a compressed file that ends early was cut off while copying or downloading: "
        "fetch it again."
    )
