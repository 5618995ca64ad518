"""Results store: resume, concurrent writers, export, bad files, read-only media and full
disks; the score/export CLI."""

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from zcbench.cli import main
from zcbench.engine.runner import run_scoring
from zcbench.engine.scoring import ProxyResult
from zcbench.engine.store import EXPORT_COLUMNS, ResultStore, compare_stores
from zcbench.errors import DataError, ZCBenchError
from zcbench.proxies import resolve_proxies
from zcbench.types import Arch

pytestmark = pytest.mark.data
CHEAP = "params,l2_norm,flops"


def test_run_writes_resumes_and_exports(nb201, tmp_path):
    specs = resolve_proxies(CHEAP)
    archs = [nb201.from_index(i) for i in (0, 1, 1651)]
    with ResultStore(tmp_path / "r.db") as store:
        first = run_scoring(nb201, "cifar10", archs[:2], specs, store, batch_size=8, progress=False)
        assert (first.scored, first.skipped) == (2, 0)
        again = run_scoring(nb201, "cifar10", archs, specs, store, batch_size=8, progress=False)
        assert (again.scored, again.skipped) == (1, 2)  # only the new architecture is scored
        other = run_scoring(
            nb201, "cifar10", archs[:1], specs, store, batch_size=16, progress=False
        )
        assert other.scored == 1  # another batch size is another configuration
        assert len(store) == 3 * 3 + 3
        frame = store.export(tmp_path / "s.csv")
    assert list(frame.columns) == EXPORT_COLUMNS
    with sqlite3.connect(tmp_path / "r.db") as db:
        (versions,) = db.execute("SELECT versions FROM results LIMIT 1").fetchone()
    recorded = json.loads(versions)
    assert recorded["threads"] == str(torch.get_num_threads())  # last bits depend on them
    assert recorded["cpu"] == torch.backends.cpu.get_cpu_capability()
    assert recorded["torch"] == torch.__version__
    csv = pd.read_csv(tmp_path / "s.csv")
    assert len(csv) == 12 and set(csv.proxy) == {"params", "l2_norm", "flops"}
    row = csv[(csv["index"] == 0) & (csv.proxy == "params") & (csv.batch_size == 8)].iloc[0]
    assert row.value == pytest.approx(0.129306) and row.status == "ok"
    assert row.arch == nb201.to_str(archs[0])


def test_resuming_from_another_environment_is_flagged(nb201, tmp_path, caplog):
    specs = resolve_proxies("params")
    archs = [nb201.from_index(i) for i in (0, 1)]
    with ResultStore(tmp_path / "r.db") as store:
        run_scoring(nb201, "cifar10", archs[:1], specs, store, batch_size=8, progress=False)
        with caplog.at_level("WARNING", logger="zcbench"):
            run_scoring(nb201, "cifar10", archs, specs, store, batch_size=8, progress=False)
        assert not caplog.records  # same machine, same threads: nothing to say
        store._conn.execute("UPDATE results SET versions = json_set(versions, '$.threads', '7')")
        with caplog.at_level("WARNING", logger="zcbench"):
            run_scoring(nb201, "cifar10", archs, specs, store, batch_size=8, progress=False)
    (record,) = caplog.records
    assert "threads 7" in record.getMessage() and "agree only to rounding" in record.getMessage()


def test_failures_are_stored_and_retried_on_request(nb201, tmp_path):
    specs = resolve_proxies("naswot")
    none_cell = [nb201.from_index(1651)]  # all-none: K_H singular
    with ResultStore(tmp_path / "r.db") as store:
        run_scoring(nb201, "cifar10", none_cell, specs, store, batch_size=8, progress=False)
        frame = store.frame()
        assert frame.status.tolist() == ["error"] and frame.value.isna().all()
        assert "singular" in frame.error.iloc[0]
        skip = run_scoring(nb201, "cifar10", none_cell, specs, store, batch_size=8, progress=False)
        assert skip.skipped == 1
        retry = run_scoring(
            nb201,
            "cifar10",
            none_cell,
            specs,
            store,
            batch_size=8,
            retry_failed=True,
            progress=False,
        )
        assert retry.scored == 1 and len(store) == 1


