"""Search spaces by name: built-in, registered, from entry points, or ``module:Class``.

``get_space("nb201")`` and ``get_space("nats-sss")`` give the built-in spaces. A user's space
is a :class:`SearchSpace` subclass (see :mod:`zcbench.spaces.base` for the contract) made
known in any of three ways:

* ``@register_space`` on the class, in a module the user imports;
* the ``zcbench.spaces`` entry-point group of an installed package (loaded on first lookup),
  ``[project.entry-points."zcbench.spaces"] my-space = "my_pkg.spaces"``;
* named on the command line as ``--space my_pkg.spaces:MySpace`` (imported, checked and
  registered on use).

Worker processes get a space by :func:`space_ref`: the built-in name, or the class's import
path, so they import the user's module themselves (a space defined in ``__main__`` cannot be
sent to workers).
"""

from __future__ import annotations

import inspect
import os
from typing import TypeVar

from zcbench.errors import ZCBenchError, exception_line, unknown
from zcbench.plugins import import_object, is_object_path, load_entry_points
from zcbench.spaces.base import SearchSpace, check_space_class
from zcbench.spaces.nats_sss import NatsSizeSpace
from zcbench.spaces.nb201 import NB201Space

S = TypeVar("S", bound=type[SearchSpace])

SPACES: dict[str, type[SearchSpace]] = {
    NB201Space.name: NB201Space,
    NatsSizeSpace.name: NatsSizeSpace,
}
BUILTIN: tuple[str, ...] = tuple(SPACES)
_ALIASES = {
    "nas-bench-201": "nb201",
    "nats-tss": "nb201",
    "tss": "nb201",
    "sss": "nats-sss",
}
ENTRY_POINT_GROUP = "zcbench.spaces"
_ENTRY_POINTS_LOADED = False


def register_space(cls: S) -> S:
    """Class decorator: check ``cls`` against the space contract and register it under
    ``cls.name``. Registering another class under a taken name raises; registering the same
    class again (a module imported twice) is a no-op."""
    check_space_class(cls)
    existing = SPACES.get(cls.name)
    if existing is not None and existing is not cls:
        same = (existing.__module__, existing.__qualname__) == (cls.__module__, cls.__qualname__)
        if not same:
            raise ValueError(
                f"a search space named {cls.name!r} is already registered "
                f"({existing.__module__}:{existing.__qualname__})"
            )
    SPACES[cls.name] = cls
    return cls


def unregister_space(name: str) -> None:
    """Remove a user's space (for tests and plugins that replace their own)."""
    if name in BUILTIN:
        raise ValueError(f"{name!r} is a built-in space")
    SPACES.pop(name, None)


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    # a module (its @register_space runs) or the class itself
    for obj in load_entry_points(ENTRY_POINT_GROUP, "search space plugin"):
        if isinstance(obj, type) and issubclass(obj, SearchSpace) and obj.name not in SPACES:
            register_space(obj)


def space_class(name: str) -> type[SearchSpace]:
    """The class of a space named by its registered name, an alias or ``module:Class``."""
    text = str(name).strip()
    if is_object_path(text):
        cls = import_object(text, "search space")
        check_space_class(cls, text)
        return register_space(cls)  # type: ignore[arg-type]
    key = _ALIASES.get(text.lower(), text.lower())
    if key not in SPACES:
        _load_entry_points()
    if key not in SPACES:
        raise unknown(
            "search space", name, [*SPACES, "or a class path such as my_pkg.spaces:MySpace"]
        )
    return SPACES[key]


def get_space(name: str, data_dir: str | os.PathLike[str] | None = None) -> SearchSpace:
    """Instantiate a search space by name (``nb201``, ``nats-sss``, an alias, a registered
    or entry-point name, or ``module:Class``). ``data_dir`` reaches spaces whose constructor
    takes it (the built-in ones read the official order from the data)."""
    cls = space_class(name)
    try:
        takes_data = len(inspect.signature(cls).parameters) > 0
        return cls(data_dir) if takes_data else cls()
    except ZCBenchError:
        raise
    except Exception as exc:
        raise ZCBenchError(
            f"search space {name!r} could not be created: {exception_line(exc)}"
        ) from exc


def space_ref(space: SearchSpace) -> str:
    """How another process finds ``space``'s class: a built-in name or ``module:Class``."""
    cls = type(space)
    if SPACES.get(space.name) is cls and space.name in BUILTIN:
        return space.name
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        raise ZCBenchError(
            f"search space {space.name!r} is defined in {cls.__module__} "
            f"({cls.__qualname__}); worker processes need it in an importable module"
        )
    return f"{cls.__module__}:{cls.__qualname__}"


def list_spaces() -> list[str]:
    """Every registered space's name (entry points loaded)."""
    _load_entry_points()
    return list(SPACES)


__all__ = [
    "SPACES",
    "NB201Space",
    "NatsSizeSpace",
    "SearchSpace",
    "check_space_class",
    "get_space",
    "list_spaces",
    "register_space",
    "space_class",
    "space_ref",
    "unregister_space",
]
