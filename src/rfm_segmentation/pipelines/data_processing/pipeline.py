"""Raw transactions -> validated -> clean transactions and a cleaning report."""

from kedro.pipeline import Node, Pipeline

from .nodes import clean_transactions, validate_transactions


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                validate_transactions,
                inputs=[
                    "raw_transactions",
                    "params:columns",
                    "params:timestamp_format",
                ],
                outputs="validated_transactions",
                name="validate_transactions",
            ),
            Node(
                clean_transactions,
                inputs=[
                    "validated_transactions",
                    "params:cleaning",
                    "params:columns",
                    "params:timestamp_format",
                ],
                outputs=["clean_transactions", "cleaning_report"],
                name="clean_transactions",
            ),
        ]
    )
