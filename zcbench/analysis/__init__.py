"""Analysis of stored scores: correlations, ensembles, predictors, fidelity, the report.

Modules: ``correlate`` (signed rank correlations with intervals), ``ensembles``,
``predictors`` and ``graph_features`` (few-label predictors), ``stability`` (seeds),
``anchors`` (published reference numbers), ``fidelity`` (``zcbench fidelity``), ``report``
(``zcbench report``: CSV, Markdown, HTML, PNG).

May import the core, ``models``, ``spaces``, ``tables``, ``zcbench.proxies`` and the engine;
never training, search, jobs or the CLI (docs/architecture.md).
"""
