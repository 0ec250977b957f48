"""Clean transactions -> customer activity -> RFM features."""

from kedro.pipeline import Node, Pipeline

from .nodes import aggregate_customer_activity, compute_rfm_features


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                aggregate_customer_activity,
                inputs=[
                    "clean_transactions",
                    "params:rfm.snapshot_date",
                    "params:columns",
                ],
                outputs="customer_activity",
                name="aggregate_customer_activity",
            ),
            Node(
                compute_rfm_features,
                inputs=["customer_activity", "params:rfm.snapshot_date"],
                outputs="rfm_features",
                name="compute_rfm_features",
            ),
        ]
    )
