"""Search: searchers (``zcbench.searchers``) run against a budgeted oracle.

Modules: ``oracle`` (the only path from a searcher to ground truth), ``proxy_source``
(zero-cost scores for searchers, from the store or scored on demand), ``loop`` (runs, traces,
summaries, anytime plots: ``zcbench search``). The searchers themselves live in the top-level
``searchers/`` folder, between the two: they may import ``proxy_source`` (never ``loop``),
and ``loop`` imports them.

May import the core, ``models``, ``spaces``, ``tables``, ``zcbench.proxies`` and the engine;
never training, analysis, jobs or the CLI (docs/architecture.md).

``zcbench.search`` used to be one module (``zcbench/search.py``): its names (``run_search``,
``SearchJob``, ...) still resolve here, with a DeprecationWarning pointing to ``loop``.
"""

from __future__ import annotations

import importlib
import warnings

#: the public names of the former module ``zcbench.search``, now in ``zcbench.search.loop``
_MOVED_TO_LOOP = frozenset(
    "FINAL_METRIC MAX_FREE_ASKS BASELINE parse_searcher run_once run_many mean_interval "
    "difference_interval summarise anytime_figure SearchJob run_search".split()
)


def __getattr__(name: str) -> object:
    if name not in _MOVED_TO_LOOP:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"{__name__}.{name} moved to {__name__}.loop.{name}; import it from there",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(f"{__name__}.loop"), name)
