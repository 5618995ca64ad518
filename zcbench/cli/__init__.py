"""The ``zcbench`` command line: one module per command, the options they share defined once
(:mod:`zcbench.cli.options`), and ``main`` (:mod:`zcbench.cli.app`) only dispatching.

Every error caused by input prints one line ``zcbench: error: ...`` and exits with status 2;
``--debug`` shows the traceback instead. Progress bars go to stderr, results to files/stdout.

A command module has ``HELP`` (its one line), ``EXAMPLES`` (shown at the end of its
``--help``), ``add_arguments(parser)`` and ``run(args) -> int``; ``app.COMMANDS`` lists them.
"""

from zcbench.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
