"""Ground truth by training: ``verify`` trains architectures from scratch on real images
(``zcbench verify``); ``truth`` reads and writes the measured table, and trains on demand
for a search (``TrainedTruth``).

May import the core, ``models``, ``spaces``, ``tables``, ``zcbench.proxies`` and the engine;
never search, analysis, jobs or the CLI (docs/architecture.md).
"""
