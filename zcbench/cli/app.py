"""The parser made of the command modules, and ``main``, which only dispatches."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from zcbench import __version__
from zcbench.cli import (
    bench,
    diff,
    export,
    fidelity,
    info,
    merge,
    perf,
    proxies,
    report,
    score,
    search,
    spaces,
    study,
    verify,
)
from zcbench.cli.options import add_common
from zcbench.errors import ZCBenchError

# in the order 'zcbench --help' lists them; each module has HELP, EXAMPLES, add_arguments, run
COMMANDS: dict[str, ModuleType] = {
    "spaces": spaces,
    "info": info,
    "proxies": proxies,
    "score": score,
    "export": export,
    "report": report,
    "search": search,
    "verify": verify,
    "diff": diff,
    "merge": merge,
    "fidelity": fidelity,
    "perf": perf,
    "study": study,
    "bench": bench,
}


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (usage stays available through --help)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"zcbench: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="zcbench",
        description="Training-free NAS benchmark and zero-cost proxy evaluation suite.",
        epilog="'zcbench COMMAND --help' shows a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"zcbench {__version__}")
    add_common(parser, argparse.SUPPRESS)
    parser.set_defaults(data=None, debug=False, quiet=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, module in COMMANDS.items():
        cmd = sub.add_parser(
            name,
            help=module.HELP,
            description=module.HELP,
            epilog=f"examples:\n{module.EXAMPLES}",
            formatter_class=argparse.RawDescriptionHelpFormatter,  # the examples as written
        )
        add_common(cmd, argparse.SUPPRESS)  # global options work after the command too
        module.add_arguments(cmd)
        cmd.set_defaults(func=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a bad option (one line already printed), --help, --version
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except ZCBenchError as exc:
        if args.debug:
            raise
        print(f"zcbench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. an output path that cannot be written
        if args.debug:
            raise
        print(
            f"zcbench: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("zcbench: interrupted", file=sys.stderr)
        return 130
