"""``kedro run`` for this project: Kedro's own command, with two changes.

- A failing run ends with its cause in a few lines instead of a long traceback;
  ``kedro run --traceback`` (or ``RFM_TRACEBACK=1``) shows the full one. A missing
  UCI workbook (``--env uci_xlsx``) adds that ``make download`` fetches it.
- ``--params`` values that YAML cannot read (``timestamp_format=%m/%d/%Y %H:%M``)
  are taken as plain text instead of failing, and ``--params`` given more than once
  is merged (Kedro would keep only the last).
"""

from __future__ import annotations

import copy
import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.cli.utils import CONTEXT_SETTINGS, _split_params, split_string
from omegaconf import OmegaConf

from rfm_segmentation.download import DEFAULT_OUTPUT

TRACEBACK_HINT = (
    "Run again with --traceback (or RFM_TRACEBACK=1) for the full traceback."
)
DOWNLOAD_HINT = (
    f"{DEFAULT_OUTPUT} is the UCI workbook: run `make download` to fetch it "
    "(needs internet)."
)


@click.group(context_settings=CONTEXT_SETTINGS, name=__file__)
def cli() -> None:
    """Project commands."""


def split_params(ctx: click.Context, param: Any, value: Any) -> Any:
    """Kedro's ``--params`` parsing; a value YAML rejects is kept as text."""
    try:
        return _split_params(ctx, param, value)
    except Exception:  # YAML errors of several kinds
        merged = OmegaConf.create()
        for item in split_string(ctx, param, value):
            key, _, text = item.partition("=")
            try:
                merged = OmegaConf.merge(merged, OmegaConf.from_dotlist([item]))
            except Exception:
                OmegaConf.update(merged, key.strip(), text, force_add=True)
        return OmegaConf.to_container(merged)


def merge_params(ctx: click.Context, param: Any, values: tuple[str, ...]) -> Any:
    """Every ``--params`` given, each parsed by ``split_params``; a later one wins
    per key."""
    merged = OmegaConf.create()
    for value in values:
        merged = OmegaConf.merge(merged, split_params(ctx, param, value))
    return OmegaConf.to_container(merged)


def explain(error: BaseException) -> str:
    """The error and what caused it, one line each, without repeats (a cause whose
    first paragraph an outer message already quotes, as ours quote Polars', is left
    out)."""
    lines: list[str] = []
    while error is not None:
        text = str(error).strip()  # Polars' messages end with a newline
        if not any(text.split("\n\n")[0] in seen for seen in lines):
            lines.append(f"{type(error).__name__}: {text}")
        if _is_missing_workbook(error):
            lines.append(DOWNLOAD_HINT)
        error = error.__cause__ or (
            None if error.__suppress_context__ else error.__context__
        )
    return "\n".join([*lines, TRACEBACK_HINT])


def _is_missing_workbook(error: BaseException) -> bool:
    """The UCI workbook of ``kedro run --env uci_xlsx`` was never downloaded."""
    missing = isinstance(error, FileNotFoundError) and error.filename
    return bool(missing) and Path(missing).match(str(DEFAULT_OUTPUT))


class NodeFailureLine(logging.Filter):
    """Kedro's "Node ... failed with error" log record without the error's text,
    which the run's last lines give (``explain``): one copy of each message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Node %s failed with error"):
            record.msg, record.args = (
                "Node %s failed: the error follows.",
                record.args[:1],
            )
        return True


def short_failures(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, traceback: bool, **kwargs: Any) -> Any:
        if traceback or os.environ.get("RFM_TRACEBACK"):
            return callback(*args, **kwargs)
        node_log, line = logging.getLogger("kedro.pipeline.node"), NodeFailureLine()
        node_log.addFilter(line)
        try:
            return callback(*args, **kwargs)
        except Exception as error:
            raise click.ClickException(explain(error)) from None
        finally:
            node_log.removeFilter(line)

    return run


def _project_run() -> click.Command:
    command = copy.copy(kedro_run)
    command.params = [copy.copy(p) for p in kedro_run.params]
    for index, option in enumerate(command.params):
        if option.name == "params":
            command.params[index] = click.Option(
                ["--params"],
                type=click.UNPROCESSED,
                multiple=True,
                callback=merge_params,
                help=f"{option.help}\nRepeat --params to give more; a later value "
                "wins per key.",
            )
    command.params.append(
        click.Option(
            ["--traceback"],
            is_flag=True,
            help="Show the full traceback of a failing run.",
        )
    )
    command.callback = short_failures(kedro_run.callback)
    return command


run = _project_run()
cli.add_command(run)
