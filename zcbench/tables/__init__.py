"""Data and tables: the benchmarks' ground truth, real-image minibatches, datasets, parameter
and FLOP counts, the consistency checks against the published numbers, and selections.

Modules: ``benchmarks`` (the validated NB201 table), ``official`` (the official archives),
``data`` (minibatches), ``datasets``, ``flops``, ``costs``, ``checks``, ``selection``.

May import the core (``zcbench.errors``, ``types``, ``plugins``, ``paths``), ``zcbench.models``
and ``zcbench.spaces``; never proxies, the engine or anything above (docs/architecture.md).
"""
