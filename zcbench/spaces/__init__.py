"""Search spaces by name: ``get_space("nb201")``, ``get_space("nats-sss")``."""

from __future__ import annotations

import os

from zcbench.errors import unknown
from zcbench.spaces.base import SearchSpace
from zcbench.spaces.nats_sss import NatsSizeSpace
from zcbench.spaces.nb201 import NB201Space

SPACES: dict[str, type[SearchSpace]] = {
    NB201Space.name: NB201Space,
    NatsSizeSpace.name: NatsSizeSpace,
}
_ALIASES = {
    "nb201": "nb201",
    "nas-bench-201": "nb201",
    "nats-tss": "nb201",
    "tss": "nb201",
    "nats-sss": "nats-sss",
    "sss": "nats-sss",
}


def get_space(name: str, data_dir: str | os.PathLike[str] | None = None) -> SearchSpace:
    """Instantiate a search space by name (``nb201``, ``nats-sss`` or an alias)."""
    canon = _ALIASES.get(str(name).strip().lower())
    if canon is None:
        raise unknown("search space", name, list(SPACES))
    return SPACES[canon](data_dir)


__all__ = ["SPACES", "NB201Space", "NatsSizeSpace", "SearchSpace", "get_space"]
