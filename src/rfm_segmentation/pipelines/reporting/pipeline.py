"""Model input and segments -> k selection, segment summary, figures and the
report page."""

from kedro.pipeline import Node, Pipeline

from . import figures
from .nodes import evaluate_k_range, export_audiences, summarise_segments
from .report import build_report

_FIGURES = {
    "segment_sizes": (figures.segment_sizes, "segment_summary"),
    "rfm_distributions": (
        figures.rfm_distributions,
        ["customer_segments", "params:currency"],
    ),
    "customer_scatter": (
        figures.customer_scatter,
        ["customer_segments", "params:currency"],
    ),
    "snake_plot": (figures.snake_plot, "customer_segments"),
    "k_selection_curves": (
        figures.k_selection_curves,
        ["k_selection", "params:clustering.n_clusters"],
    ),
    "stability": (figures.stability, ["segment_stability", "segment_profile"]),
}


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                evaluate_k_range,
                inputs=["model_input", "params:k_selection", "params:clustering"],
                outputs="k_selection",
                name="evaluate_k_range",
            ),
            Node(
                summarise_segments,
                inputs="customer_value_profile",
                outputs="segment_summary",
                name="summarise_segments",
            ),
            Node(
                build_report,
                inputs=["segment_profile", "migration_highlights"],
                outputs="report_html",
                name="build_report",
            ),
            Node(
                export_audiences,
                inputs=["customer_segments", "segment_profile", "params:columns"],
                outputs="audiences",
                name="export_audiences",
            ),
            *(
                Node(
                    plot,
                    inputs=source,
                    outputs=[f"{name}_plotly", f"{name}_png"],
                    name=f"plot_{name}",
                )
                for name, (plot, source) in _FIGURES.items()
            ),
        ]
    )
