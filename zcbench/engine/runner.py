"""Score many architectures into a store: resume, progress, summary (``zcbench score``)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing as mp
import os
import pickle
import platform
import signal
import time
import traceback
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing import connection as mp_connection
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import numpy as np
import pandas as pd
import scipy
import torch
from tqdm.auto import tqdm

from zcbench import __version__
from zcbench.engine.scoring import DTYPES, ProxyResult, checked_device, score_arch
from zcbench.engine.store import ResultStore
from zcbench.errors import ZCBenchError, unknown
from zcbench.proxies.base import ENTRY_POINT_GROUP, ProxySpec
from zcbench.spaces import get_space, space_ref
from zcbench.spaces.base import SearchSpace
from zcbench.tables.data import minibatch
from zcbench.tables.datasets import dataset_info
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


#: where architectures are scored: this process or spawned worker processes, or Ray actors
EXECUTORS = ("local", "ray")


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
    executor: str = "local",
    address: str | None = None,
    arch_timeout: float | None = None,
) -> RunSummary:
    """Score ``archs`` with ``specs`` on one minibatch, skipping what the store already has.

    ``workers`` > 1 scores in that many processes of ``threads`` torch threads each (on CUDA
    they share the GPU, or spread over every GPU for a bare ``cuda``: :func:`worker_device`)
    (default: this process's threads divided among them, at least 1); this process writes
    every result to the store as it arrives, so an interrupted run keeps all of them. A
    value depends on the thread count in its last bits (see :func:`compute_environment`),
    which every row records, not on which worker computed it.
    ``rss_log``: a CSV path; this process's resident memory is appended to it every 25 scored
    architectures (to check that long runs do not leak; with workers or Ray, the driver's,
    which receives and stores every result).

    ``executor="ray"`` scores in ``workers`` Ray actors of ``threads`` threads each (one GPU
    each on a CUDA ``device``) on the cluster at ``address`` (default: the one this process is
    connected to, else a local one started and stopped here); see :mod:`zcbench.engine.executors`.
    ``arch_timeout``: seconds one architecture may take before its worker is killed and the
    architecture recorded as ``timeout``; it scores in worker processes even with one worker.
    With worker processes or Ray, a worker that dies has its architecture recorded as
    ``crash`` and is replaced; the run goes on.
    """
    if executor not in EXECUTORS:
        raise unknown("executor", executor, EXECUTORS)
    if address and executor != "ray":
        raise ZCBenchError("a cluster address is for the ray executor (--executor ray)")
    if workers < 1:
        raise ZCBenchError(f"workers must be at least 1; got {workers}")
    if arch_timeout is not None and not arch_timeout > 0:
        raise ZCBenchError(f"the architecture timeout must be positive; got {arch_timeout}")
    in_process = executor == "local" and workers == 1 and arch_timeout is None
    if executor == "local":  # a Ray cluster's GPUs need not be on this machine
        checked_device(device)
    if executor == "ray":
        from zcbench.engine.executors import require_ray

        require_ray()
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
    # workers and Ray actors rebuild the space by reference (a plug-in space by its module)
    job = _Job(
        space.name if in_process else space_ref(space), data_dir, batch, info.num_classes,
        seed, device, dtype, fused, tuple(specs),
    )  # fmt: skip
    threads = threads or (None if in_process else max(1, torch.get_num_threads() // workers))
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
        desc=f"score {space.name}/{info.name}"
        + (f" ({executor}, {workers} workers)" if not in_process else ""),
        unit="arch",
        disable=not progress,
        smoothing=0.1,
    )
    try:
        if not pending:
            pass
        elif executor == "ray":
            from zcbench.engine.executors import score_with_ray

            score_with_ray(
                job, pending, min(workers, len(pending)), threads or 1, record,
                address=address, arch_timeout=arch_timeout,
            )  # fmt: skip
        elif in_process or (len(pending) == 1 and arch_timeout is None):
            with _torch_threads(threads):
                environment = compute_environment()
                for arch, todo in pending:
                    record(arch, _score(job, space, arch, todo), environment)
        else:
            workers = min(workers, len(pending))
            _score_in_workers(job, pending, workers, threads or 1, record, arch_timeout)
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


def worker_device(device: str, i: int) -> str:
    """The device of the ``i``-th worker process: ``cuda`` spreads them over every visible GPU
    (several processes share one: an NB201 network at batch 64 leaves a large GPU mostly
    idle); any other device is used as given."""
    if device == "cuda" and torch.cuda.is_available() and torch.cuda.device_count() > 1:
        return f"cuda:{i % torch.cuda.device_count()}"
    return device


def _lost(
    arch: Arch, specs: Sequence[ProxySpec], seconds: float, status: str, reason: str
) -> list[ProxyResult]:
    """The rows of an architecture whose worker hung (``timeout``) or died (``crash``): one per
    proxy, with the reason; ``--retry-failed`` rescores them like any failure."""
    return [ProxyResult(s.name, arch, None, seconds, status, reason) for s in specs]


def time_to_next_deadline(busy: Sequence, arch_timeout: float | None, most: float = 1.0) -> float:
    """Seconds to wait for results before the next architecture's ``arch_timeout`` runs out
    (at most ``most``): ``busy`` holds workers with ``task`` (None when idle) and ``started``."""
    wait = most
    if arch_timeout is not None:
        now = time.monotonic()
        for worker in busy:
            if worker.task is not None:
                wait = min(wait, worker.started + arch_timeout - now)
    return max(wait, 0.0)


def timeout_reason(arch_timeout: float) -> str:
    return f"worker exceeded --arch-timeout {arch_timeout:g} s"


def _worker(job: _Job, threads: int, conn: Connection) -> None:
    """A scoring process: says it is ready, then scores one architecture at a time from
    ``conn`` until None, or until the parent is gone (end of file: nobody would store the
    results)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    try:
        torch.set_num_threads(threads)
        space = get_space(job.space, job.data_dir)
        by_name = {s.name: s for s in job.specs}
        conn.send(("ready", compute_environment()))
        while (task := conn.recv()) is not None:
            arch, names = task
            conn.send(("scored", _score(job, space, arch, [by_name[n] for n in names])))
    except EOFError:
        return
    except BaseException as exc:  # reported to the parent, which stops the run
        with contextlib.suppress(OSError):
            conn.send(("error", (f"{type(exc).__name__}: {exc}", traceback.format_exc())))


@dataclass(eq=False)
class _Slot:
    """One worker process and the architecture it is scoring (None: starting or idle)."""

    proc: BaseProcess
    conn: Connection
    environment: dict[str, str] | None = None  # set when the worker says it is ready
    task: tuple[Arch, list[ProxySpec]] | None = None
    started: float = 0.0


def _score_in_workers(
    job: _Job,
    pending: list[tuple[Arch, list[ProxySpec]]],
    workers: int,
    threads: int,
    record: Callable[[Arch, list[ProxyResult], dict[str, str]], None],
    arch_timeout: float | None = None,
) -> None:
    """Score ``pending`` in ``workers`` spawned processes; ``record`` each result here.

    Each worker gets one architecture at a time, so the parent knows what it is scoring: a
    worker that dies (``crash``) or exceeds ``arch_timeout`` seconds on one architecture
    (``timeout``, then killed) has that architecture recorded with the status and reason, and
    a fresh worker takes its place. A worker that dies before it is ready, or raises an error
    that is not a recorded failure, stops the run (what was scored is stored)."""
    ctx = mp.get_context("spawn")  # forking a process whose torch threads have run is unsafe
    todo = deque(pending)
    slots: list[_Slot] = []

    started = 0

    def start() -> None:
        nonlocal started
        here, there = ctx.Pipe()
        own = dataclasses.replace(job, device=worker_device(job.device, started))
        started += 1
        proc = ctx.Process(target=_worker, args=(own, threads, there), daemon=True)
        try:
            proc.start()
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            here.close()
            raise ZCBenchError(
                "worker processes need proxies importable by name (a module or the "
                f"'{ENTRY_POINT_GROUP}' entry points): {exc}"
            ) from exc
        finally:
            there.close()
        slots.append(_Slot(proc, here))

    def stop(slot: _Slot) -> None:
        slots.remove(slot)
        if slot.proc.is_alive():
            slot.proc.kill()
        slot.proc.join()
        slot.conn.close()

    def next_task(slot: _Slot) -> None:
        """Give an idle worker the next architecture, or let it go when none is left."""
        if not todo:
            with contextlib.suppress(OSError):
                slot.conn.send(None)
            slot.proc.join(timeout=5)
            stop(slot)
            return
        slot.task = todo.popleft()
        slot.started = time.monotonic()
        arch, specs = slot.task
        slot.conn.send((arch, [s.name for s in specs]))  # names: always picklable

    def lose(slot: _Slot, status: str, reason: str) -> None:
        """Record the slot's architecture as ``status`` and replace its worker."""
        assert slot.task is not None and slot.environment is not None
        arch, specs = slot.task
        stop(slot)
        record(arch, _lost(arch, specs, time.monotonic() - slot.started, status, reason),
               slot.environment)  # fmt: skip
        log.warning("architecture %s: %s", arch.key, reason)
        if todo and len(slots) < workers:
            start()

    def receive(slot: _Slot) -> None:
        try:
            kind, payload = slot.conn.recv()
        except (EOFError, OSError):  # the worker is gone
            slot.proc.join(timeout=5)
            code = slot.proc.exitcode
            if slot.task is None:
                raise ZCBenchError(
                    f"a scoring worker died (exit code {code}) before scoring; what was "
                    "scored is stored, rerun to resume"
                ) from None
            lose(slot, "crash", f"worker died (exit code {code})")
            return
        if kind == "ready":
            slot.environment = payload
        elif kind == "scored":
            assert slot.task is not None and slot.environment is not None
            record(slot.task[0], payload, slot.environment)
        else:  # the worker's traceback is the cause (shown with --debug)
            raise ZCBenchError(f"a scoring worker failed: {payload[0]}") from WorkerTraceback(
                payload[1]
            )
        next_task(slot)

    try:
        for _ in range(workers):
            start()
        while slots:
            wait = time_to_next_deadline(slots, arch_timeout)
            ready = set(mp_connection.wait([s.conn for s in slots], timeout=wait))
            for slot in list(slots):
                if slot.conn in ready:
                    receive(slot)
            if arch_timeout is not None:
                now = time.monotonic()
                for slot in list(slots):
                    if slot.task is not None and now - slot.started > arch_timeout:
                        if slot.conn.poll():  # it answered just in time
                            continue
                        lose(slot, "timeout", timeout_reason(arch_timeout))
    finally:
        try:  # results already sent (stopped or failed run) are stored before the workers go
            for slot in slots:
                with contextlib.suppress(EOFError, OSError):  # a dead worker sent nothing
                    if slot.task is not None and slot.conn.poll():
                        kind, payload = slot.conn.recv()
                        if kind == "scored" and slot.environment is not None:
                            record(slot.task[0], payload, slot.environment)
        finally:
            for slot in list(slots):
                stop(slot)
