"""Clean transactions, the customer table and the model in memory -> every
customer's features and segment at each snapshot up to the as-of date -> migrations
and figures."""

from kedro.pipeline import Node, Pipeline

from . import figures
from .nodes import (
    aggregate_snapshot_activity,
    biggest_flows,
    choose_snapshot_dates,
    export_movers,
    segment_snapshots,
    summarise_migrations,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                choose_snapshot_dates,
                inputs=["rfm_features", "params:snapshots"],
                outputs="snapshot_dates",
                name="choose_snapshot_dates",
            ),
            Node(
                aggregate_snapshot_activity,
                inputs=["clean_transactions", "snapshot_dates"],
                outputs="snapshot_activity",
                name="aggregate_snapshot_activity",
            ),
            Node(
                segment_snapshots,
                inputs=[
                    "snapshot_activity",
                    "snapshot_dates",
                    "customer_segments",
                    "segmentation_model",
                    "segment_profile",
                ],
                outputs="segment_history",
                name="segment_snapshots",
            ),
            Node(
                summarise_migrations,
                inputs="segment_history",
                outputs=["segment_migrations", "migration_tables"],
                name="summarise_migrations",
            ),
            Node(
                biggest_flows,
                inputs=["segment_migrations", "params:migrations.top_flows"],
                outputs="migration_highlights",
                name="biggest_flows",
            ),
            Node(
                export_movers,
                inputs=[
                    "migration_highlights",
                    "segment_history",
                    "customer_segments",
                    "params:columns",
                    "params:currency",
                ],
                outputs="movers",
                name="export_movers",
            ),
            Node(
                figures.migration_sankey,
                inputs="segment_migrations",
                outputs=["migration_sankey_plotly", "migration_sankey_png"],
                name="plot_migration_sankey",
            ),
            Node(
                figures.segment_sizes_over_time,
                inputs="segment_history",
                outputs=[
                    "segment_sizes_over_time_plotly",
                    "segment_sizes_over_time_png",
                ],
                name="plot_segment_sizes_over_time",
            ),
        ]
    )
