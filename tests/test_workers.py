"""``zcbench score --workers``: values, recorded threads, failures and interruption."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from zcbench.engine.runner import run_scoring
from zcbench.engine.store import ResultStore, compare_stores
from zcbench.errors import ZCBenchError
from zcbench.proxies import resolve_proxies
from zcbench.proxies.base import OwnProxy, register_proxy, unregister_proxy

pytestmark = pytest.mark.data

PROBE = '''
"""Proxies for the worker tests: fine everywhere but on the architecture BAD."""
import os
import time

from zcbench.proxies.base import OwnProxy, register_proxy

BAD = {bad!r}


class Probe(OwnProxy):
    def score(self, ctx):
        if ctx.arch.key != BAD:
            return 1.0
        time.sleep(0.5)  # the other architecture's result reaches the parent first
        self.fail()

    def fail(self):
        raise RuntimeError("probe failure")


@register_proxy("probe_raises", kind="own", paper="test", formula="test")
class Raises(Probe):
    pass


@register_proxy("probe_exits", kind="own", paper="test", formula="test")
class Exits(Probe):
    def fail(self):
        os._exit(3)


@register_proxy("probe_hangs", kind="own", paper="test", formula="test")
class Hangs(Probe):
    def fail(self):
        time.sleep(3600)
'''

PROBES = ("probe_raises", "probe_exits", "probe_hangs")


def _rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT arch_index, proxy, versions FROM results").fetchall()


def test_workers_store_the_values_of_their_thread_count(nb201, tmp_path):
    specs = resolve_proxies("naswot,grad_norm,synflow,jacob_cov")
    archs = [nb201.from_index(i) for i in (0, 7, 1462, 9000)]
    threads = torch.get_num_threads()
    kw = dict(batch_size=8, progress=False)
    with ResultStore(tmp_path / "one.db") as one, ResultStore(tmp_path / "two.db") as two:
        serial = run_scoring(nb201, "cifar10", archs, specs, one, threads=1, **kw)
        parallel = run_scoring(nb201, "cifar10", archs, specs, two, workers=2, **kw)
        merged = compare_stores(one, two)
        again = run_scoring(nb201, "cifar10", archs, specs, two, workers=2, **kw)
    assert torch.get_num_threads() == threads  # the caller's setting is restored
    assert (serial.scored, parallel.scored) == (4, 4)
    assert sum(parallel.status["naswot"].values()) == 4
    assert (again.scored, again.skipped) == (0, 4)  # resume works the same
    assert len(merged) == 16 and merged.identical.all()  # bit for bit, whoever scored it
    assert {json.loads(v)["threads"] for _, _, v in _rows(tmp_path / "two.db")} == {"1"}


@pytest.fixture()
def probe(nb201, tmp_path, monkeypatch):
    """An importable module of failing proxies (worker processes import it by name)."""
    bad = nb201.from_index(7)
    (tmp_path / "zcb_probe.py").write_text(PROBE.format(bad=bad.key))
    monkeypatch.syspath_prepend(str(tmp_path))
    import zcb_probe  # noqa: F401 - registers the probes here too

    yield [nb201.from_index(0), bad]
    for name in PROBES:
        unregister_proxy(name)
    sys.modules.pop("zcb_probe", None)


def test_a_worker_error_stops_the_run_and_keeps_what_was_scored(nb201, tmp_path, probe):
    db = tmp_path / "r.db"
    message = "a scoring worker failed: RuntimeError: probe failure"
    with ResultStore(db) as store, pytest.raises(ZCBenchError, match=message) as error:
        run_scoring(
            nb201, "cifar10", probe, resolve_proxies("probe_raises"), store, workers=2,
            batch_size=4, progress=False,
        )  # fmt: skip
    assert [(i, p) for i, p, _ in _rows(db)] == [(0, "probe_raises")]
    assert "zcb_probe.py" in str(error.value.__cause__)  # the worker's traceback


@pytest.mark.parametrize(
    "proxy, workers, status, reason",
    [
        ("probe_exits", 2, "crash", "worker died (exit code 3)"),
        ("probe_hangs", 2, "timeout", "worker exceeded --arch-timeout 2 s"),
        ("probe_hangs", 1, "timeout", "worker exceeded --arch-timeout 2 s"),  # in a process
    ],
)
def test_a_dying_or_hung_worker_is_recorded_and_replaced(
    nb201, tmp_path, probe, proxy, workers, status, reason
):
    archs = [probe[1], probe[0], nb201.from_index(1)]  # the bad one first: then replaced
    specs = resolve_proxies(f"{proxy},params")
    kw = dict(workers=workers, batch_size=4, progress=False, arch_timeout=2.0)
    with ResultStore(tmp_path / "r.db") as store:
        summary = run_scoring(nb201, "cifar10", archs, specs, store, **kw)
        rows = store.frame()
        again = run_scoring(nb201, "cifar10", archs, specs, store, **kw)
        retried = run_scoring(nb201, "cifar10", archs, specs, store, retry_failed=True, **kw)
    assert summary.scored == 3 and summary.status[proxy] == {"ok": 2, status: 1}
    bad = rows[rows.arch_index == 7]
    assert len(rows) == 6 and set(bad.status) == {status} and set(bad.error) == {reason}
    assert (rows.status == "ok").sum() == 4
    assert (again.scored, retried.scored) == (0, 1)  # --retry-failed rescores them


def test_proxies_the_workers_cannot_import_are_a_clear_error(nb201, tmp_path):
    class Local(OwnProxy):
        def score(self, ctx):
            return 1.0

    register_proxy("local_only", kind="own", paper="test", formula="test")(Local)
    try:
        archs = [nb201.from_index(i) for i in (0, 1)]
        with ResultStore(tmp_path / "r.db") as store, pytest.raises(ZCBenchError, match="import"):
            run_scoring(
                nb201, "cifar10", archs, resolve_proxies("local_only"), store, workers=2,
                batch_size=4, progress=False,
            )  # fmt: skip
    finally:
        unregister_proxy("local_only")


def test_bad_worker_settings(nb201, tmp_path):
    archs, specs = [nb201.from_index(0)], resolve_proxies("params")
    with ResultStore(tmp_path / "r.db") as store:
        for kw, message in [
            (dict(workers=0), "at least 1"),
            *(
                []
                if torch.cuda.is_available()
                else [(dict(workers=2, device="cuda"), "CUDA is not")]
            ),
            (dict(arch_timeout=0), "must be positive"),
            (dict(executor="dask"), "unknown executor 'dask'"),
            (dict(address="127.0.0.1:6379"), "--executor ray"),
        ]:
            with pytest.raises(ZCBenchError, match=message):
                run_scoring(nb201, "cifar10", archs, specs, store, progress=False, **kw)


def _spawned_children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in cmdline:
            children.append(int(stat.parent.name))
    return children


def test_sigterm_stops_the_workers_and_keeps_the_stored_results(tmp_path):
    db = tmp_path / "r.db"
    cmd = [sys.executable, "-m", "zcbench.cli", "-q", "score", "--archs", "0-399"]
    cmd += ["--proxies", "naswot", "--batch-size", "8", "--workers", "2", "--store", str(db)]
    run = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (db.exists() and _stored(db) >= 4):
        assert run.poll() is None, run.communicate()
        time.sleep(0.2)
    workers = _spawned_children(run.pid)
    assert len(workers) == 2
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130 and "interrupted" in err
    assert 4 <= _stored(db) < 400
    for pid in workers:  # stopped and reaped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with ResultStore(db) as store:  # whole results only
        assert set(store.frame().status) == {"ok"}


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


TASKS = '''
"""Tasks for map_tasks: task 1 fails at once, the others take a while; each marks its start."""
import time
from pathlib import Path

FOLDER = {folder!r}


def task(i):
    Path(FOLDER, f"started-{{i}}").touch()
    if i == 1:
        raise ValueError("task 1 failed")
    time.sleep(1.5)
    return i * 10
'''


def test_a_failing_task_lets_the_running_ones_finish_and_be_kept(tmp_path, monkeypatch):
    import importlib

    from zcbench.engine.executors import map_tasks

    (tmp_path / "map_probe.py").write_text(TASKS.format(folder=str(tmp_path)))
    monkeypatch.syspath_prepend(str(tmp_path))
    probe = importlib.import_module("map_probe")
    for finish in (True, False):
        for marker in tmp_path.glob("started-*"):
            marker.unlink()
        seen: dict[int, int] = {}
        with pytest.raises(ValueError, match="task 1 failed"):
            map_tasks(probe.task, [(i,) for i in range(6)], workers=2,
                      on_done=seen.__setitem__, finish_running=finish)  # fmt: skip
        started = {int(p.name.split("-")[1]) for p in tmp_path.glob("started-*")}
        assert 1 in started and len(started) < 6  # no task starts after the failure
        if finish:  # every task that started, but the failed one, was delivered
            assert seen == {i: i * 10 for i in started - {1}}
        else:  # the one running beside the failure was dropped
            assert set(seen) < started - {1}
