"""Project hooks: one writer at a time and releases published only by runs that
succeed (``RunHooks``); Spark started when the environment configures it
(``SparkHooks``, ``kedro run --env spark``)."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from kedro.config import MissingConfigException
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl

from .release import RunInput
from .release_dataset import ModelReleaseDataset
from .run_lock import RunLock

logger = logging.getLogger(__name__)
LEFTOVERS = ".*.partial-*"  # scratch folders of atomic saves (datasets, releases)


class RunHooks:
    """For the whole of a run: the lock on the project's data folder, taken before
    the first node and released after the last. At the start, the leftovers of dead
    runs are removed and the release datasets told the run's input; at a successful
    end the staged release is put in place and old ones pruned (``releases.keep``);
    after a failure the staged release is removed."""

    def __init__(self) -> None:
        self._lock: RunLock | None = None
        self._context: KedroContext | None = None

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        self._context = context

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], catalog: Any) -> None:
        self._release_lock()  # an interrupted run earlier in this process
        data = Path(run_params["project_path"]) / "data"
        params = self._context.params if self._context else {}
        lock = RunLock(data)
        previous = lock.acquire(params.get("run_lock", {}).get("wait_seconds", 0))
        self._lock = lock
        if previous:
            logger.info("Took over the run lock left by %s (not running)", previous)
        removed = [p for p in data.rglob(LEFTOVERS) if p.is_dir()]
        for folder in removed:
            shutil.rmtree(folder, ignore_errors=True)
        releases = _release_datasets(catalog)
        for dataset in releases:
            removed += dataset.folder.discard_unfinished()
            dataset.for_run(_run_input(catalog))
        if removed:
            logger.info("Removed what dead runs left: %s", ", ".join(map(str, removed)))

    @hook_impl
    def after_pipeline_run(self, catalog: Any) -> None:
        try:
            keep = (
                (self._context.params if self._context else {})
                .get("releases", {})
                .get("keep", 0)
            )
            for dataset in _release_datasets(catalog):
                for version in dataset.folder.commit_staged():
                    logger.info("Published release %s", version)
                pinned = os.environ.get("RFM_MODEL_VERSION")
                pruned = dataset.folder.prune(keep, protect=[pinned] if pinned else [])
                if pruned:
                    logger.info(
                        "Pruned %d old release(s) (releases.keep = %d): %s",
                        len(pruned),
                        keep,
                        ", ".join(pruned),
                    )
        finally:
            self._release_lock()

    @hook_impl
    def on_pipeline_error(self, catalog: Any) -> None:
        try:
            for dataset in _release_datasets(catalog):
                dataset.folder.discard_unfinished()
        finally:
            self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _release_datasets(catalog: Any) -> list[ModelReleaseDataset]:
    return [d for d in catalog.values() if isinstance(d, ModelReleaseDataset)]


def _run_input(catalog: Any) -> RunInput | None:
    """The raw input the run reads, as its catalog entry names it."""
    if "raw_transactions" not in catalog:
        return None
    description = catalog.get("raw_transactions")._describe()
    path = description.get("filepath") or description.get("path")
    return RunInput.of(str(path)) if path else None


class SparkHooks:
    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Create the Spark session from the environment's ``spark.yml``.

        ``spark.remote`` (or ``SPARK_REMOTE``) selects Spark Connect; otherwise
        ``spark.master`` is used, ``local[*]`` in conf/spark, whose Python workers
        run this interpreter unless ``PYSPARK_PYTHON`` says otherwise. Environments
        without a spark.yml start no Spark at all.
        """
        try:
            spark_conf = dict(context.config_loader["spark"])
        except (KeyError, MissingConfigException):
            return
        if not spark_conf:
            return
        from pyspark.sql import SparkSession  # noqa: PLC0415 - pyspark is the optional [spark] extra

        builder = SparkSession.builder.appName(context.project_path.name)
        remote = spark_conf.pop("spark.remote", None) or os.environ.get("SPARK_REMOTE")
        if remote:  # Spark Connect: the server owns its master and driver
            os.environ["SPARK_REMOTE"] = remote  # where kedro-datasets looks for it
            builder = builder.remote(remote)
            spark_conf = {
                key: value
                for key, value in spark_conf.items()
                if key != "spark.master" and not key.startswith("spark.driver.")
            }
        elif str(spark_conf.get("spark.master", "")).startswith("local"):
            # a local master's Python workers run the nodes' code (the assignment's
            # mapInPandas): this interpreter has the project; the PATH's may not
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        for key, value in spark_conf.items():
            builder = builder.config(key, str(value))
        session = builder.getOrCreate()
        if not remote:
            session.sparkContext.setLogLevel("WARN")
        logger.info(
            "Spark session ready (%s)",
            remote or spark_conf.get("spark.master", "default master"),
        )
