"""RFM features and clean transactions -> BG/NBD and Gamma-Gamma fits -> each
customer's p_alive, expected purchases and value, joined to the customer table and
the profile (what the release and reports publish); the same refitted before a
holdout period -> predicted against actual holdout purchases and spend, per segment."""

from kedro.pipeline import Node, Pipeline

from .figures import calibration_vs_holdout
from .nodes import (
    backtest_customer_value,
    fit_customer_value,
    summarise_backtest,
    value_segments,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                fit_customer_value,
                inputs=["rfm_features", "clean_transactions", "params:customer_value"],
                outputs=["customer_value", "customer_value_model"],
                name="fit_customer_value",
            ),
            Node(
                value_segments,
                inputs=[
                    "customer_segments",
                    "segment_profile",
                    "customer_value",
                    "customer_value_model",
                ],
                outputs=["customer_value_segments", "customer_value_profile"],
                name="value_segments",
            ),
            Node(
                backtest_customer_value,
                inputs=[
                    "clean_transactions",
                    "rfm_features",
                    "segmentation_model",
                    "segment_naming",
                    "params:customer_value",
                ],
                outputs=["customer_value_holdout", "customer_value_calibration_fit"],
                name="backtest_customer_value",
            ),
            Node(
                summarise_backtest,
                inputs=["customer_value_holdout", "customer_value_calibration_fit"],
                outputs="customer_value_backtest",
                name="summarise_backtest",
            ),
            Node(
                calibration_vs_holdout,
                inputs="customer_value_holdout",
                outputs=[
                    "customer_value_calibration_plotly",
                    "customer_value_calibration_png",
                ],
                name="plot_customer_value_calibration",
            ),
        ]
    )
