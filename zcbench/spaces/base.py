"""The search-space interface.

A space is stateless: randomness arrives as a :class:`numpy.random.Generator`. It turns
official strings and indexes into :class:`~zcbench.types.Arch` values and back, samples and
mutates, lists neighbours, gives a canonical key (equal for equivalent architectures), a
fixed-length encoding for predictors, and builds the official network.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np
from torch import nn

from zcbench.errors import ArchError
from zcbench.types import Arch


class SearchSpace(ABC):
    #: registry name, e.g. ``nb201``
    name: str = ""
    #: one-line description for ``zcbench spaces``
    description: str = ""
    #: an example official string, used in error messages
    example: str = ""

    # -- enumeration ---------------------------------------------------------------------
    @abstractmethod
    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Arch]:
        """All architectures in official index order."""
        return (self.from_index(i) for i in range(len(self)))

    @abstractmethod
    def index(self, arch: Arch) -> int:
        """The official benchmark index of ``arch``."""

    @abstractmethod
    def from_index(self, index: int) -> Arch: ...

    # -- strings ---------------------------------------------------------------------------
    @abstractmethod
    def parse(self, text: str) -> Arch:
        """Parse the official string; malformed input raises a one-line ArchError."""

    @abstractmethod
    def to_str(self, arch: Arch) -> str:
        """The official string of ``arch``."""

    # -- structure -------------------------------------------------------------------------
    @abstractmethod
    def validate(self, arch: Arch) -> Arch:
        """Return ``arch`` if it belongs to this space, else raise ArchError."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Arch: ...

    @abstractmethod
    def neighbors(self, arch: Arch) -> list[Arch]:
        """All architectures one elementary change away, in a fixed order."""

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """A uniformly random neighbour (one elementary change)."""
        options = self.neighbors(arch)
        return options[int(rng.integers(len(options)))]

    @abstractmethod
    def canonical(self, arch: Arch) -> str:
        """A key shared by exactly the architectures this space treats as equivalent."""

    @abstractmethod
    def encode(self, arch: Arch) -> np.ndarray:
        """Fixed-length float32 encoding for predictors."""

    @property
    @abstractmethod
    def encoding_size(self) -> int: ...

    @abstractmethod
    def build(self, arch: Arch, num_classes: int) -> nn.Module:
        """The official network for ``arch`` with ``num_classes`` outputs."""

    # -- helpers -----------------------------------------------------------------------------
    def check_index(self, index: int) -> int:
        n = len(self)
        try:
            i = int(index)
        except (TypeError, ValueError):
            raise ArchError(
                f"invalid {self.name} index {index!r}; expected an integer in 0..{n - 1}"
            ) from None
        if not 0 <= i < n or i != index:
            raise ArchError(f"{self.name} index {index} out of range; expected 0..{n - 1}")
        return i

    def _check_space(self, arch: Arch) -> None:
        if not isinstance(arch, Arch):
            raise ArchError(f"expected an Arch of space {self.name!r}, got {type(arch).__name__}")
        if arch.space != self.name:
            raise ArchError(
                f"architecture {arch.key} belongs to space {arch.space!r}, not {self.name!r}"
            )
