"""Customer scale in small: a model fitted on a seeded sample segments a generated
shop as a fit on every customer does (the benchmark measures it at 1M customers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from rfm_segmentation.model import FEATURES, fit_segmentation_model
from rfm_segmentation.pipelines.clustering.nodes import train_segmentation_model
from rfm_segmentation.slices import feature_pipeline, run_slice
from rfm_segmentation.synthetic_data import generate_customers

CUSTOMERS = 50_000
BOUND = 10_000


@pytest.fixture(scope="module")
def model_input(params) -> np.ndarray:
    shop = pl.concat(
        generate_customers(
            CUSTOMERS,
            seed=11,
            start="2010-12-01",
            end="2011-12-09",
            orders_per_customer=2,
            lines_per_order=1.6,
        )
    )
    rfm = run_slice(feature_pipeline(), {"raw_transactions": shop.lazy()}, params)[
        "rfm_features"
    ]
    return rfm[FEATURES].to_numpy(dtype=float)


def test_a_fit_on_a_sample_labels_every_customer_as_a_full_fit_does(
    model_input, params
):
    clustering = params["clustering"]
    assert len(model_input) > 0.95 * CUSTOMERS
    sampled = train_segmentation_model(
        pd.DataFrame(model_input, columns=FEATURES),
        {**clustering, "fit_sample_size": BOUND},
    )
    full = fit_segmentation_model(model_input, clustering, fit_sample_size=CUSTOMERS)
    assert not np.array_equal(_centres(sampled), _centres(full))  # a sample was used
    assert not hasattr(sampled.named_steps["kmeans"], "labels_")
    agreement = adjusted_rand_score(
        full.predict(model_input), sampled.predict(model_input)
    )
    assert agreement >= 0.95, agreement


def _centres(model) -> np.ndarray:
    return model.named_steps["kmeans"].cluster_centers_
