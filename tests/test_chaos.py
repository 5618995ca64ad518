"""SIGKILL ``zcbench score`` at random moments and rerun: the store ends up with every result
exactly once and the values of an uninterrupted run (the short CI version of ``make chaos``)."""

import pytest
from chaos import run_mode

pytestmark = pytest.mark.data


def test_sigkill_and_rerun_store_every_result_once_with_the_same_values(tmp_path):
    result = run_mode("in-process", 5, tmp_path, seed=1, archs="0-5", proxies="params,naswot")
    assert result.kills >= 5
    assert not result.problems, result.line()
