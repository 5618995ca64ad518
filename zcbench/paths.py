"""Where the benchmark data lives.

Resolution order: an explicit argument, then the ``ZCBENCH_DATA`` environment variable, then
``../shared/data`` beside the checkout (the layout CI and the developers use). Nothing is
downloaded: a missing directory is a :class:`~zcbench.errors.DataError` saying where files go.
"""

from __future__ import annotations

import os
from pathlib import Path

from zcbench.errors import DataError

ENV_VAR = "ZCBENCH_DATA"
_REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = _REPO_ROOT.parent / "shared" / "data"


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the benchmark data directory, checking that it exists."""
    if path is not None:
        where, how = Path(path), "the path given"
    elif os.environ.get(ENV_VAR):
        where, how = Path(os.environ[ENV_VAR]), f"${ENV_VAR}"
    else:
        where, how = DEFAULT_DATA_DIR, f"the default (set ${ENV_VAR} to override)"
    if not where.is_dir():
        raise DataError(
            f"benchmark data directory {where} from {how} does not exist; expected a folder with "
            "nb201/ground_truth.csv and images/*.npz"
        )
    return where


def data_file(relative: str, path: str | os.PathLike[str] | None = None) -> Path:
    """Return ``<data dir>/<relative>``, raising a one-line DataError if it is missing."""
    root = data_dir(path)
    target = root / relative
    if not target.is_file():
        raise DataError(f"missing data file {target}; expected {relative} under {root}")
    return target
