"""The request path's arithmetic equals the fitted scikit-learn Pipeline."""

from __future__ import annotations

import numpy as np

from rfm_segmentation.api.segmenter import Segmenter

from ..conftest import catalog_of


def test_labels_equal_pipeline_predict_on_100000_random_valid_inputs(trained_project):
    catalog = catalog_of(trained_project)
    model = catalog.load("segmentation_model")
    segmenter = Segmenter.from_model(model, catalog.load("segment_profiles"))
    rng = np.random.default_rng(2024)
    n = 100_000
    rfm = np.column_stack(
        [
            rng.uniform(0, 800, n),  # beyond the training range too
            np.exp(rng.uniform(0, np.log(500), n)),
            np.where(
                rng.random(n) < 0.05, 0.0, np.exp(rng.uniform(-2, np.log(1e6), n))
            ),
        ]
    )
    expected = model.predict(rfm)
    np.testing.assert_array_equal(segmenter.predict(rfm), expected)
