"""Score many architectures into a store: resume, progress, summary (``zcbench score``)."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import pickle
import platform
import queue
import signal
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy
import torch
from tqdm.auto import tqdm

from zcbench import __version__
from zcbench.data import minibatch
from zcbench.datasets import dataset_info
from zcbench.errors import ZCBenchError
from zcbench.proxies.base import ENTRY_POINT_GROUP, ProxySpec
from zcbench.scoring import DTYPES, ProxyResult, score_arch
from zcbench.spaces import get_space, space_ref
from zcbench.spaces.base import SearchSpace
from zcbench.store import ResultStore
from zcbench.types import Arch, Batch

log = logging.getLogger(__name__)


def package_versions() -> dict[str, str]:
    return {
        "zcbench": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
    }


def compute_environment() -> dict[str, str]:
    """What besides the code decides the last bits of a float32 value: CPU kernels differ
    by instruction set and split reductions by thread count. The same architecture scored
    with 1 and with 2 threads agrees to about 1e-7 relative, but proxies that subtract
    near-equal quantities amplify it (grasp 2e-4, plain and zico 1e-5); between two machines
    grasp differed in its second significant digit. Recorded with every result beside the
    package versions."""
    return {
        "threads": str(torch.get_num_threads()),
        "cpu": torch.backends.cpu.get_cpu_capability(),
        "machine": platform.machine(),
    }


#: the recorded settings that change a float32 value's last bits
VALUE_SETTINGS = ("torch", "threads", "cpu")


def _warn_mixed_environments(store: ResultStore, config: dict, packages: dict[str, str]) -> None:
    """Resuming into a store that holds this configuration's results from another torch, thread
    count or CPU instruction set mixes values that agree only to rounding: say so once."""

    def settings(env: dict[str, str]) -> tuple[str, ...]:
        return tuple(env.get(k, "unrecorded") for k in VALUE_SETTINGS)

    def describe(values: tuple[str, ...]) -> str:
        return ", ".join(f"{k} {v}" for k, v in zip(VALUE_SETTINGS, values))

    current = settings(packages)
    others = sorted({settings(env) for env in store.environments(**config)} - {current})
    if others:
        log.warning(
            "%s already holds %s/%s results recorded with %s; this run uses %s: the store will "
            "mix values that agree only to rounding (more for grasp, zico, epe_nas)",
            store.path,
            config["space"],
            config["dataset"],
            "; ".join(describe(e) for e in others),
            describe(current),
        )


@dataclass
class RunSummary:
    archs: int = 0
    scored: int = 0
    skipped: int = 0
    seconds: float = 0.0
    status: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    proxy_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def table(self) -> pd.DataFrame:
        rows = []
        for proxy, counts in sorted(self.status.items()):
            n = sum(counts.values())
            rows.append(
                {
                    "proxy": proxy,
                    "scored": n,
                    "ok": counts.get("ok", 0),
                    "failed": n - counts.get("ok", 0),
                    "failures": ", ".join(
                        f"{k} {v}" for k, v in sorted(counts.items()) if k != "ok"
                    ),
                    "s/arch": round(self.proxy_seconds[proxy] / n, 4) if n else None,
                }
            )
        return pd.DataFrame(rows)


def rss_mb() -> float:
    """Current resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise OSError("VmRSS not found in /proc/self/status")


def _log_rss(path: str, scored: int) -> None:
    new = not os.path.exists(path)
    with open(path, "a") as fh:
        if new:
            fh.write("time,scored,rss_mb\n")
        fh.write(f"{time.time():.0f},{scored},{rss_mb():.1f}\n")


