"""``zcbench score --executor ray``: values, exactly-once rows, hung and dying actors, and the
error without Ray. The test starts (and stops) a local Ray cluster of two CPUs."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from chaos import session as _session

from zcbench.cli import main
from zcbench.engine.runner import run_scoring
from zcbench.engine.store import ResultStore, compare_stores
from zcbench.errors import ZCBenchError
from zcbench.proxies import resolve_proxies
from zcbench.proxies.base import unregister_proxy

pytestmark = pytest.mark.data

try:
    import ray
except ImportError:  # the test without Ray still runs
    ray = None

needs_ray = pytest.mark.skipif(ray is None, reason="ray is not installed (zcbench[ray])")

PROBE = '''
"""Proxies for the Ray tests: fine everywhere but on the architecture BAD."""
import os
import time

from zcbench.proxies.base import OwnProxy, register_proxy

BAD = {bad!r}


@register_proxy("ray_probe_exits", kind="own", paper="test", formula="test")
class Exits(OwnProxy):
    def score(self, ctx):
        if ctx.arch.key == BAD:
            os._exit(3)
        return 1.0


@register_proxy("ray_probe_hangs", kind="own", paper="test", formula="test")
class Hangs(OwnProxy):
    def score(self, ctx):
        if ctx.arch.key == BAD:
            time.sleep(3600)
        return 1.0
'''


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A local two-CPU cluster whose workers can import the probe module."""
    probe_dir = tmp_path_factory.mktemp("ray_probe")
    from zcbench.spaces import get_space

    bad = get_space("nb201").from_index(7)
    (probe_dir / "zcb_ray_probe.py").write_text(PROBE.format(bad=bad.key))
    path = os.pathsep.join([str(probe_dir), *filter(None, [os.environ.get("PYTHONPATH")])])
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    sys.path.insert(0, str(probe_dir))
    yield
    ray.shutdown()
    sys.path.remove(str(probe_dir))
    for name in ("ray_probe_exits", "ray_probe_hangs"):
        unregister_proxy(name)
    sys.modules.pop("zcb_ray_probe", None)


def _keys(db) -> Counter:
    if not Path(db).exists():
        return Counter()
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            return Counter(conn.execute("SELECT arch_index, proxy, seed, batch_size FROM results"))
    except sqlite3.OperationalError:  # the table is not created yet
        return Counter()


@needs_ray
def test_ray_stores_the_in_process_values_exactly_once(nb201, tmp_path, cluster):
    specs = resolve_proxies("naswot,grad_norm,synflow,params")
    archs = [nb201.from_index(i) for i in (0, 7, 1462, 9000)]
    kw = dict(batch_size=8, progress=False, threads=1)
    with ResultStore(tmp_path / "one.db") as one, ResultStore(tmp_path / "ray.db") as two:
        run_scoring(nb201, "cifar10", archs, specs, one, **kw)
        summary = run_scoring(nb201, "cifar10", archs, specs, two, executor="ray", workers=2, **kw)
        merged = compare_stores(one, two)
        again = run_scoring(nb201, "cifar10", archs, specs, two, executor="ray", workers=2, **kw)
    assert summary.scored == 4 and sum(summary.status["naswot"].values()) == 4
    assert (again.scored, again.skipped) == (0, 4)
    assert len(merged) == 16 and merged.identical.all()  # bit for bit
    keys = _keys(tmp_path / "ray.db")
    assert len(keys) == 16 and set(keys.values()) == {1}
    assert ray.is_initialized()  # a cluster this run did not start is left running


@needs_ray
def test_cli_executor_ray(tmp_path, cluster, capsys):
    db = tmp_path / "r.db"
    args = ["-q", "score", "--archs", "0,1", "--proxies", "params,naswot", "--batch-size", "4"]
    assert main([*args, "--executor", "ray", "--workers", "2", "--store", str(db)]) == 0
    assert "scored 2 architectures" in capsys.readouterr().out
    assert sum(_keys(db).values()) == 4


@needs_ray
@pytest.mark.parametrize(
    "proxy, status, reason",
    [
        ("ray_probe_exits", "crash", "worker died"),
        ("ray_probe_hangs", "timeout", "worker exceeded --arch-timeout 3 s"),
    ],
)
def test_ray_records_dying_and_hung_actors(nb201, tmp_path, cluster, proxy, status, reason):
    import zcb_ray_probe  # noqa: F401 - registers the probes in the driver

    archs = [nb201.from_index(i) for i in (7, 0, 1)]  # the bad one first: its actor is replaced
    with ResultStore(tmp_path / "r.db") as store:
        summary = run_scoring(
            nb201, "cifar10", archs, resolve_proxies(f"{proxy},params"), store, executor="ray",
            workers=1, threads=1, batch_size=4, progress=False, arch_timeout=3.0,
        )  # fmt: skip
        rows = store.frame()
    assert summary.scored == 3 and summary.status[proxy] == {"ok": 2, status: 1}
    bad = rows[rows.arch_index == 7]
    assert len(rows) == 6 and set(bad.status) == {status}
    assert all(e.startswith(reason) for e in bad.error), set(bad.error)


