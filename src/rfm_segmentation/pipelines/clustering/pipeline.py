"""RFM features -> model input -> fitted model (on a sample at scale) -> cluster
names and per-customer thresholds -> every customer's segment -> the profile."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    assign_segments,
    build_model_input,
    measure_stability,
    name_segments,
    profile_segments,
    train_segmentation_model,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_model_input,
                inputs=["rfm_features", "params:clustering"],
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
                name_segments,
                inputs=["segmentation_model", "model_input", "params:naming"],
                outputs="segment_naming",
                name="name_segments",
            ),
            Node(
                assign_segments,
                inputs=[
                    "segmentation_model",
                    "segment_naming",
                    "rfm_features",
                    "params:naming",
                ],
                outputs="customer_segments",
                name="assign_segments",
            ),
            Node(
                profile_segments,
                inputs=[
                    "segmentation_model",
                    "segment_naming",
                    "customer_segments",
                    "segment_stability",
                    "params:clustering",
                    "params:currency",
                ],
                outputs="segment_profile",
                name="profile_segments",
            ),
        ]
    )
