"""The long jobs behind the CLI's composite commands: ``bench`` (``zcbench bench``, the main
job: checks, scoring, search, report), ``perf`` (``zcbench perf``: speed and memory) and
``study`` (``zcbench study``: which proxy to trust on a space without a benchmark).

May import every room below it (the core, models, spaces, tables, proxies, engine, training,
search, analysis); only the CLI imports it (docs/architecture.md).
"""