def run_scoring(
    space: SearchSpace,
    dataset: str,
    archs: Sequence[Arch],
    specs: Sequence[ProxySpec],
    store: ResultStore,
    *,
    seed: int = 0,
    batch_size: int = 64,
    sampling: str = "random",
    device: str = "cpu",
    dtype: str = "float32",
    fused: bool = True,
    labels: bool = True,
    retry_failed: bool = False,
    data_dir: str | None = None,
    progress: bool = True,
    rss_log: str | None = None,
    workers: int = 1,
    threads: int | None = None,
) -> RunSummary:
    """Score ``archs`` with ``specs`` on one minibatch, skipping what the store already has.

    ``workers`` > 1 scores in that many CPU processes of ``threads`` torch threads each
    (default: this process's threads divided among them, at least 1); this process writes
    every result to the store as it arrives, so an interrupted run keeps all of them. A
    value depends on the thread count in its last bits (see :func:`compute_environment`),
    which every row records, not on which worker computed it.
    ``rss_log``: a CSV path; the process's resident memory is appended to it every 25 scored
    architectures (to check that long runs do not leak; one process only).
    """
    if workers < 1:
        raise ZCBenchError(f"workers must be at least 1; got {workers}")
    if workers > 1 and torch.device(device).type != "cpu":
        raise ZCBenchError("workers > 1 runs CPU processes; score on a GPU with one process")
    if workers > 1 and rss_log:
        raise ZCBenchError("the resident-memory log measures one process; use one worker")
    info = dataset_info(dataset)
    batch = minibatch(info.name, batch_size, seed, sampling=sampling, data_dir=data_dir)
    if not labels:
        batch = batch.without_labels()
    versions = {s.name: s.version for s in specs}
    config = dict(
        space=space.name, dataset=info.name, seed=seed, batch_size=batch_size, sampling=sampling
    )
    done = store.done(**config, versions=versions, include_failures=not retry_failed)
    summary = RunSummary(archs=len(archs))
    pending: list[tuple[Arch, list[ProxySpec]]] = []
    for arch in archs:
        todo = [s for s in specs if (space.index(arch), s.name) not in done]
        if todo:
            pending.append((arch, todo))
    summary.skipped = len(archs) - len(pending)
    job = _Job(
        space_ref(space) if workers > 1 else space.name, data_dir, batch, info.num_classes, seed,
        device, dtype, fused, tuple(specs),
    )  # fmt: skip
    threads = threads or (max(1, torch.get_num_threads() // workers) if workers > 1 else None)
    versions_now = package_versions()
    expected = {**versions_now, **compute_environment()}  # what this run's rows will record
    if threads:
        expected["threads"] = str(threads)
    _warn_mixed_environments(store, config, expected)

    def record(arch: Arch, results: list[ProxyResult], environment: dict[str, str]) -> None:
        store.write(
            results,
            arch_index=space.index(arch),
            arch=space.to_str(arch),
            versions=versions,
            dtype=dtype,
            device=str(device),
            fused=fused,
            packages={**versions_now, **environment},
            **config,
        )
        summary.scored += 1
        if rss_log and summary.scored % 25 == 1:
            _log_rss(rss_log, summary.scored)
        for r in results:
            summary.status[r.proxy][r.status] += 1
            summary.proxy_seconds[r.proxy] += r.seconds
        bar.update(1)

    start = time.perf_counter()
    bar = tqdm(
        total=len(archs),
        initial=summary.skipped,
        desc=f"score {space.name}/{info.name}" + (f" ({workers} workers)" if workers > 1 else ""),
        unit="arch",
        disable=not progress,
        smoothing=0.1,
    )
    try:
        if workers == 1 or len(pending) <= 1:
            with _torch_threads(threads):
                environment = compute_environment()
                for arch, todo in pending:
                    record(arch, _score(job, space, arch, todo), environment)
        else:
            _score_in_workers(job, pending, min(workers, len(pending)), threads or 1, record)
    finally:
        bar.close()
    summary.seconds = time.perf_counter() - start
    return summary


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` torch threads (None: as set), then restore the caller's."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class WorkerTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text."""

    def __str__(self) -> str:
        return "\n" + str(self.args[0]).rstrip()


@dataclass(frozen=True)
class _Job:
    """What every architecture of one run is scored with (sent to worker processes)."""

    #: the space's name, or its class path for worker processes (:func:`space_ref`)
    space: str
    data_dir: str | None
    batch: Batch
    num_classes: int
    seed: int
    device: str
    dtype: str
    fused: bool
    #: by reference: a worker imports each proxy's module (so its registration runs there)
    specs: tuple[ProxySpec, ...]


def _score(job: _Job, space: SearchSpace, arch: Arch, specs: list[ProxySpec]) -> list:
    return score_arch(
        space,
        arch,
        job.batch,
        specs,
        num_classes=job.num_classes,
        seed=job.seed,
        device=job.device,
        dtype=DTYPES[job.dtype],
        fused=job.fused,
    )


def _worker(job: _Job, threads: int, parent: int, tasks: mp.Queue, results: mp.Queue) -> None:
    """A scoring process: architectures from ``tasks`` until None (or until the ``parent``
    process is gone: nobody would store the results), results to ``results``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    try:
        torch.set_num_threads(threads)
        space = get_space(job.space, job.data_dir)
        environment = compute_environment()
        by_name = {s.name: s for s in job.specs}
        while (task := tasks.get()) is not None and os.getppid() == parent:
            arch, names = task
            specs = [by_name[n] for n in names]
            results.put(("scored", arch, _score(job, space, arch, specs), environment))
    except BaseException as exc:  # reported to the parent, which stops the run
        results.put(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc(), None))
        return
    results.put(("done", None, None, None))


def _score_in_workers(
    job: _Job,
    pending: list[tuple[Arch, list[ProxySpec]]],
    workers: int,
    threads: int,
    record: Callable[[Arch, list[ProxyResult], dict[str, str]], None],
) -> None:
    """Score ``pending`` in ``workers`` spawned processes; ``record`` each result here."""
    ctx = mp.get_context("spawn")  # forking a process whose torch threads have run is unsafe
    tasks, results = ctx.Queue(), ctx.Queue()
    for arch, specs in pending:
        tasks.put((arch, [s.name for s in specs]))  # names: always picklable
    for _ in range(workers):
        tasks.put(None)
    procs = [
        ctx.Process(target=_worker, args=(job, threads, os.getpid(), tasks, results), daemon=True)
        for _ in range(workers)
    ]

    def receive(block: bool) -> bool:
        """Handle one message; False when none came (within a second, or at once)."""
        nonlocal running
        try:
            kind, arch, payload, environment = results.get(block, timeout=1.0)
        except queue.Empty:
            return False
        if kind == "scored":
            record(arch, payload, environment)
        elif kind == "done":
            running -= 1
        else:  # the worker's traceback is the cause (shown with --debug)
            raise ZCBenchError(f"a scoring worker failed: {arch}") from WorkerTraceback(payload)
        return True

    running = workers
    try:
        for proc in procs:
            try:
                proc.start()
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                raise ZCBenchError(
                    "worker processes need proxies importable by name (a module or the "
                    f"'{ENTRY_POINT_GROUP}' entry points): {exc}"
                ) from exc
        while running:
            if receive(block=True):
                continue
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise ZCBenchError(
                    f"a scoring worker died (exit code {dead[0]}); what was scored is stored, "
                    "rerun to resume"
                )
    finally:
        try:  # results already sent (stopped or failed run) are stored before the workers go
            while running and receive(block=False):
                pass
        finally:
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
            for proc in procs:
                if proc.pid is not None:
                    proc.join()
            for q in (tasks, results):
                q.cancel_join_thread()
                q.close()
