"""The request path's arithmetic (Segmenter) equals the fitted scikit-learn Pipeline."""

from __future__ import annotations

import numpy as np

from rfm_segmentation.model import Segmenter

from .support import newest_release


def test_labels_equal_pipeline_predict_on_100000_random_valid_inputs(trained_project):
    model = newest_release(trained_project).model
    segmenter = Segmenter.from_model(model, np.zeros(3), np.ones(3))
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
    np.testing.assert_array_equal(segmenter.predict(rfm), model.predict(rfm))


def test_the_transform_is_the_fitted_pipelines_own(trained_project):
    model = newest_release(trained_project).model
    segmenter = Segmenter.from_model(model, np.zeros(3), np.ones(3))
    assert segmenter.transform is model.named_steps["log1p"].func


def test_one_customer_in_plain_floats_gets_the_label_and_flag_of_the_arrays(
    trained_project,
):
    model = newest_release(trained_project).model
    segmenter = Segmenter.from_model(
        model, np.array([1, 1, 5]), np.array([300, 40, 1e4])
    )
    rng = np.random.default_rng(7)
    rfm = np.column_stack(
        [
            rng.uniform(0, 800, 5000),
            np.exp(rng.uniform(0, np.log(500), 5000)),
            np.exp(rng.uniform(-2, np.log(1e7), 5000)),
        ]
    )
    one_by_one = [segmenter.assign_one(tuple(row)) for row in rfm.tolist()]
    labels, outside = (np.array(column) for column in zip(*one_by_one, strict=True))
    np.testing.assert_array_equal(labels, segmenter.predict(rfm))
    np.testing.assert_array_equal(outside, segmenter.outside_training_range(rfm))
    assert 0 < outside.sum() < len(rfm)  # both answers occur
    assert len(set(labels.tolist())) == segmenter.centroids.shape[0]
