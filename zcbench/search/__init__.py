"""Search: searchers (``zcbench.searchers``) run against a budgeted oracle.

Modules: ``oracle`` (the only path from a searcher to ground truth), ``proxy_source``
(zero-cost scores for searchers, from the store or scored on demand), ``loop`` (runs, traces,
summaries, anytime plots: ``zcbench search``). The searchers themselves live in the top-level
``searchers/`` folder, between the two: they may import ``proxy_source`` (never ``loop``),
and ``loop`` imports them.

May import the core, ``models``, ``spaces``, ``tables``, ``zcbench.proxies`` and the engine;
never training, analysis, jobs or the CLI (docs/architecture.md).
"""
