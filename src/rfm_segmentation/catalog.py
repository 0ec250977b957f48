"""The project's data catalog for readers outside ``kedro run`` (the API, tests)."""

from __future__ import annotations

from pathlib import Path

from kedro.framework.hooks.manager import _create_hook_manager
from kedro.framework.project import configure_project, settings
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog


def load_catalog(project_path: Path, env: str | None = None) -> DataCatalog:
    """The catalog exactly as ``kedro run --env <env>`` resolves it, but without the
    project's hooks: reading a pickle never starts Spark (conf/spark), and without
    re-applying Kedro's logging configuration, which would reset the log handlers
    of a long-running reader such as the API."""
    configure_project(__package__, preserve_logging=True)
    metadata = bootstrap_project(project_path)
    config_loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(metadata.project_path / settings.CONF_SOURCE),
        env=env,
        **settings.CONFIG_LOADER_ARGS,
    )
    context = settings.CONTEXT_CLASS(
        package_name=metadata.package_name,
        project_path=metadata.project_path,
        config_loader=config_loader,
        hook_manager=_create_hook_manager(),  # empty: no project hooks
        env=env,
    )
    return context.catalog
