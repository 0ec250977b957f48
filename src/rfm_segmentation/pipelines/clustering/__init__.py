"""Fit K-Means on RFM features, name the clusters and assign every customer."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
