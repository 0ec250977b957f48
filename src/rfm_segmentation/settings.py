"""Project settings: Kedro defaults, with `local` as the default run environment."""

from rfm_segmentation.hooks import RunHooks, SparkHooks

HOOKS = (RunHooks(), SparkHooks())

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {"spark": ["spark*", "spark*/**"]},
}
