"""RFM features -> model input -> fitted model and its segment profile -> customer
segments -> one release of all three, and the customer table for people."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    assign_segments,
    build_model_input,
    export_customer_segments,
    measure_stability,
    profile_segments,
    publish_release,
    train_segmentation_model,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_model_input,
                inputs="rfm_features",
                outputs="model_input",
                name="build_model_input",
            ),
            Node(
                train_segmentation_model,
                inputs=["model_input", "params:clustering"],
                outputs="segmentation_model",
                name="train_segmentation_model",
            ),
            Node(
                measure_stability,
                inputs=[
                    "segmentation_model",
                    "model_input",
                    "params:clustering",
                    "params:stability",
                ],
                outputs="segment_stability",
                name="measure_stability",
            ),
            Node(
                profile_segments,
                inputs=[
                    "segmentation_model",
                    "model_input",
                    "segment_stability",
                    "params:clustering",
                    "params:naming",
                ],
                outputs="segment_profile",
                name="profile_segments",
            ),
            Node(
                assign_segments,
                inputs=["segmentation_model", "segment_profile", "rfm_features"],
                outputs="customer_segments",
                name="assign_segments",
            ),
            Node(
                publish_release,
                inputs=["segmentation_model", "segment_profile", "customer_segments"],
                outputs="model_release",
                name="publish_release",
            ),
            Node(
                export_customer_segments,
                inputs=["customer_segments", "params:columns.customer_id"],
                outputs="customer_segments_csv",
                name="export_customer_segments",
            ),
        ]
    )
