"""Validate raw transactions and drop the rows that are not customer purchases."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
