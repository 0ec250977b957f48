"""The release: one run's model, profile, customer table, history and migrations,
published as one aggregate for the API."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
