"""Customer value: BG/NBD and Gamma-Gamma fitted per run, each customer's probability
of being active, expected purchases and value, and a backtest on a holdout period."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
