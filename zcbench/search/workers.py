"""Search runs side by side in worker processes (``zcbench search --run-workers N``).

A run is a function of its searcher, dataset, budget and seed alone (given the table and the
proxy store), so runs can be made anywhere and put back in order: the traces are the ones
the runs give one after another (tests/test_searchers.py checks it). How:

* the first run of every searcher x dataset x budget cell is made here, before the others,
  so that what all of a cell's runs share is scored once, with the job's scoring workers, and
  stored (the whole space's prefilter, a stored pool's ensemble, ...);
* the other runs go to ``run_workers`` spawned processes. Each is started once with the
  table, the space (by reference: a plug-in space by its module) and the job, opens the store
  itself, keeps its proxy sources' caches across the runs it is given, and scores whatever
  those runs still lack in-process with the job's ``threads`` torch threads (``run_search``
  sets them, by default to this process's divided among the workers, for the first runs'
  scoring too, so that every score stored has one thread count), writing it to the store
  (SQLite serialises the writers);
* the traces come back here, each kept as it arrives (:mod:`zcbench.search.journal`). A
  searcher's error in a worker stops the search with that error; a worker that dies stops it
  with a one-line error. The finished runs and the proxy scores computed so far are kept
  either way, so the same command resumes.

Not for ``--truth`` (a query may train an architecture and grow the measured table, which
one process owns) nor ``--executor ray`` (scoring there is the cluster's).
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from tqdm.auto import tqdm

from zcbench.errors import ZCBenchError
from zcbench.search.journal import Cell
from zcbench.search.loop import SearchJob, parse_searcher, run_once
from zcbench.spaces import get_space, space_ref
from zcbench.spaces.base import SearchSpace
from zcbench.tables.benchmarks import BenchmarkTable


@dataclass(frozen=True)
class _World:
    """What a run worker is started with (pickled once per worker)."""

    space: str
    data_dir: str | None
    table: BenchmarkTable
    job: SearchJob
    signal: str
    threads: int


#: a run worker's state: its world, its space, its store and proxy sources (made on first use)
_here: dict[str, Any] = {}


def _start(world: _World) -> None:
    # a worker outlives a parent killed outright (SIGKILL), blocked on the task queue it
    # shares with its siblings: it watches the parent and leaves when the parent is gone
    parent = mp.parent_process()
    if parent is not None:
        watch = threading.Thread(target=_leave_with, args=(parent.sentinel,), daemon=True)
        watch.start()
    torch.set_num_threads(world.threads)
    _here.clear()
    _here.update(world=world, space=get_space(world.space, world.data_dir), store=None, sources={})


def _leave_with(sentinel: int) -> None:
    mp_connection.wait([sentinel])
    os._exit(1)


def _source(dataset: str):
    world: _World = _here["world"]
    if dataset not in _here["sources"]:
        if _here["store"] is None:
            from zcbench.engine.store import ResultStore

            _here["store"] = ResultStore(world.job.store)
            atexit.register(_here["store"].close)
        _here["sources"].update(
            world.job.proxy_sources(
                _here["store"], _here["space"], [dataset], data_dir=world.data_dir,
                progress=False, in_process=True,
            )
        )  # fmt: skip
    return _here["sources"][dataset]


def _run(name: str, dataset: str, budget: int, seed: int) -> tuple[pd.DataFrame, int]:
    """One run in a worker: its trace, and how many architectures it scored."""
    world: _World = _here["world"]
    source = _source(dataset) if parse_searcher(name)[0].needs_proxy else None
    before = source.scored if source is not None else 0
    trace = run_once(
        name, _here["space"], world.table, dataset, budget, seed, signal=world.signal,
        max_latency=dict(world.job.max_latency), proxy_source=source,
    )  # fmt: skip
    return trace, (source.scored - before if source is not None else 0)


def run_side_by_side(
    job: SearchJob,
    todo: Sequence[tuple[Cell, int]],
    space: SearchSpace,
    table: BenchmarkTable,
    sources: dict,
    record: Callable[[Cell, int, pd.DataFrame], None],
    *,
    signal: str,
    data_dir: str | None = None,
    progress: bool = True,
) -> int:
    """Make the runs ``todo`` ((cell, run number) pairs): each cell's first here, the rest in
    ``job.run_workers`` processes, giving each trace to ``record`` here as it arrives.
    Returns how many architectures the workers scored (``sources`` count this process's)."""
    firsts: dict[Cell, int] = {}
    for cell, run in todo:
        firsts.setdefault(cell, run)
    for cell, run in tqdm(firsts.items(), desc="first runs", unit="run", disable=not progress):
        name, dataset, budget = cell
        needs_proxy = parse_searcher(name)[0].needs_proxy
        record(cell, run, run_once(
            name, space, table, dataset, budget, job.seed + run, signal=signal,
            max_latency=dict(job.max_latency),
            proxy_source=sources[dataset] if needs_proxy else None,
        ))  # fmt: skip
    rest = [(cell, run) for cell, run in todo if firsts[cell] != run]
    if not rest:
        return 0
    workers = min(job.run_workers, len(rest))
    threads = job.threads or max(1, torch.get_num_threads() // job.run_workers)
    world = _World(space_ref(space), data_dir, table, job, signal, threads)
    pool = ProcessPoolExecutor(
        workers, mp_context=mp.get_context("spawn"), initializer=_start, initargs=(world,)
    )
    scored = 0
    try:
        futures = {pool.submit(_run, *cell, job.seed + run): (cell, run) for cell, run in rest}
        with tqdm(
            total=len(rest), desc=f"runs ({workers} processes)", unit="run",
            disable=not progress, smoothing=0.1,
        ) as bar:  # fmt: skip
            for future in as_completed(futures):
                trace, count = future.result()
                record(*futures[future], trace)
                scored += count
                bar.update()
    except BrokenProcessPool:
        raise ZCBenchError(
            "a search worker process died; the finished runs and the proxy scores computed so "
            "far are kept (rerun the same command to go on)"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return scored
