"""Core value types shared by every layer: :class:`Arch` and :class:`Batch`.

Small, frozen and free of behaviour that needs a search space: an ``Arch`` is a space name plus a
genotype (a tuple of ints whose meaning the space defines). Its :attr:`Arch.key` is a compact
string that round-trips through :meth:`Arch.from_key`; the official benchmark string and index
come from the space (``space.to_str(arch)``, ``space.index(arch)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch

from zcbench.errors import ArchError

_KEY_RE = re.compile(r"^([a-z0-9][a-z0-9_.-]*):(\d+(?:-\d+)*)$")


@dataclass(frozen=True, order=True)
class Arch:
    """An architecture of a search space: ``space`` name and integer ``genotype``."""

    space: str
    genotype: tuple[int, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.genotype, tuple):  # accept lists / arrays, store a hashable tuple
            object.__setattr__(self, "genotype", tuple(int(g) for g in self.genotype))

    @property
    def key(self) -> str:
        """Compact unique key, e.g. ``nb201:3-3-0-1-4-2``; ``Arch.from_key(a.key) == a``."""
        return f"{self.space}:{'-'.join(str(g) for g in self.genotype)}"

    @classmethod
    def from_key(cls, key: str) -> Arch:
        m = _KEY_RE.match(key.strip()) if isinstance(key, str) else None
        if m is None:
            raise ArchError(
                f"malformed architecture key {key!r}; expected '<space>:<int>-<int>-...', "
                "e.g. 'nb201:3-3-0-1-4-2'"
            )
        return cls(m.group(1), tuple(int(g) for g in m.group(2).split("-")))

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class Batch:
    """One minibatch of real, normalised images (NCHW float) and their labels (or None)."""

    inputs: torch.Tensor
    targets: torch.Tensor | None
    dataset: str
    #: positions of the images in the source file, for provenance and exact reproduction
    source_indices: tuple[int, ...] = field(default=(), repr=False)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def to(self, device: str | torch.device) -> Batch:
        targets = None if self.targets is None else self.targets.to(device)
        return Batch(self.inputs.to(device), targets, self.dataset, self.source_indices)

    def without_labels(self) -> Batch:
        return Batch(self.inputs, None, self.dataset, self.source_indices)