def test_concurrent_writers(tmp_path):
    db = tmp_path / "shared.db"
    cmd = [
        sys.executable,
        "-m",
        "zcbench.cli",
        "-q",
        "score",
        "--proxies",
        CHEAP,
        "--batch-size",
        "8",
        "--store",
        str(db),
        "--archs",
    ]
    procs = [
        subprocess.Popen(cmd + [sel], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for sel in ("0-11", "6-17")
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    with ResultStore(db) as store:
        frame = store.frame()
    assert len(frame) == 18 * 3  # each (arch, proxy) once, whoever wrote it
    assert frame.groupby(["arch_index", "proxy"]).size().max() == 1


def test_bad_store_files(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataError, match="corrupt results store"):
        ResultStore(junk)
    with pytest.raises(ZCBenchError, match="folder .* does not exist"):
        ResultStore(tmp_path / "missing" / "r.db")
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '0')")
    with pytest.raises(DataError, match="schema 0"):
        ResultStore(old)
    with ResultStore(tmp_path / "ok.db") as store, pytest.raises(ZCBenchError, match=".json"):
        store.export(tmp_path / "out.json")


def test_parquet_export(nb201, tmp_path):
    pytest.importorskip("pyarrow")
    with ResultStore(tmp_path / "r.db") as store:
        run_scoring(
            nb201,
            "cifar10",
            [nb201.from_index(0)],
            resolve_proxies("params"),
            store,
            batch_size=4,
            progress=False,
        )
        store.export(tmp_path / "s.parquet")
    assert pd.read_parquet(tmp_path / "s.parquet").value.tolist() == [pytest.approx(0.129306)]


def test_score_and_export_cli(capsys, tmp_path):
    db, out = tmp_path / "r.db", tmp_path / "scores.csv"
    code = main(
        [
            "score",
            "--space",
            "nb201",
            "--dataset",
            "cifar100",
            "--proxies",
            "params,l2*",
            "--archs",
            "0-2,1462",
            "--batch-size",
            "8",
            "--store",
            str(db),
            "-q",
        ]
    )
    out_text = capsys.readouterr().out
    assert code == 0 and "scored 4 architectures" in out_text and "l2_norm" in out_text
    assert main(["export", "--store", str(db), "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert sorted(frame["index"].unique()) == [0, 1, 2, 1462]
    assert set(frame.dataset) == {"cifar100"}


def test_diff_reports_identical_and_differing_results(capsys, tmp_path):
    common = ["score", "--proxies", "naswot,params", "--batch-size", "8", "-q"]
    main([*common, "--archs", "0,7", "--store", str(tmp_path / "a.db")])
    main([*common, "--archs", "7,9", "--store", str(tmp_path / "b.db")])
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "a.db"), str(tmp_path / "b.db")]) == 0
    text = capsys.readouterr().out
    assert "2 results in both stores" in text and "2 bit-identical, 0 differ" in text
    assert "only in" in text and ": 2;" in text
    with sqlite3.connect(tmp_path / "b.db") as conn:  # a changed value is found
        conn.execute("UPDATE results SET value = value + 1e-12 WHERE proxy = 'naswot'")
    assert main(["diff", str(tmp_path / "a.db"), str(tmp_path / "b.db")]) == 1
    text = capsys.readouterr().out
    assert "1 differ" in text and "recorded the same versions, threads" in text
    with sqlite3.connect(tmp_path / "a.db") as a, sqlite3.connect(tmp_path / "b.db") as b:
        for conn in (a, b):  # rows from before threads were recorded
            conn.execute("UPDATE results SET versions = json_remove(versions, '$.threads')")
    assert main(["diff", str(tmp_path / "a.db"), str(tmp_path / "b.db")]) == 1
    assert "threads and CPU not recorded" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "b.db") as conn:  # ... and its recorded environment named
        conn.execute("UPDATE results SET versions = json_set(versions, '$.threads', '7')")
    assert main(["diff", str(tmp_path / "a.db"), str(tmp_path / "b.db")]) == 1
    assert "recorded environments differ (threads unrecorded vs 7)" in capsys.readouterr().out


