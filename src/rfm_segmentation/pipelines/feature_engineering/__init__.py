"""Per-customer Recency, Frequency and Monetary features and RFM quintile scores."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
