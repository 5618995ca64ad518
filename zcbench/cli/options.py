"""Argument types and the option groups that several commands share, each defined once.

A command module adds its own options with ``p.add_argument`` and the shared ones through
these functions, so that ``--seed``, ``--batch-size``, ``--device``, ``--store``, the
architecture selection or the execution options read and check the same everywhere.
"""

from __future__ import annotations

import argparse
import os

from zcbench.errors import shown

SPACE_HELP = (
    "search space: nb201, nats-sss, a registered or plug-in name (zcbench spaces), or a class "
    "path my_pkg.spaces:MySpace"
)
TRUTH_HELP = (
    "ground truth measured by 'zcbench verify' (its output folder) for a space without a "
    "tabulated benchmark"
)
DATASETS_HELP = "dataset(s), comma-separated"


# -- types -----------------------------------------------------------------------------------
def at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``, checked when the command line is parsed
    (so no long job starts on a bad number)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {minimum}; got {shown(text)}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}; got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {shown(text)}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text}")
    return value


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


# -- option groups ---------------------------------------------------------------------------
def add_common(parser: argparse.ArgumentParser, default: object) -> None:
    """--data, --debug and --quiet: on the top-level parser and again on every command, so
    they work before or after the command's name."""
    parser.add_argument(
        "--data",
        metavar="DIR",
        default=default,
        help="benchmark data directory (default: $ZCBENCH_DATA, then ../shared/data)",
    )
    parser.add_argument(
        "--debug", action="store_true", default=default, help="show tracebacks and debug logs"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="no progress bars"
    )


def add_choice(p: argparse.ArgumentParser, flag: str, choices: list[str], help: str) -> None:
    """An option that takes one of ``choices``, the first one by default."""
    p.add_argument(
        flag, default=choices[0], choices=choices, help=f"{help} (default: {choices[0]})"
    )


def add_space(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    if required:
        p.add_argument("--space", required=True, help=SPACE_HELP)
    else:
        p.add_argument("--space", default="nb201", help=f"{SPACE_HELP} (default: nb201)")


def add_dataset(p: argparse.ArgumentParser, help: str, default: str | None = "cifar10") -> None:
    p.add_argument("--dataset", default=default, help=help)


def add_proxies(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--proxies", default="all", help=help)


def add_selection(
    p: argparse.ArgumentParser,
    archs_help: str,
    sample_help: str = "N architectures drawn at random",
) -> argparse._MutuallyExclusiveGroup:
    """--archs SEL | --sample N, mutually exclusive; the caller adds its other ways of choosing
    architectures to the group it returns."""
    sel = p.add_mutually_exclusive_group()
    sel.add_argument("--archs", metavar="SEL", help=archs_help)
    sel.add_argument("--sample", type=at_least(1), metavar="N", help=sample_help)
    return sel


def add_seed(p: argparse.ArgumentParser, what: str, flag: str = "--seed") -> None:
    """A seed (``--seed``, ``--sample-seed``, ``--proxy-seed``): an integer >= 0, default 0."""
    p.add_argument(flag, type=at_least(0), default=0, help=f"{what} (default: 0)")


def add_batch_size(
    p: argparse.ArgumentParser, what: str, default: int = 64, flag: str = "--batch-size"
) -> None:
    p.add_argument(flag, type=at_least(1), default=default, help=f"{what} (default: {default})")


def add_device(p: argparse.ArgumentParser, what: str = "cpu or cuda[:N]") -> None:
    p.add_argument("--device", default="cpu", help=f"{what} (default: cpu)")


def add_store(p: argparse.ArgumentParser, what: str = "SQLite results file") -> None:
    p.add_argument("--store", default="results.db", help=f"{what} (default: results.db)")


def add_out_dir(p: argparse.ArgumentParser, help: str = "output folder") -> None:
    p.add_argument("--out", required=True, metavar="DIR", help=help)


def add_truth(p: argparse.ArgumentParser, more: str = "") -> None:
    p.add_argument("--truth", metavar="DIR", help=TRUTH_HELP + more)


def add_bootstrap(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--bootstrap", type=at_least(1), default=1000, help="bootstrap resamples (default: 1000)"
    )


def add_process_workers(p: argparse.ArgumentParser, what: str) -> None:
    """--workers for counting params/FLOPs in processes (info, bench)."""
    p.add_argument(
        "--workers",
        type=at_least(1),
        default=default_workers(),
        help=f"processes for {what} (default: CPU count, at most 8)",
    )


def add_execution(p: argparse.ArgumentParser, what: str) -> None:
    """Where the work runs (score, search's proxy scoring, verify): --threads, --workers,
    --executor and --address."""
    p.add_argument(
        "--threads",
        type=at_least(0),
        default=0,
        help="torch CPU threads, per worker with --workers (default: torch's, divided among them)",
    )
    p.add_argument(
        "--workers",
        type=at_least(1),
        default=1,
        help=f"{what} side by side: processes (on CUDA sharing the GPU), or Ray actors with "
        "--executor ray (default: 1)",
    )
    add_choice(
        p,
        "--executor",
        ["local", "ray"],
        "local: this process or --workers processes; ray: --workers Ray workers "
        "(pip install 'zcbench[ray]')",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="with --executor ray: the cluster to join (default: start a local one)",
    )


def add_training(
    p: argparse.ArgumentParser,
    *,
    epochs: int,
    train_size: int,
    valid_size: int,
    batch_size: int,
    batch_flag: str,
    epochs_note: str = "",
) -> None:
    """The recipe of a short training (verify, study): --epochs, --train-size, --valid-size,
    a training batch size and --lr."""
    p.add_argument(
        "--epochs",
        type=at_least(1),
        default=epochs,
        help=f"training epochs (default: {epochs}{epochs_note})",
    )
    p.add_argument(
        "--train-size",
        type=at_least(0),
        default=train_size,
        help=f"training images (default: {train_size or 'all available'})",
    )
    p.add_argument(
        "--valid-size",
        type=at_least(0),
        default=valid_size,
        help="training images held out for a validation accuracy, what searchers read "
        f"(default: {valid_size})",
    )
    add_batch_size(p, "training batch", batch_size, flag=batch_flag)
    p.add_argument(
        "--lr", type=positive_float, default=0.1, help="initial learning rate (default: 0.1)"
    )
