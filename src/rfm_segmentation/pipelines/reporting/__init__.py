"""k selection, a per-segment summary table and the segmentation figures."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
