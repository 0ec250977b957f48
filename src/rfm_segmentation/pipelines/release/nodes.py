"""Nodes of the release pipeline."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from rfm_segmentation.history import SegmentHistory
from rfm_segmentation.model import arithmetic_of, check_model
from rfm_segmentation.profile import SegmentProfile
from rfm_segmentation.release import Release


def publish_release(
    segmentation_model: Pipeline,
    segment_profile: SegmentProfile,
    customer_segments: pd.DataFrame,
    segment_history: SegmentHistory,
    migration_tables: pd.DataFrame,
    cleaning_report: dict[str, Any],
    report_html: str,
) -> Release:
    """Everything the API serves, from this run's memory, as one release (with the
    run's report page)."""
    check_model(segmentation_model, segment_profile)
    return Release.build(
        segmentation_model,
        arithmetic_of(segmentation_model),
        segment_profile,
        customers=customer_segments,
        history=segment_history,
        migrations=migration_tables,
        rows={
            "transactions_read": cleaning_report["rows_in"],
            "transactions_kept": cleaning_report["rows_out"],
        },
        report=report_html,
    )


def export_customer_segments(
    customer_segments: pd.DataFrame, customer_column: str
) -> pd.DataFrame:
    """The customer table for people, its id column named as in the source file."""
    return customer_segments.rename(columns={"customer_id": customer_column})
