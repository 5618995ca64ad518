"""Search algorithms, one module per searcher (installed as ``zcbench.searchers``).

Every module registers its searcher with :func:`register_searcher`; importing this package
imports them all. ``zcbench search --searcher NAME`` runs one (see :mod:`zcbench.search`).
"""

from __future__ import annotations

import importlib
import pkgutil

from zcbench.searchers.base import Searcher, get_searcher, list_searchers, register_searcher

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Searcher", "get_searcher", "list_searchers", "register_searcher"]
