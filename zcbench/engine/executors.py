"""Scoring on a Ray cluster (``zcbench score --executor ray``).

Architectures are scored by Ray actors, ``workers`` of them with ``threads`` torch threads
each (and one GPU each when the device is CUDA). The run's :class:`~zcbench.engine.runner._Job`
(minibatch, seed, dtype, proxies by reference, the search space by name) is put into the
object store once; each actor fetches it once and then builds one model per architecture
with the same code as in-process scoring, so the values are identical at the same thread
count. Each actor scores one architecture at a time; the results stream back with
``ray.wait`` and the driver records each exactly once, through the same callback as the
other executors (progress bar, store writes). An actor that dies has its architecture
recorded as ``crash``; one that exceeds the architecture timeout is killed and its
architecture recorded as ``timeout``; either is replaced and the run goes on. Ctrl-C (or
SIGTERM through the CLI) stores what has arrived, kills the actors and, when this run
started the local cluster, shuts it down.

Ray is an optional dependency: ``pip install 'zcbench[ray]'``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing.connection as mp_connection
import multiprocessing.process as mp_process
import os
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from zcbench.engine.runner import (
    WorkerTraceback,
    _Job,
    _lost,
    _score,
    compute_environment,
    time_to_next_deadline,
    timeout_reason,
)
from zcbench.engine.scoring import ProxyResult
from zcbench.errors import ZCBenchError
from zcbench.proxies.base import ProxySpec
from zcbench.spaces import get_space
from zcbench.types import Arch

log = logging.getLogger(__name__)

INSTALL_HINT = "--executor ray needs Ray: pip install 'zcbench[ray]'"


def require_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ZCBenchError(INSTALL_HINT) from None
    return ray


class _Scorer:
    """A Ray actor's state: the run's job (fetched once), its space, its thread count."""

    def __init__(self, job: _Job, threads: int) -> None:
        torch.set_num_threads(threads)
        self.job = job
        # by name; a space_ref string (module:Class) resolves the same way once get_space has it
        self.space = get_space(job.space, job.data_dir)
        self.by_name = {s.name: s for s in job.specs}
        self.environment = compute_environment()

    def ready(self) -> dict[str, str]:
        return self.environment

    def score(self, arch: Arch, names: list[str]) -> list[ProxyResult]:
        return _score(self.job, self.space, arch, [self.by_name[n] for n in names])


@dataclass(eq=False)
class _Actor:
    handle: Any
    ref: Any  # the call in flight: ready() until the actor is up, then score()
    environment: dict[str, str] | None = None
    task: tuple[Arch, list[ProxySpec]] | None = None
    started: float = 0.0


@contextlib.contextmanager
def _keep_signal_handlers() -> Iterator[None]:
    """Restore SIGINT's and SIGTERM's handlers after the block: Ray's core worker installs a
    SIGTERM handler that ends the process, bypassing the CLI's (store what arrived, exit 130)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)


def _died(exc: BaseException) -> str:
    """A short reason for a dead actor: Ray reports its pid and exit type, not an exit code."""
    text = str(exc)
    details = [
        f"{label}{m.group(1)}"
        for label, pattern in [("pid ", r"pid: (\d+)"), ("exit type ", r"exit type: (\w+)")]
        if (m := re.search(pattern, text))
    ]
    return f"worker died (Ray actor{', ' if details else ''}{', '.join(details)})"


def score_with_ray(
    job: _Job,
    pending: list[tuple[Arch, list[ProxySpec]]],
    workers: int,
    threads: int,
    record: Callable[[Arch, list[ProxyResult], dict[str, str]], None],
    *,
    address: str | None = None,
    arch_timeout: float | None = None,
) -> None:
    """Score ``pending`` on ``workers`` Ray actors and ``record`` each result here.

    Connects to the cluster at ``address`` (``ray.init(address=...)``); without one, uses the
    cluster this process is connected to or starts a local one (stopped at the end)."""
    with ray_cluster(address, workers * threads) as ray:
        _score_on(ray, job, pending, workers, threads, record, arch_timeout)


@contextlib.contextmanager
def ray_cluster(address: str | None, cpus: int) -> Iterator[Any]:
    """The ``ray`` module connected to the cluster at ``address``; without one, to the
    cluster this process is connected to, or to a local one of at least ``cpus`` CPUs started
    here. What is started or connected here is shut down at the end."""
    ray = require_ray()
    started_here = not ray.is_initialized()
    if started_here:  # connected (or a local cluster started) here: shut down at the end
        options: dict[str, Any] = dict(
            include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False
        )
        with _keep_signal_handlers():
            if address:
                ray.init(address=address, **options)
            else:  # never fewer CPUs than the tasks ask for: they would wait forever
                ray.init(num_cpus=max(os.cpu_count() or 1, cpus), **options)
    elif address:
        log.warning("already connected to a Ray cluster; ignoring address %s", address)
    try:
        yield ray
    finally:
        if started_here:
            ray.shutdown()


