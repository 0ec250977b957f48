"""The project's data catalog for readers outside ``kedro run`` (the API, tests)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kedro.config import MissingConfigException

# how Kedro's own context resolves relative filepaths against the project
from kedro.framework.context.context import _convert_paths_to_absolute_posix
from kedro.framework.project import configure_project, settings
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog


def load_catalog(
    project_path: Path, env: str | None = None, names: Iterable[str] | None = None
) -> DataCatalog:
    """The catalog entries ``names`` (default: all) exactly as ``kedro run --env
    <env>`` resolves them, built from the project's configuration alone: no project
    hooks (reading a release never starts Spark), no pipelines imported (Kedro's
    parameter validation would import every node's libraries), and Kedro's logging
    configuration left alone, so a long-running reader such as the API keeps its log
    handlers."""
    configure_project(__package__, preserve_logging=True)
    metadata = bootstrap_project(project_path)
    config_loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(metadata.project_path / settings.CONF_SOURCE),
        env=env,
        **settings.CONFIG_LOADER_ARGS,
    )
    entries = config_loader["catalog"]
    if names is not None:
        entries = {name: entries[name] for name in names}
    entries = _convert_paths_to_absolute_posix(metadata.project_path, entries)
    try:
        credentials = config_loader["credentials"]
    except MissingConfigException:
        credentials = {}
    return DataCatalog.from_config(entries, credentials)
