"""Real-time segmentation API: FastAPI serving the catalog's model entries."""
