"""Project hooks: start Spark when the environment configures it (``kedro run --env spark``)."""

from __future__ import annotations

import logging
import os

from kedro.config import MissingConfigException
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


class SparkHooks:
    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Create the Spark session from the environment's ``spark.yml``.

        ``spark.remote`` (or ``SPARK_REMOTE``) selects Spark Connect; otherwise
        ``spark.master`` is used, ``local[*]`` in conf/spark. Environments without
        a spark.yml start no Spark at all.
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
        for key, value in spark_conf.items():
            builder = builder.config(key, str(value))
        session = builder.getOrCreate()
        if not remote:
            session.sparkContext.setLogLevel("WARN")
        logger.info(
            "Spark session ready (%s)",
            remote or spark_conf.get("spark.master", "default master"),
        )
