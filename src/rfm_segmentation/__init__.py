"""RFM customer segmentation: Kedro pipelines, K-Means segments, real-time API."""

__version__ = "0.2.0"
