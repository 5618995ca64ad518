"""Architecture selections as users type them: ``0-99,1462`` or official strings.

Items are separated by commas. Each item is an index (``1462``), an inclusive index range
(``0-99``) or an official architecture string of the space (NB201 strings contain no commas;
NATS-sss strings look like ``8:16:32:48:64``). Duplicates are dropped, first occurrence wins.
"""

from __future__ import annotations

import re

import numpy as np

from zcbench.errors import ArchError, shown
from zcbench.spaces.base import SearchSpace
from zcbench.types import Arch

_INDEX_RE = re.compile(r"[0-9]+")  # fullmatch; ASCII digits only (int() refuses some others)
_RANGE_RE = re.compile(r"([0-9]+)\s*-\s*([0-9]+)")


def _index(space: SearchSpace, digits: str) -> int:
    """An index of ``space`` from ASCII digits (int() refuses over 4,300 of them)."""
    if len(digits) > 18:
        raise ArchError(
            f"{space.name} index {shown(digits)} out of range; expected 0..{len(space) - 1}"
        )
    return space.check_index(int(digits))


def parse_selection(space: SearchSpace, text: str) -> list[Arch]:
    """Parse ``text`` into architectures of ``space`` (one-line ArchError on bad input). A
    space that is not enumerable has no indexes: its items are always its strings."""
    items = [t.strip() for t in str(text).split(",")]
    if not any(items):
        raise ArchError(
            "empty architecture selection; expected indexes, ranges like 0-99, or official "
            f"strings such as {space.example!r}, separated by commas"
        )
    archs: list[Arch] = []
    for item in items:
        if not item:
            continue
        m = _RANGE_RE.fullmatch(item)
        if not space.enumerable:  # no indexes: every item is the space's own string
            archs.append(space.parse(item))
        elif _INDEX_RE.fullmatch(item):
            archs.append(space.from_index(_index(space, item)))
        elif m:
            lo, hi = _index(space, m.group(1)), _index(space, m.group(2))
            if lo > hi:
                raise ArchError(
                    f"empty index range {shown(item)}; expected low-high with low <= high"
                )
            archs.extend(space.from_index(i) for i in range(lo, hi + 1))
        else:
            archs.append(space.parse(item))
    return list(dict.fromkeys(archs))


def sample_indices(space: SearchSpace, n: int, seed: int) -> list[Arch]:
    """``n`` distinct architectures drawn uniformly (by index) with ``default_rng(seed)``; for
    a space that is not enumerable, the first ``n`` distinct draws of ``space.sample``."""
    if not space.enumerable:
        if n < 1:
            raise ArchError(f"sample size {n} out of range; expected at least 1")
        rng = np.random.default_rng(seed)
        drawn: dict[Arch, None] = {}
        for _ in range(100 * n):
            drawn[space.sample(rng)] = None
            if len(drawn) == n:
                return list(drawn)
        raise ArchError(
            f"{space.name} gave only {len(drawn)} distinct architectures in {100 * n} draws"
        )
    if not 1 <= n <= len(space):
        raise ArchError(f"sample size {n} out of range; expected 1..{len(space)}")
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(space), size=n, replace=False))
    return [space.from_index(int(i)) for i in idx]
