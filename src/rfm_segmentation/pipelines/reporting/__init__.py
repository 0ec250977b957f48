"""k selection, a per-segment summary table, the segmentation figures and the
report page (report.html)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
