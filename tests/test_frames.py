"""The engine-agnostic frame helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_segmentation.frames import positions_of

KEYS = pd.Series(["17850", "a", "Zoë", "b"], name="customer_id")


@pytest.mark.parametrize("dtype", [object, "str", "category"])
def test_each_id_is_found_at_its_keys_row_and_absent_or_null_ones_nowhere(dtype):
    ids = pd.Series(["b", "x", None, "17850", "Zoë", "b"], dtype=dtype)
    keys = KEYS.astype(dtype)
    assert positions_of(ids, keys).tolist() == [3, -1, -1, 0, 2, 3]


def test_the_same_ids_in_the_same_order_are_their_own_positions():
    assert np.array_equal(positions_of(KEYS, KEYS.copy()), np.arange(len(KEYS)))
    assert positions_of(KEYS.iloc[:0], KEYS).tolist() == []


def test_duplicate_keys_are_refused_naming_the_column():
    with pytest.raises(ValueError, match="customer_id has duplicate values"):
        positions_of(pd.Series(["a"]), pd.Series(["a", "b", "a"], name="customer_id"))
