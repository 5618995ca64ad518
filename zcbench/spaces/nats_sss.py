"""NATS-Bench size search space (``nats-sss``).

Five layers (cell, reduction block, cell, reduction block, cell), each with a width from
{8, 16, ..., 64}: 8**5 = 32,768 channel configurations written ``8:16:32:48:64``. The cell is
fixed to NAS-Bench-201 index 9930's (``|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|
skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|``), as in the authors' ``main-sss.py``; the
network is their ``DynamicShapeTinyNet`` (our :class:`~zcbench.models.TinyNetwork`).

Official indexes follow the authors' ``traverse_net``: the first layer's width varies slowest,
so ``8:8:8:8:8`` is 0 and ``64:64:64:64:64`` is 32,767. Every configuration is its own
canonical class: widths change the function, so nothing merges.

The genotype stores the widths themselves (e.g. ``(8, 16, 32, 48, 64)``).
"""

from __future__ import annotations

import re

import numpy as np
from torch import nn

from zcbench.errors import ArchError, shown
from zcbench.models.networks import TinyNetwork
from zcbench.spaces.base import SearchSpace
from zcbench.spaces.nb201 import cell_nodes, parse_nb201
from zcbench.types import Arch

CANDIDATES: tuple[int, ...] = (8, 16, 24, 32, 40, 48, 56, 64)
NUM_LAYERS = 5
SIZE = len(CANDIDATES) ** NUM_LAYERS
FIXED_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"  # noqa: E501
FORM = "5 widths joined by ':', each one of " + ", ".join(str(c) for c in CANDIDATES)
_WIDTH_RE = re.compile(r"[0-9]{1,4}")  # fullmatch: ASCII digits, few of them
_POS = {c: i for i, c in enumerate(CANDIDATES)}
_WEIGHTS = len(CANDIDATES) ** np.arange(NUM_LAYERS - 1, -1, -1)


class NatsSizeSpace(SearchSpace):
    exact_second_order = True  # the NB201 cell's operations: tested fused == unfused
    name = "nats-sss"
    description = "NATS-Bench size: 5 layers x 8 widths (8..64) around NB201 cell 9930"
    example = "8:16:32:48:64"

    def __init__(self, data_dir: object = None) -> None:  # no data needed; signature shared
        self._nodes = cell_nodes(parse_nb201(FIXED_CELL))

    def __len__(self) -> int:
        return SIZE

    def __repr__(self) -> str:
        return "NatsSizeSpace()"

    def index(self, arch: Arch) -> int:
        g = self.validate(arch).genotype
        return int(np.dot([_POS[c] for c in g], _WEIGHTS))

    def from_index(self, index: int) -> Arch:
        i = self.check_index(index)
        return Arch(self.name, tuple(CANDIDATES[i // int(w) % len(CANDIDATES)] for w in _WEIGHTS))

    def parse(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise ArchError(
                f"malformed nats-sss architecture: a {type(text).__name__}, not a string; "
                f"expected {FORM}"
            )
        s = text.strip()
        parts = [p.strip() for p in s.split(":")]
        if len(parts) != NUM_LAYERS or not all(_WIDTH_RE.fullmatch(p) for p in parts):
            raise ArchError(f"malformed nats-sss architecture {shown(s)}; expected {FORM}")
        widths = tuple(int(p) for p in parts)
        bad = [w for w in widths if w not in _POS]
        if bad:
            raise ArchError(
                f"invalid width {bad[0]} in nats-sss architecture {shown(s)}; expected {FORM}"
            )
        return Arch(self.name, widths)

    def to_str(self, arch: Arch) -> str:
        return ":".join(str(c) for c in self.validate(arch).genotype)

    def validate(self, arch: Arch) -> Arch:
        self._check_space(arch)
        g = arch.genotype
        if len(g) != NUM_LAYERS or not all(c in _POS for c in g):
            raise ArchError(f"invalid nats-sss genotype {g}; expected {FORM}")
        return arch

    def sample(self, rng: np.random.Generator) -> Arch:
        pos = rng.integers(0, len(CANDIDATES), NUM_LAYERS)
        return Arch(self.name, tuple(CANDIDATES[int(p)] for p in pos))

    def neighbors(self, arch: Arch) -> list[Arch]:
        g = self.validate(arch).genotype
        return [
            Arch(self.name, g[:k] + (c,) + g[k + 1 :])
            for k in range(NUM_LAYERS)
            for c in CANDIDATES
            if c != g[k]
        ]

    def canonical(self, arch: Arch) -> str:
        return self.to_str(arch)

    def encode(self, arch: Arch) -> np.ndarray:
        """One-hot of each layer's width: 5 x 8 = 40 floats."""
        g = self.validate(arch).genotype
        x = np.zeros((NUM_LAYERS, len(CANDIDATES)), dtype=np.float32)
        x[np.arange(NUM_LAYERS), [_POS[c] for c in g]] = 1.0
        return x.reshape(-1)

    @property
    def encoding_size(self) -> int:
        return NUM_LAYERS * len(CANDIDATES)

    def build(self, arch: Arch, num_classes: int) -> nn.Module:
        return TinyNetwork(self.validate(arch).genotype, self._nodes, num_classes)