def test_merge_adds_what_the_target_lacks_and_keeps_what_it_has(capsys, tmp_path):
    common = ["score", "--batch-size", "8", "-q"]
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    main([*common, "--proxies", "naswot,params", "--archs", "0,7", "--store", a])
    main([*common, "--proxies", "naswot,params", "--archs", "7,9", "--store", b])
    with sqlite3.connect(b) as conn:  # a result both hold, changed in the source
        conn.execute("UPDATE results SET value = -1 WHERE arch_index = 7")
    capsys.readouterr()
    assert main(["merge", b, "--into", a, "--proxies", "params"]) == 0
    assert f"{b}: 1 results added" in capsys.readouterr().out  # params of 9 only
    assert main(["merge", b, "--into", a]) == 0
    assert f"{b}: 1 results added to {a}" in capsys.readouterr().out  # naswot of 9
    with ResultStore(a, readonly=True) as store:
        frame = store.frame()
    assert sorted(set(frame.arch_index)) == [0, 7, 9] and len(frame) == 6
    assert (frame[frame.arch_index == 7].value != -1).all()  # the target's rows are kept
    assert main(["merge", a, "--into", a]) == 2
    assert "name it once" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["diff", "/nonexistent.db", "/nonexistent2.db"], "no results store"),
        (["score", "--proxies", "nope", "--archs", "0"], "unknown proxy 'nope'"),
        (["score", "--archs", "0", "--batch-size", "99999"], "batch size 99999"),
        (["score", "--proxies", "params"], "no architectures selected"),
        (["score", "--archs", "0", "--device", "cuda:7"], "CUDA is not available"),
        (["score", "--archs", "0", "--workers", "0"], "--workers: expected an integer >= 1"),
        (["export", "--store", "/nonexistent.db", "--out", "x.csv"], "no results store"),
        (["merge", "/nonexistent.db", "--into", "x.db"], "no results store"),
    ],
)
def test_score_errors_are_one_line(capsys, tmp_path, args, message):
    if args[0] == "score":
        args = args + ["--store", str(tmp_path / "r.db"), "-q"]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_fidelity_cli(capsys, tmp_path):
    db = tmp_path / "r.db"
    assert (
        main(
            [
                "score",
                "--proxies",
                "params,flops",
                "--archs",
                "0-7",
                "--batch-size",
                "4",
                "--store",
                str(db),
                "-q",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(["fidelity", "--store", str(db), "--batch-size", "4", "--out", str(tmp_path / "fid")])
        == 0
    )
    frame = pd.read_csv(tmp_path / "fid" / "fidelity.csv")
    assert set(frame.proxy) == {"params", "flops"} and (frame.n == 8).all()
    params = frame.set_index("proxy").loc["params"]
    assert (params.published, params.source) == (0.75, "zico")  # ZiCo's is vs test accuracy
    assert (params.pub_suite_zero, params.pub_zico) == (0.72, 0.75)
    assert main(["fidelity", "--store", str(db), "--batch-size", "99"]) == 2
    assert "no scores" in capsys.readouterr().err


def test_reference_follows_the_target_protocol():
    from zcbench.analysis.anchors import reference_rho

    assert reference_rho("fisher", "cifar10") == (0.360, "abdelfattah")
    assert reference_rho("fisher", "cifar10", "valid_acc_200ep") == (0.50, "suite_zero")
    assert reference_rho("zico", "cifar100", "valid_acc_200ep") == (0.81, "zico")  # only source
    assert reference_rho("swap", "cifar10")[1] == ""
    assert reference_rho("params", "cifar10") == (0.75, "zico")  # vs test before vs validation


# -- refused files, read-only media, full disks ------------------------------------------------


def _write(store, index, n=3, error=""):
    """Store ``n`` results of architecture ``index`` (one transaction)."""
    results = [
        ProxyResult(f"p{k}", Arch("nb201", (0,) * 6), float(index + k), 0.1, "ok", error)
        for k in range(n)
    ]
    store.write(
        results, space="nb201", arch_index=index, arch="a", dataset="cifar10", seed=0,
        batch_size=8, sampling="random", versions={f"p{k}": 1 for k in range(n)},
        dtype="float32", device="cpu", fused=True, packages={},
    )  # fmt: skip


def _snapshot(folder):
    """Every file of ``folder`` with its bytes: 'untouched' means this stays equal."""
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


def _one_line(exc_info, limit=400):
    text = str(exc_info.value)
    assert "\n" not in text and len(text) < limit, text


@pytest.fixture
def mount_tmpfs(tmp_path):
    """Mount a small tmpfs under ``tmp_path`` (root only; skips where mounting is refused),
    unmounted afterwards."""
    mounted = []

    def mount(size):
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("mounting a tmpfs needs root and mount(8)")
        folder = tmp_path / f"tmpfs{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_new_and_empty_files_become_stores(tmp_path):
    (tmp_path / "empty.db").touch()  # e.g. made by mktemp
    for name in ("new.db", "empty.db"):
        with ResultStore(tmp_path / name) as store:
            _write(store, 0)
        with ResultStore(tmp_path / name, readonly=True) as store:
            assert len(store) == 3
    (tmp_path / "blank.db").touch()
    with pytest.raises(DataError, match="empty") as err:
        ResultStore(tmp_path / "blank.db", readonly=True)  # nothing to read, nothing created
    _one_line(err)
    assert (tmp_path / "blank.db").read_bytes() == b""
    with pytest.raises(ZCBenchError, match="no results store"):
        ResultStore(tmp_path / "missing.db", readonly=True)
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(ZCBenchError, match="is a folder"):
        ResultStore(tmp_path)


def _foreign(path, how):
    if how == "other tables":
        with contextlib.closing(sqlite3.connect(path)) as conn, conn:
            conn.execute("CREATE TABLE people (name TEXT, age INTEGER)")
            conn.execute("INSERT INTO people VALUES ('ada', 36)")
        return
    if how == "other results columns":
        with contextlib.closing(sqlite3.connect(path)) as conn, conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE results (run INTEGER, score REAL)")
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        return
    with ResultStore(path) as store:  # a zcbench store, then changed
        _write(store, 0)
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        if how == "no schema version":
            conn.execute("DELETE FROM meta")
        elif how == "an extra table":
            conn.execute("CREATE TABLE notes (text TEXT)")


@pytest.mark.parametrize(
    "how", ["other tables", "other results columns", "no schema version", "an extra table"]
)
def test_foreign_sqlite_files_are_refused_untouched(tmp_path, how):
    path = tmp_path / "other.db"
    _foreign(path, how)
    before = _snapshot(tmp_path)
    assert list(before) == ["other.db"]  # closed cleanly: no -wal/-shm beside it
    for readonly in (False, True):
        with pytest.raises(DataError, match="not a zcbench results store") as err:
            ResultStore(path, readonly=readonly)
        _one_line(err)
        assert _snapshot(tmp_path) == before  # byte for byte, and no files beside it


def test_newer_schema_is_refused_with_the_versions(tmp_path):
    path = tmp_path / "future.db"
    with ResultStore(path) as store:
        _write(store, 0)
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
        conn.execute("ALTER TABLE results ADD COLUMN energy REAL")  # what a newer one may do
    before = _snapshot(tmp_path)
    for readonly in (False, True):
        with pytest.raises(
            DataError, match=r"has schema 3; this zcbench reads schema 1 \(upgrade zcbench\)"
        ) as err:
            ResultStore(path, readonly=readonly)
        _one_line(err)
        assert _snapshot(tmp_path) == before


def test_read_only_media_are_read_and_not_written(tmp_path, monkeypatch, capsys):
    media = tmp_path / "media"
    media.mkdir()
    db = media / "r.db"
    with ResultStore(db) as store:
        for i in range(2):
            _write(store, i)
    before = _snapshot(media)
    assert list(before) == ["r.db"]  # closed: the WAL is checkpointed into the file
    # what read-only media look like to zcbench (os.access says no), also when tests run as
    # root, whom chmod does not stop
    monkeypatch.setattr("zcbench.engine.store._writable", lambda path: False)
    with ResultStore(db, readonly=True) as store:
        assert len(store) == 6
        frame = store.export(tmp_path / "s.csv")
        assert sorted(frame["index"].unique()) == [0, 1]
        with pytest.raises(ZCBenchError, match="opened read-only"):
            _write(store, 2)
    with ResultStore(db, readonly=True) as a, ResultStore(db, readonly=True) as b:
        assert compare_stores(a, b)["identical"].all()  # what diff does
    assert _snapshot(media) == before  # immutable: no -wal/-shm, not a byte changed
    with pytest.raises(ZCBenchError, match="cannot write results store .* another --store") as err:
        ResultStore(db)
    assert not isinstance(err.value, DataError)  # not called corrupt
    _one_line(err)
    assert _snapshot(media) == before
    code = main(["score", "--proxies", "params", "--archs", "0", "--store", str(db), "-q"])
    cli_err = capsys.readouterr().err
    assert code == 2 and "cannot write results store" in cli_err and cli_err.count("\n") == 1
    assert "corrupt" not in cli_err
    assert _snapshot(media) == before


def test_sqlite_refusing_to_write_is_reported(tmp_path, monkeypatch):
    db = tmp_path / "r.db"
    with ResultStore(db) as store:
        _write(store, 0)
    real_connect = sqlite3.connect

    def read_only(database, *args, uri=False, **kwargs):  # SQLite itself can only read
        if not uri:
            database, uri = Path(database).resolve().as_uri() + "?mode=ro", True
        return real_connect(database, *args, uri=uri, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    with pytest.raises(ZCBenchError, match="cannot write .*readonly database") as err:
        ResultStore(db)
    assert not isinstance(err.value, DataError)
    _one_line(err)
    monkeypatch.undo()
    with ResultStore(db) as store:  # ... and if the store turns read-only while scoring
        store._conn.close()
        store._conn = read_only(db)
        with pytest.raises(ZCBenchError, match="cannot write .*readonly database") as err:
            _write(store, 1)
        _one_line(err)
    with ResultStore(db, readonly=True) as store:
        assert len(store) == 3


def test_disk_full_loses_nothing_committed(tmp_path):
    db = tmp_path / "r.db"
    with ResultStore(db) as store:
        _write(store, 0)
        (pages,) = store._conn.execute("PRAGMA page_count").fetchone()
        store._conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL
        with pytest.raises(ZCBenchError, match="disk full .*architecture 1 not stored") as err:
            _write(store, 1, error="x" * 20_000)
        assert not isinstance(err.value, DataError)
        _one_line(err)
        assert len(store) == 3
    with ResultStore(db, readonly=True) as store:
        assert store._conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert store.frame().arch_index.tolist() == [0, 0, 0]
    with ResultStore(db) as store:  # space again: the run resumes
        _write(store, 1)
        assert len(store) == 6


def test_full_tmpfs_loses_nothing_committed(mount_tmpfs):
    disk = mount_tmpfs("200k")
    db = disk / "r.db"
    committed = 0
    with ResultStore(db) as store, pytest.raises(ZCBenchError, match="disk full") as err:
        for i in range(1000):
            _write(store, i, n=20, error="x" * 400)
            committed = i + 1
    _one_line(err)
    assert committed > 0
    with ResultStore(db, readonly=True) as store:
        assert store._conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert sorted(set(store.frame().arch_index)) == list(range(committed))
        assert len(store) == 20 * committed


def test_store_on_a_read_only_mount(mount_tmpfs, tmp_path):
    disk = mount_tmpfs("1m")
    db = disk / "r.db"
    with ResultStore(db) as store:
        _write(store, 0)
    before = _snapshot(disk)
    done = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True)
    if done.returncode:
        pytest.skip("cannot remount the tmpfs read-only")
    with ResultStore(db, readonly=True) as store:
        assert len(store) == 3
        store.export(tmp_path / "s.csv")
    with pytest.raises(ZCBenchError, match="cannot write results store") as err:
        ResultStore(db)
    assert not isinstance(err.value, DataError)
    assert _snapshot(disk) == before
