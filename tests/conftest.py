"""Shared fixtures. Tests marked ``data`` need the benchmark data (ZCBENCH_DATA or
../shared/data); they are skipped with a reason when it is absent."""

from __future__ import annotations

import pytest
from hypothesis import settings

from zcbench.errors import DataError
from zcbench.paths import data_dir


def _has_data() -> bool:
    try:
        root = data_dir()
    except DataError:
        return False
    return (root / "nb201" / "ground_truth.csv").is_file()


HAS_DATA = _has_data()

# first calls load tables / warm caches; shared CI machines have noisy timings
settings.register_profile("zcbench", deadline=None, max_examples=100)
settings.load_profile("zcbench")


def pytest_collection_modifyitems(config, items):
    if HAS_DATA:
        return
    skip = pytest.mark.skip(reason="benchmark data not found (set ZCBENCH_DATA)")
    for item in items:
        if "data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def nb201():
    from zcbench.spaces import get_space

    return get_space("nb201")


@pytest.fixture(scope="session")
def sss():
    from zcbench.spaces import get_space

    return get_space("nats-sss")


@pytest.fixture(scope="session")
def table():
    from zcbench.tables.benchmarks import load_nb201_table

    return load_nb201_table()