def map_tasks(
    fn: Callable[..., Any],
    tasks: list[tuple],
    *,
    executor: str = "local",
    workers: int = 1,
    threads: int = 1,
    device: str = "cpu",
    address: str | None = None,
    on_done: Callable[[int, Any], None] | None = None,
    setup: tuple[Callable[[Any], None], Any] | None = None,
    finish_running: bool = False,
) -> list[Any]:
    """``[fn(*t) for t in tasks]``, one task per worker at a time (at most ``workers`` in
    flight): in this process (``workers`` 1, local), in ``workers`` spawned processes, or as
    Ray tasks (one GPU each on CUDA). ``fn`` must be importable by module (workers import it).
    ``on_done(i, result)`` is called here as each task finishes; results come back in the
    order of ``tasks``. A task that raises stops the run with its error (what ``on_done`` saw
    is kept by the caller); no further task starts. ``finish_running``: the tasks already
    running when one raises finish first, and those that succeed reach ``on_done`` (an
    interrupt, Ctrl-C or SIGTERM, still stops at once).

    ``setup``: ``(init, shared)``, with ``init(shared)`` run in a worker before its tasks, so
    that what every task needs (a table, a space) is shipped once: once per process, or on
    Ray once to the object store, ``init`` then running before each task (it should return at
    once when the worker already holds ``shared``). Spawned processes leave when this process
    dies, even killed outright (they would wait on their task queue forever)."""
    results: list[Any] = [None] * len(tasks)

    def done(i: int, value: Any) -> None:
        results[i] = value
        if on_done is not None:
            on_done(i, value)

    if executor == "local" and workers == 1:
        if setup is not None:
            setup[0](setup[1])
        for i, task in enumerate(tasks):
            done(i, fn(*task))
        return results
    if executor == "local":
        import concurrent.futures as cf
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        with cf.ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_start_process, initargs=(threads, setup)
        ) as pool:
            _bounded(
                tasks, workers, done, finish_running,
                submit=lambda task: pool.submit(fn, *task),
                wait=lambda handles: cf.wait(handles, return_when=cf.FIRST_COMPLETED)[0],
                get=lambda future: future.result(),
                cancel=lambda future: future.cancel(),
            )  # fmt: skip
        return results
    gpu = torch.device(device).type == "cuda"
    with ray_cluster(address, workers * threads) as ray:
        remote = ray.remote(num_cpus=threads, num_gpus=1 if gpu else 0, max_retries=0)(
            _with_threads
        )
        init, shared = (setup[0], ray.put(setup[1])) if setup is not None else (None, None)
        _bounded(
            tasks, workers, done, finish_running,
            submit=lambda task: remote.remote(threads, init, shared, fn, *task),
            wait=lambda handles: ray.wait(handles, num_returns=1)[0],
            get=ray.get,
            cancel=lambda ref: ray.cancel(ref, force=True),
        )  # fmt: skip
    return results


def _bounded(
    tasks: list[tuple],
    workers: int,
    done: Callable[[int, Any], None],
    finish_running: bool,
    *,
    submit: Callable[[tuple], Any],
    wait: Callable[[list[Any]], Any],
    get: Callable[[Any], Any],
    cancel: Callable[[Any], None],
) -> None:
    """Run ``tasks`` with at most ``workers`` in flight (the asked parallelism), whatever the
    executor: ``submit(task)`` starts one and gives its handle, ``wait(handles)`` the finished
    ones (at least one), ``get(handle)`` its value (raising the task's error), ``cancel``
    stops one. See :func:`map_tasks` for ``done`` and ``finish_running``."""
    queued = deque(enumerate(tasks))
    running: dict[Any, int] = {}

    def start() -> None:
        i, task = queued.popleft()
        running[submit(task)] = i

    for _ in range(min(workers, len(queued))):
        start()
    try:
        while running:
            for handle in wait(list(running)):
                done(running.pop(handle), get(handle))
                if queued:
                    start()
    except Exception:
        if finish_running:
            _finish(running, get, done)
        for handle in running:
            cancel(handle)
        raise
    except BaseException:
        for handle in running:
            cancel(handle)
        raise


