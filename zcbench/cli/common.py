"""What several commands do alike: choose architectures, find the ground truth, check a
store exists, print the best proxies, and stop cleanly."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Iterator

from zcbench.errors import ZCBenchError, shown


def existing_store(path: str, hint: str = "; run 'zcbench score' first") -> str:
    """``path`` if a results store is there, else a one-line error."""
    from pathlib import Path

    if not Path(path).is_file():
        raise ZCBenchError(f"no results store at {path}{hint}")
    return path


@contextlib.contextmanager
def new_file_removed_if_empty(path: str) -> Iterator[None]:
    """A store this command creates is removed again if the command fails before writing a
    row (a bad batch size, say): failed commands leave nothing behind."""
    from pathlib import Path

    existed = Path(path).exists()
    try:
        yield
    except BaseException:
        if not existed and Path(path).is_file():
            import sqlite3

            try:
                with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
                    empty = c.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 0
            except sqlite3.DatabaseError:
                empty = False
            if empty:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt (as Ctrl-C does) while the block runs: the run stops
    through its cleanup (stored results kept, worker processes stopped) instead of dying."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def positive_list(text: str, what: str) -> list[int]:
    """``100,300`` -> [100, 300]; anything but positive integers is a one-line error."""
    out = []
    for part in str(text).split(","):
        try:
            value = int(part)
        except ValueError:
            value = 0
        if value < 1:
            raise ZCBenchError(
                f"bad {what} {shown(part)}; expected positive integers separated by commas"
            )
        out.append(value)
    return out


def selection(space, args: argparse.Namespace) -> list:
    """The architectures of --archs, --sample (with --sample-seed) or --all."""
    from zcbench.tables.selection import parse_selection, sample_indices

    if args.archs is not None:
        return parse_selection(space, args.archs)
    if args.sample:
        return sample_indices(space, args.sample, args.sample_seed)
    if args.all:
        return list(space)
    raise ZCBenchError("no architectures selected; expected --archs SEL, --sample N or --all")


def truth_table(space, args: argparse.Namespace):
    """The ground truth a command compares with: ``--truth DIR`` (measured by verify), else
    NB201's table; a space with neither is a one-line error."""
    from zcbench.tables.benchmarks import load_nb201_table

    if args.truth:
        from zcbench.training.truth import load_truth

        table = load_truth(args.truth)
        if table.space != space.name:
            raise ZCBenchError(
                f"{args.truth} holds ground truth of {table.space}, not of {space.name}"
            )
        return table
    if space.name != "nb201":
        raise ZCBenchError(
            f"{space.name} has no tabulated benchmark; measure its ground truth with "
            f"'zcbench verify --space {args.space} --sample N --out DIR' and pass --truth DIR"
        )
    return load_nb201_table(args.data)


def print_best(result, target: str, indent: str = "", reference=None) -> None:
    """The leaderboard vs ``target`` as a compact table (beside a reference run's, if given)."""
    from zcbench.analysis.report import leaderboard, leaderboard_text

    ref = leaderboard(reference, target) if reference is not None else None
    text = leaderboard_text(leaderboard(result, target), target, ref)
    print("\n".join(indent + line for line in text.splitlines()))
