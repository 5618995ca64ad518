"""The search-space interface, for the built-in spaces and for users' own.

A space is stateless: randomness arrives as a :class:`numpy.random.Generator`. It turns
official strings and indexes into :class:`~zcbench.types.Arch` values and back, samples and
mutates, lists neighbours, gives a canonical key (equal for equivalent architectures), a
fixed-length encoding for predictors, and builds the network.

The contract a user's space fulfils (checked by :func:`check_space_class` when it is
registered, and by the contract tests over every registered space):

* required: ``name`` (lower case, e.g. ``my-space``), ``parse`` / ``to_str`` (a string form
  that round-trips), ``sample``, ``neighbors``, ``encode`` (fixed length) and
  ``build(arch, num_classes)``;
* enumerable spaces also give ``__len__``, ``index`` and ``from_index`` (a bijection with
  ``0..len-1``); a space that is not enumerable leaves them out and sets
  ``enumerable = False``: its ``index`` is then a stable 63-bit number derived from the
  architecture's string (what the results store keys on);
* optional, with defaults: ``validate`` (the string round trip), ``mutate`` (a random
  neighbour), ``canonical`` (the string: no two architectures are equivalent) and
  ``encoding_size``.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

import numpy as np
from torch import nn

from zcbench.errors import ArchError, ZCBenchError
from zcbench.types import Arch


class SearchSpace(ABC):
    #: registry name, e.g. ``nb201``
    name: str = ""
    #: one-line description for ``zcbench spaces``
    description: str = ""
    #: an example official string, used in error messages
    example: str = ""
    #: False for spaces whose architectures cannot be numbered 0..len-1
    enumerable: bool = True
    #: the networks' differentiable (create_graph) backward gives the plain backward's values
    #: bit for bit, so fused scoring may share one labelled backward with second-order
    #: proxies (grasp); leave False unless a fused-equals-unfused test covers the space
    exact_second_order: bool = False

    # -- enumeration ---------------------------------------------------------------------
    def __len__(self) -> int:
        raise ZCBenchError(f"search space {self.name!r} is not enumerable (it has no size)")

    def __bool__(self) -> bool:  # not len(): a space that is not enumerable has none
        return True

    def __iter__(self) -> Iterator[Arch]:
        """All architectures in official index order."""
        return (self.from_index(i) for i in range(len(self)))

    def index(self, arch: Arch) -> int:
        """The official benchmark index of ``arch``; for a space that is not enumerable, a
        stable 63-bit number derived from its string."""
        if self.enumerable:
            raise NotImplementedError(f"{type(self).__name__} is enumerable but has no index()")
        digest = hashlib.blake2b(self.to_str(arch).encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") >> 1

    def indices(self, archs: Sequence[Arch]) -> np.ndarray:
        """``index`` of each of ``archs`` (int64); a space may answer many at once faster
        (nb201 does: a search ranks the whole space)."""
        return np.array([self.index(a) for a in archs], dtype=np.int64)

    def from_index(self, index: int) -> Arch:
        raise ArchError(
            f"search space {self.name!r} is not enumerable: select architectures by their "
            f"strings (e.g. {self.example!r}) or by --sample"
        )

    # -- strings ---------------------------------------------------------------------------
    @abstractmethod
    def parse(self, text: str) -> Arch:
        """Parse the official string; malformed input raises a one-line ArchError."""

    @abstractmethod
    def to_str(self, arch: Arch) -> str:
        """The official string of ``arch``."""

    # -- structure -------------------------------------------------------------------------
    def validate(self, arch: Arch) -> Arch:
        """Return ``arch`` if it belongs to this space, else raise ArchError. By default: the
        string round trip (``parse(to_str(arch)) == arch``)."""
        self._check_space(arch)
        try:
            back = self.parse(self.to_str(arch))
        except (ArchError, ValueError, IndexError, KeyError, TypeError) as exc:
            raise ArchError(f"invalid {self.name} architecture {arch.key}: {exc}") from None
        if back != arch:
            raise ArchError(f"invalid {self.name} architecture {arch.key}: it does not round-trip")
        return arch

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Arch: ...

    @abstractmethod
    def neighbors(self, arch: Arch) -> list[Arch]:
        """All architectures one elementary change away, in a fixed order."""

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """A uniformly random neighbour (one elementary change)."""
        options = self.neighbors(arch)
        return options[int(rng.integers(len(options)))]

    def canonical(self, arch: Arch) -> str:
        """A key shared by exactly the architectures this space treats as equivalent (by
        default the string: no two architectures are equivalent)."""
        return self.to_str(arch)

    @abstractmethod
    def encode(self, arch: Arch) -> np.ndarray:
        """Fixed-length float32 encoding for predictors."""

    @property
    def encoding_size(self) -> int:
        return int(np.asarray(self.encode(self.sample(np.random.default_rng(0)))).size)

    @abstractmethod
    def build(self, arch: Arch, num_classes: int) -> nn.Module:
        """The official network for ``arch`` with ``num_classes`` outputs."""

    # -- helpers -----------------------------------------------------------------------------
    def check_index(self, index: int) -> int:
        if not self.enumerable:
            self.from_index(index)  # raises: not enumerable
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


_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
#: what every space must define itself (the rest has defaults)
REQUIRED = ("parse", "to_str", "sample", "neighbors", "encode", "build")
#: what an enumerable space must define too
ENUMERABLE = ("__len__", "index", "from_index")


def check_space_class(cls: object, where: str = "") -> type[SearchSpace]:
    """Check a user's space class against the contract; a one-line ZCBenchError names what is
    missing (``where``: how the user named it, for the message)."""
    label = where or getattr(cls, "__qualname__", repr(cls))
    if not (isinstance(cls, type) and issubclass(cls, SearchSpace)):
        raise ZCBenchError(f"search space {label} is not a subclass of zcbench.spaces.SearchSpace")
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ZCBenchError(
            f"search space {label} needs a class attribute name of lower-case letters, digits "
            f"and -_. (e.g. name = 'my-space'); got {name!r}"
        )
    missing = [m for m in REQUIRED if getattr(cls, m, None) is getattr(SearchSpace, m, None)]
    missing += sorted(getattr(cls, "__abstractmethods__", ()))
    if cls.enumerable:
        missing += [m for m in ENUMERABLE if getattr(cls, m) is getattr(SearchSpace, m)]
    if missing:
        hint = (
            " (or set enumerable = False for a space without an index)"
            if cls.enumerable and set(missing) & set(ENUMERABLE)
            else ""
        )
        raise ZCBenchError(
            f"search space {label} is missing part of the SearchSpace contract: "
            f"{', '.join(dict.fromkeys(missing))}{hint}"
        )
    return cls
