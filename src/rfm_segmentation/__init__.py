"""RFM customer segmentation: Kedro pipelines, K-Means segments, real-time API."""

import warnings

# Kedro 1.7's OmegaConfigLoader calls omegaconf's deprecated register_new_resolver()
# each time it loads: ~15 lines per call on every command, about Kedro's code, not
# ours. The package is imported before Kedro creates its config loader.
warnings.filterwarnings(
    "ignore",
    message=r"register_new_resolver\(\) is deprecated",
    category=UserWarning,
    module=r"kedro\.config\.omegaconf_config",
)

# kedro-viz 12 imports FastAPI's deprecated ORJSONResponse (~20 lines on `kedro viz`),
# also about its code, not ours.
warnings.filterwarnings(
    "ignore", message=r"ORJSONResponse is deprecated", module=r"kedro_viz\."
)

__version__ = "0.2.0"