def test_executor_ray_without_ray_says_how_to_install(nb201, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with ResultStore(tmp_path / "r.db") as store:
        with pytest.raises(ZCBenchError, match=r"needs Ray: pip install 'zcbench\[ray\]'"):
            run_scoring(
                nb201, "cifar10", [nb201.from_index(0)], resolve_proxies("params"), store,
                executor="ray", progress=False,
            )  # fmt: skip


@needs_ray
def test_sigterm_stores_what_arrived_and_stops_the_cluster_it_started(tmp_path):
    db = tmp_path / "r.db"
    cmd = [sys.executable, "-m", "zcbench.cli", "-q", "score", "--archs", "0-399", "--proxies"]
    cmd += ["naswot", "--batch-size", "8", "--executor", "ray", "--workers", "2", "--threads"]
    cmd += ["1", "--store", str(db)]
    run = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and sum(_keys(db).values()) < 4:
        assert run.poll() is None, run.communicate()
        time.sleep(0.2)
    assert len(_session(run.pid)) > 3  # the local cluster this run started
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130 and "interrupted" in err
    keys = _keys(db)
    assert 4 <= len(keys) < 400 and set(keys.values()) == {1}
    deadline = time.monotonic() + 10
    while _session(run.pid) and time.monotonic() < deadline:  # ray.shutdown() stopped it
        time.sleep(0.2)
    assert _session(run.pid) == []


@needs_ray
def test_verify_and_guided_search_run_on_ray(tmp_path, cluster, capsys):
    """One architecture per Ray task for verify (the same accuracies as one process at the
    same thread count) and the guided searchers' proxy scoring on Ray."""
    import pandas as pd
    import torch

    common = ["verify", "--space", "resnet-macro", "--sample", "2", "--epochs", "1", "--threads",
              "1", "--train-size", "64", "--valid-size", "32", "--batch-size", "32"]  # fmt: skip
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the in-process run at the Ray tasks' thread count
    try:
        assert main(["-q", *common, "--out", str(tmp_path / "one")]) == 0
    finally:
        torch.set_num_threads(before)
    assert main(["-q", *common, "--executor", "ray", "--workers", "2",
                 "--out", str(tmp_path / "ray")]) == 0  # fmt: skip
    cols = ["index", "arch", "test_acc_1ep", "valid_acc_1ep", "train_acc_1ep"]
    one = pd.read_csv(tmp_path / "one" / "ground_truth.csv")[cols]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "ray" / "ground_truth.csv")[cols], one)
    code = main(["-q", "search", "--searcher", "zc:n=4", "--budget", "2", "--runs", "1",
                 "--proxy", "params", "--store", str(tmp_path / "p.db"), "--executor", "ray",
                 "--workers", "2", "--out", str(tmp_path / "s")])  # fmt: skip
    assert code == 0 and sum(_keys(tmp_path / "p.db").values()) == 4
    capsys.readouterr()


@needs_ray
def test_search_runs_side_by_side_on_ray(tmp_path, cluster, capsys):
    """Runs as Ray tasks (``--executor ray --run-workers 2``) give the traces of runs one after
    another: from the snapshot of a stored pool, and, for runs whose fresh random pool the
    snapshot lacks, scored in the tasks into stores of their own, whose rows the driver adds
    to its store (the same rows as one after another)."""
    import shutil

    import pandas as pd

    base = tmp_path / "p.db"
    argv = ["-q", "score", "--archs", "0-29", "--proxies", "params", "--store", str(base)]
    assert main(argv) == 0
    ray_args = ["--executor", "ray", "--workers", "2", "--run-workers", "2"]
    for searchers in ("rea,zc-rea:n=30:pool=stored", "zc:n=5"):
        one, two = tmp_path / f"one-{searchers}", tmp_path / f"ray-{searchers}"
        argv = ["-q", "search", "--searcher", searchers, "--proxy", "params", "--budget", "4"]
        argv += ["--runs", "4", "--threads", "1"]
        for out, extra in ((one, []), (two, ray_args)):
            out.mkdir()
            shutil.copy(base, out / "p.db")
            assert main([*argv, *extra, "--store", str(out / "p.db"), "--out", str(out)]) == 0
        a, b = (pd.read_csv(d / "trace.csv") for d in (one, two))
        pd.testing.assert_frame_equal(a, b)
        key = ["arch_index", "proxy", "status", "value"]
        rows = [ResultStore(d / "p.db").frame()[key].sort_values(key) for d in (one, two)]
        pd.testing.assert_frame_equal(*(r.reset_index(drop=True) for r in rows))
    assert "architectures scored now" in capsys.readouterr().out
