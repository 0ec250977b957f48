"""RFM features -> model input -> fitted model and its segment profiles -> segments."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    assign_segments,
    build_model_input,
    profile_segments,
    train_segmentation_model,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_model_input,
                inputs=["rfm_features", "params:columns.customer_id"],
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
                profile_segments,
                inputs=["segmentation_model", "model_input", "params:clustering"],
                outputs="segment_profiles",
                name="profile_segments",
            ),
            Node(
                assign_segments,
                inputs=["segmentation_model", "segment_profiles", "rfm_features"],
                outputs="customer_segments",
                name="assign_segments",
            ),
        ]
    )
