"""Raw transactions -> validated -> clean transactions and a cleaning report."""

from kedro.pipeline import Node, Pipeline

from .nodes import clean_transactions, report_cleaning, validate_transactions


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
                outputs=["clean_transactions", "cleaning_counts"],
                name="clean_transactions",
            ),
            Node(
                report_cleaning,
                inputs=["clean_transactions", "cleaning_counts"],
                outputs="cleaning_report",
                name="report_cleaning",
            ),
        ]
    )