def _finish(running: dict[Any, int], get: Callable[[Any], Any], done) -> None:  # noqa: ANN001
    """Wait for each task still running; hand the ones that succeed to ``done`` (the first
    error, being raised, is the caller's; later ones are dropped)."""
    for handle, i in list(running.items()):
        try:
            value = get(handle)
        except Exception:
            continue
        done(i, value)
    running.clear()


def _start_process(threads: int, setup: tuple[Callable[[Any], None], Any] | None) -> None:
    """A spawned worker's start: leave with the parent, set the threads, run ``setup``."""
    parent = mp_process.parent_process()
    if parent is not None:
        threading.Thread(target=_leave_with, args=(parent.sentinel,), daemon=True).start()
    torch.set_num_threads(threads)
    if setup is not None:
        setup[0](setup[1])


def _leave_with(sentinel: int) -> None:
    mp_connection.wait([sentinel])
    os._exit(1)


def _with_threads(
    threads: int,
    init: Callable[[Any], None] | None,
    shared: Any,
    fn: Callable[..., Any],
    *args: Any,
) -> Any:
    """``fn(*args)`` with ``threads`` torch threads after ``init(shared)`` (a Ray worker
    process is reused across tasks: both are applied for each; Ray resolves ``shared``, an
    object-store reference, to its value)."""
    torch.set_num_threads(threads)
    if init is not None:
        init(shared)
    return fn(*args)


def _score_on(ray, job, pending, workers, threads, record, arch_timeout) -> None:
    from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

    gpu = torch.device(job.device).type == "cuda"
    if gpu:  # each actor sees its own GPU as cuda:0
        job = dataclasses.replace(job, device="cuda")
    job_ref = ray.put(job)  # shipped once per actor through the object store
    remote = ray.remote(max_restarts=0, max_task_retries=0)(_Scorer).options(
        num_cpus=threads, num_gpus=1 if gpu else 0
    )
    todo = deque(pending)
    actors: list[_Actor] = []

    def start() -> None:
        handle = remote.remote(job_ref, threads)
        actors.append(_Actor(handle, handle.ready.remote()))

    def stop(actor: _Actor) -> None:
        actors.remove(actor)
        ray.kill(actor.handle, no_restart=True)

    def next_task(actor: _Actor) -> None:
        if not todo:
            stop(actor)
            return
        actor.task = todo.popleft()
        actor.started = time.monotonic()
        arch, specs = actor.task
        actor.ref = actor.handle.score.remote(arch, [s.name for s in specs])

    def lose(actor: _Actor, status: str, reason: str) -> None:
        assert actor.task is not None and actor.environment is not None
        arch, specs = actor.task
        stop(actor)
        seconds = time.monotonic() - actor.started
        record(arch, _lost(arch, specs, seconds, status, reason), actor.environment)
        log.warning("architecture %s: %s", arch.key, reason)
        if todo and len(actors) < workers:
            start()

    def receive(actor: _Actor) -> None:
        try:
            value = ray.get(actor.ref)
        except RayTaskError as exc:  # an error that is not a recorded failure: stop the run
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            first = str(cause).splitlines()[0] if str(cause) else ""
            raise ZCBenchError(
                f"a scoring worker failed: {type(cause).__name__}: {first}"
            ) from WorkerTraceback(str(exc))
        except RayActorError as exc:
            if actor.task is None:  # it never came up: replacing it would fail the same way
                first = str(exc).strip().splitlines()[0]
                raise ZCBenchError(f"a Ray scoring worker failed to start: {first}") from exc
            lose(actor, "crash", _died(exc))
            return
        if actor.task is None:
            actor.environment = value
        else:
            record(actor.task[0], value, actor.environment or {})
        next_task(actor)

    try:
        for _ in range(workers):
            start()
        while actors:
            wait = time_to_next_deadline(actors, arch_timeout)
            by_ref = {actor.ref: actor for actor in actors}
            ready, _ = ray.wait(list(by_ref), num_returns=1, timeout=wait)
            for ref in ready:
                receive(by_ref[ref])
            if arch_timeout is not None:
                now = time.monotonic()
                for actor in list(actors):
                    if actor.task is not None and now - actor.started > arch_timeout:
                        lose(actor, "timeout", timeout_reason(arch_timeout))
    finally:
        try:  # results already computed (stopped or failed run) are stored before the actors go
            busy = {a.ref: a for a in actors if a.task is not None}
            if busy:
                done, _ = ray.wait(list(busy), num_returns=len(busy), timeout=0)
                for ref in done:
                    try:
                        record(busy[ref].task[0], ray.get(ref, timeout=5), busy[ref].environment)
                    except (RayTaskError, RayActorError, GetTimeoutError):
                        pass
        finally:
            for actor in list(actors):
                stop(actor)
