"""RFM at a series of snapshot dates, each customer's segment at each, and the
migrations between segments."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
