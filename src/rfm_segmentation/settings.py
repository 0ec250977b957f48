"""Project settings: Kedro defaults, with `local` as the default run environment."""

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
