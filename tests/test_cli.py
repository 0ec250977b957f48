"""``kedro`` commands as a user types them in a project copy: what they print."""

from __future__ import annotations

import pytest

from .support import kedro_run


@pytest.mark.slow
def test_a_run_prints_no_omegaconf_deprecation(project_factory, small_transactions):
    result = kedro_run(
        project_factory(small_transactions), "--pipelines", "data_processing"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "register_new_resolver" not in result.stdout + result.stderr
