"""Model, profile, customer table (with customer value), history, migrations and
the report page, all from this run -> one release (staged, put in place when the run
succeeds), and the customer table for people."""

from kedro.pipeline import Node, Pipeline

from .nodes import export_customer_segments, publish_release


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                publish_release,
                inputs=[
                    "segmentation_model",
                    "customer_value_profile",
                    "customer_value_segments",
                    "segment_history",
                    "migration_tables",
                    "cleaning_report",
                    "report_html",
                ],
                outputs="model_release",
                name="publish_release",
            ),
            Node(
                export_customer_segments,
                inputs=["customer_value_segments", "params:columns.customer_id"],
                outputs="customer_segments_csv",
                name="export_customer_segments",
            ),
        ]
    )
