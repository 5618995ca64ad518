"""Search runs side by side (``zcbench search --run-workers N``): in N spawned processes, or
in N Ray tasks at a time with ``--executor ray``.

A run is a function of its searcher, dataset, budget and seed alone (given the table and the
proxy scores), so runs can be made anywhere and put back in order: the traces are the ones
the runs give one after another (tests/test_searchers.py and tests/test_ray.py check it). How:

* the first run of every searcher x dataset x budget cell is made here, before the others,
  so that what all of a cell's runs share is scored once, with the job's scoring workers
  (``--workers``, in processes or on Ray), and stored: the whole space's prefilter, a stored
  pool's ensemble, ...;
* the other runs go to the workers through :func:`zcbench.engine.executors.map_tasks`, which
  ships the table, the space (by reference: a plug-in space by its module) and the job once
  per worker. A local process opens the store itself and scores whatever its runs still lack
  in-process, with the job's ``threads`` (``run_search`` sets them, by default to this
  process's divided among the workers, for the first runs' scoring too, so that every score
  stored has one thread count), writing it to the store (SQLite serialises the writers). A
  Ray task may run on a machine without the store: it gets a snapshot of what this process's
  proxy sources read during the first runs (:class:`~zcbench.search.proxy_source.ProxySnapshot`),
  and scores any other architecture a run needs (a fresh random pool per run) in-process into
  a store of its own, on that machine; the rows it scored come back with each trace and are
  added to this process's store before the trace is recorded;
* the traces come back here, each kept as it arrives (:mod:`zcbench.search.journal`). A
  searcher's error in a worker stops the search with that error, once the runs already
  running have finished and been recorded; a worker that dies stops it with a one-line
  error. The finished runs and the proxy scores computed so far are kept either way, so the
  same command resumes. Local workers leave when this process dies.

Not for ``--truth``: a query may train an architecture and grow the measured table, which one
process owns.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from zcbench.errors import ZCBenchError
from zcbench.search.journal import Cell
from zcbench.search.loop import SearchJob, parse_searcher, run_once
from zcbench.search.proxy_source import ProxySnapshot, SnapshotProxySource
from zcbench.spaces import get_space, space_ref
from zcbench.spaces.base import SearchSpace
from zcbench.tables.benchmarks import BenchmarkTable


@dataclass(frozen=True)
class _World:
    """What a run worker is given once: everything a run needs besides its cell and seed."""

    token: str  # this search's: a reused Ray worker sets up once per search
    space: str
    data_dir: str | None
    table: BenchmarkTable
    job: SearchJob
    signal: str
    #: per dataset, the proxy scores the first runs read (Ray); None: open the store
    snapshots: dict[str, ProxySnapshot] | None


#: a run worker's state: its world, its space, its store and proxy sources (made on first use)
_here: dict[str, Any] = {}


def _close() -> None:
    """Close this worker's store; remove it if it was its own (a Ray task's)."""
    if _here.get("store") is not None:
        _here["store"].close()
    if _here.get("own_dir"):
        shutil.rmtree(_here["own_dir"], ignore_errors=True)
    _here.update(store=None, own_dir=None)


atexit.register(_close)


def _start(world: _World) -> None:
    if _here.get("token") == world.token:
        return
    _close()  # a reused Ray worker's store of an earlier search
    _here.clear()
    space = get_space(world.space, world.data_dir)
    _here.update(
        token=world.token, world=world, space=space, store=None, own_dir=None, mark=0,
        sources={},
    )  # fmt: skip


def _store():
    """The job's store (local workers), or a store of this worker's own (Ray tasks, which
    may run where the job's store is not)."""
    world: _World = _here["world"]
    if _here["store"] is None:
        from zcbench.engine.store import ResultStore

        if world.snapshots is None:
            _here["store"] = ResultStore(world.job.store)
        else:
            _here["own_dir"] = tempfile.mkdtemp(prefix="zcbench-run-worker-")
            _here["store"] = ResultStore(f"{_here['own_dir']}/scores.db")
    return _here["store"]


def _source(dataset: str):
    world: _World = _here["world"]
    if dataset not in _here["sources"]:
        made = world.job.proxy_sources(
            _store(), _here["space"], [dataset], data_dir=world.data_dir, progress=False,
            in_process=True,
        )[dataset]  # fmt: skip
        if world.snapshots is not None and dataset in world.snapshots:
            made = SnapshotProxySource(world.snapshots[dataset], _here["space"], made)
        _here["sources"][dataset] = made
    return _here["sources"][dataset]


def _run(name: str, dataset: str, budget: int, seed: int) -> tuple[pd.DataFrame, int, list]:
    """One run in a worker: its trace, how many architectures it scored, and (a Ray task)
    the rows it scored into its own store since its last run."""
    world: _World = _here["world"]
    source = _source(dataset) if parse_searcher(name)[0].needs_proxy else None
    before = source.scored if source is not None else 0
    trace = run_once(
        name, _here["space"], world.table, dataset, budget, seed, signal=world.signal,
        max_latency=dict(world.job.max_latency), proxy_source=source,
    )  # fmt: skip
    rows: list[tuple] = []
    if world.snapshots is not None and _here["store"] is not None:
        rows, _here["mark"] = _here["store"].rows_after(_here["mark"])
    return trace, (source.scored - before if source is not None else 0), rows


def run_side_by_side(
    job: SearchJob,
    todo: Sequence[tuple[Cell, int]],
    space: SearchSpace,
    table: BenchmarkTable,
    sources: dict,
    record: Callable[[Cell, int, pd.DataFrame], None],
    run_here: Callable[[Cell, int], None],
    *,
    store=None,
    signal: str,
    data_dir: str | None = None,
    progress: bool = True,
) -> int:
    """Make the runs ``todo`` ((cell, run number) pairs): each cell's first here (``run_here``
    makes and records one), the rest by ``job.run_workers`` workers, giving each trace to
    ``record`` here as it arrives, after adding the rows a Ray task scored to ``store`` (this
    process's). Returns how many architectures the workers scored (``sources``, this
    process's proxy sources, count their own)."""

    firsts: dict[Cell, int] = {}
    for cell, run in todo:
        firsts.setdefault(cell, run)
    for cell, run in tqdm(firsts.items(), desc="first runs", unit="run", disable=not progress):
        run_here(cell, run)
    rest = [(cell, run) for cell, run in todo if firsts[cell] != run]
    if not rest:
        return 0
    on_ray = job.executor == "ray"
    snapshots = {ds: ProxySnapshot.of(src) for ds, src in sources.items()} if on_ray else None
    world = _World(uuid.uuid4().hex, space_ref(space), data_dir, table, job, signal, snapshots)
    workers = min(job.run_workers, len(rest))
    threads = job.threads or 1  # run_search gives local runs this machine's threads' share
    scored = 0
    bar = tqdm(
        total=len(rest), desc=f"runs ({job.executor}, {workers} workers)", unit="run",
        disable=not progress, smoothing=0.1,
    )  # fmt: skip

    def arrived(i: int, result: tuple[pd.DataFrame, int, list]) -> None:
        nonlocal scored
        if result[2]:
            store.add_rows(result[2])  # the scores first: a resumed search finds them
        record(*rest[i], result[0])
        scored += result[1]
        bar.update()

    from zcbench.engine.executors import map_tasks

    with bar:
        try:
            map_tasks(
                _run, [(*cell, job.seed + run) for cell, run in rest], executor=job.executor,
                workers=workers, threads=threads, device=job.device, address=job.address,
                on_done=arrived, setup=(_start, world), finish_running=True,
            )  # fmt: skip
        except BrokenProcessPool:
            raise ZCBenchError(
                "a search worker process died; the finished runs and the proxy scores "
                "computed so far are kept (rerun the same command to go on)"
            ) from None
        except Exception as exc:
            if type(exc).__module__.startswith("ray"):  # a Ray task's error: its cause, one line
                cause = getattr(exc, "cause", None) or exc
                first = (str(cause).strip().splitlines() or [""])[0]
                raise ZCBenchError(f"a search run failed on Ray: {first}") from exc
            raise
    return scored
