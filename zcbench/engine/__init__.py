"""The scoring engine: proxies run on seeded models and minibatches, results stored.

Modules: ``scoring`` (one architecture, every proxy, one policy), ``runner`` (many
architectures into a store: resume, workers, timeouts), ``executors`` (Ray), ``store`` (the
SQLite results store), ``modelscore`` (any PyTorch model: ``zcbench.score_model``).

May import the core, ``models``, ``spaces``, ``tables`` and ``zcbench.proxies``; never
training, search, analysis, jobs or the CLI (docs/architecture.md).
"""
