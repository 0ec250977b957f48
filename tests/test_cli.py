"""``kedro`` commands as a user types them in a project copy: what they print."""

from __future__ import annotations

import json

import click
import polars as pl
import pytest
from click.testing import CliRunner

from rfm_segmentation.cli import explain, run

from .support import kedro_run, run_kedro


@pytest.mark.slow
def test_a_run_prints_no_omegaconf_deprecation(project_factory, small_transactions):
    result = kedro_run(
        project_factory(small_transactions), "--pipelines", "data_processing"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "register_new_resolver" not in result.stdout + result.stderr


def test_a_bad_timestamp_format_explains_itself_once(
    project_factory, small_transactions
):
    project = project_factory(small_transactions)
    with pytest.raises(Exception) as failure:
        run_kedro(
            project,
            pipeline_names=["data_processing"],
            runtime_params={"timestamp_format": "%d.%m.%Y"},
        )
    message = explain(failure.value)
    assert "not timestamps in format '%d.%m.%Y'" in message
    assert message.count("conversion from `str` to `datetime") == 1
    assert "You might want to try" not in message  # Polars' advice is not the user's
    assert "They read as '%Y-%m-%d %H:%M:%S'" in message
    assert '--params "timestamp_format=%Y-%m-%d %H:%M:%S"' in message


@pytest.mark.slow
def test_a_failing_run_prints_its_error_once(project_factory, small_transactions):
    result = kedro_run(
        project_factory(small_transactions),
        "--pipelines",
        "data_processing",
        "--params",
        "timestamp_format=%d.%m.%Y",
    )
    printed = result.stdout + result.stderr
    assert result.returncode == 1, printed[-2000:]
    assert printed.count("not timestamps in format '%d.%m.%Y'") == 1, printed[-3000:]
    assert printed.count("conversion from `str` to `datetime") == 1
    assert "failed: the error follows" in " ".join(printed.split())  # Rich wraps


def test_a_missing_uci_workbook_says_to_run_make_download(project_factory):
    with pytest.raises(Exception) as failure:
        run_kedro(project_factory(), env="uci_xlsx", pipeline_names=["data_processing"])
    assert "run `make download` to fetch it" in explain(failure.value)


def test_other_missing_files_do_not_mention_the_download(project_factory):
    with pytest.raises(Exception) as failure:
        run_kedro(project_factory(), pipeline_names=["data_processing"])
    message = explain(failure.value)
    assert "online_retail.csv" in message
    assert "make download" not in message


@pytest.mark.slow
@pytest.mark.parametrize(
    "params",
    [
        ["--params", "raw_transactions_path={path},timestamp_format=%m/%d/%Y %H:%M"],
        [
            "--params",
            "raw_transactions_path={path}",
            "--params",
            "timestamp_format=%m/%d/%Y %H:%M",
        ],
    ],
    ids=["commas", "repeated"],
)
def test_the_readmes_two_parameter_forms_both_arrive(
    project_factory, small_transactions, params
):
    """The run succeeds only with both: the file is not at the default path and its
    dates are US-style."""
    project = project_factory()
    path = project / "us.csv"
    small_transactions.with_columns(
        pl.col("InvoiceDate").str.to_datetime().dt.strftime("%-m/%-d/%Y %-H:%M")
    ).write_csv(path)
    args = [arg.format(path=path) for arg in params]
    result = kedro_run(project, "--pipelines", "data_processing", *args)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_later_params_wins_per_key_and_nested_keys_merge():
    command = click.Command(
        "show",
        params=[option for option in run.params if option.name == "params"],
        callback=lambda params: click.echo(json.dumps(params, sort_keys=True)),
    )
    given = ["--params", "a=1,columns.invoice_id=Invoice", "--params", "a=2"]
    given += ["--params", "columns.unit_price=Price"]
    result = CliRunner().invoke(command, given)
    assert json.loads(result.output) == {
        "a": 2,
        "columns": {"invoice_id": "Invoice", "unit_price": "Price"},
    }
