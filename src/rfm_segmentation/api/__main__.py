"""``python -m rfm_segmentation.api``: serve the API (``server.serve``)."""

from .server import serve

serve()
