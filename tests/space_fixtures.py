"""User-written search spaces for the tests (importable by worker processes by module path).

``ChainSpace`` is what a minimal user space looks like: only the required part of the
contract, and not enumerable (chains of any length), so the store keys it by a hash index.
``Incomplete`` forgets ``encode`` and ``build``; ``BadName`` has an upper-case name.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from zcbench.errors import ArchError
from zcbench.spaces import SearchSpace
from zcbench.types import Arch

WIDTHS = (4, 8)


class ChainSpace(SearchSpace):
    name = "test-chain"
    description = "test space: a chain of 3x3 convs of widths 4 or 8, any length"
    example = "4-8-8"
    enumerable = False

    def parse(self, text: str) -> Arch:
        try:
            widths = tuple(int(t) for t in str(text).strip().split("-"))
        except ValueError:
            raise ArchError(f"malformed chain {text!r}; expected widths like 4-8-8") from None
        if not widths or any(w not in WIDTHS for w in widths):
            raise ArchError(f"malformed chain {text!r}; widths are 4 or 8")
        return Arch(self.name, tuple(WIDTHS.index(w) for w in widths))

    def to_str(self, arch: Arch) -> str:
        return "-".join(str(WIDTHS[g]) for g in arch.genotype)

    def sample(self, rng: np.random.Generator) -> Arch:
        n = int(rng.integers(1, 5))
        return Arch(self.name, tuple(int(x) for x in rng.integers(0, 2, size=n)))

    def neighbors(self, arch: Arch) -> list[Arch]:
        g = list(arch.genotype)
        out = [Arch(self.name, tuple(g[:i] + [1 - g[i]] + g[i + 1 :])) for i in range(len(g))]
        out.append(Arch(self.name, tuple(g + [0])))
        if len(g) > 1:
            out.append(Arch(self.name, tuple(g[:-1])))
        return out

    def encode(self, arch: Arch) -> np.ndarray:
        g = np.asarray(arch.genotype, dtype=np.float32)
        return np.array([len(g), g.mean(), g.max()], dtype=np.float32)

    def build(self, arch: Arch, num_classes: int) -> nn.Module:
        layers: list[nn.Module] = []
        c = 3
        for g in arch.genotype:
            layers += [nn.Conv2d(c, WIDTHS[g], 3, padding=1), nn.BatchNorm2d(WIDTHS[g]), nn.ReLU()]
            c = WIDTHS[g]
        return nn.Sequential(
            *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes)
        )


class Incomplete(SearchSpace):
    name = "test-incomplete"

    def parse(self, text: str) -> Arch:
        return Arch(self.name, (0,))

    def to_str(self, arch: Arch) -> str:
        return "0"

    def sample(self, rng: np.random.Generator) -> Arch:
        return Arch(self.name, (0,))

    def neighbors(self, arch: Arch) -> list[Arch]:
        return []


class BadName(ChainSpace):
    name = "My Space"
