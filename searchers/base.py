"""Searcher interface and registry.

A searcher is an ask/tell object with its seed in the constructor (like Optuna's samplers):
``ask()`` proposes an architecture, ``tell(arch, signal)`` reports the search signal the
oracle returned for it (``-inf`` for an infeasible architecture). Searchers never see test
accuracy; zero-cost searchers read proxy scores through the oracle's counted ``proxy()``.
"""

from __future__ import annotations

import fnmatch
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from zcbench.errors import UnknownNameError, unknown
from zcbench.spaces.base import SearchSpace
from zcbench.types import Arch

_REGISTRY: dict[str, type[Searcher]] = {}


class Searcher(ABC):
    #: the CLI name, set by :func:`register_searcher`
    name: ClassVar[str] = ""
    #: whether it needs the oracle's proxy() (zero-cost guided searchers)
    needs_proxy: ClassVar[bool] = False

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        self.space = space
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.oracle = None

    def bind(self, oracle) -> None:
        """Called once before the run: zero-cost searchers keep ``oracle.proxy``."""
        self.oracle = oracle

    @abstractmethod
    def ask(self) -> Arch: ...

    @abstractmethod
    def tell(self, arch: Arch, signal: float) -> None: ...


def register_searcher(name: str) -> Callable[[type[Searcher]], type[Searcher]]:
    def decorate(cls: type[Searcher]) -> type[Searcher]:
        if name in _REGISTRY:
            raise ValueError(f"a searcher named {name!r} is already registered")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def get_searcher(name: str) -> type[Searcher]:
    if name not in _REGISTRY:
        raise unknown("searcher", name, sorted(_REGISTRY))
    return _REGISTRY[name]


def list_searchers(pattern: str = "*") -> list[str]:
    return sorted(n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern))


__all__ = [
    "Searcher",
    "UnknownNameError",
    "get_searcher",
    "list_searchers",
    "register_searcher",
]
