"""Results store: resume, concurrent writers, export, bad files; the score/export CLI."""

import json
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest
import torch

from zcbench.cli import main
from zcbench.errors import DataError, ZCBenchError
from zcbench.proxies import resolve_proxies
from zcbench.runner import run_scoring
from zcbench.store import EXPORT_COLUMNS, ResultStore

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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["diff", "/nonexistent.db", "/nonexistent2.db"], "no results store"),
        (["score", "--proxies", "nope", "--archs", "0"], "unknown proxy 'nope'"),
        (["score", "--archs", "0", "--batch-size", "99999"], "batch size 99999"),
        (["score", "--proxies", "params"], "no architectures selected"),
        (["score", "--archs", "0", "--device", "cuda:7"], "CUDA is not available"),
        (["score", "--archs", "0", "--workers", "0"], "--workers must be at least 1"),
        (["export", "--store", "/nonexistent.db", "--out", "x.csv"], "no results store"),
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
    from zcbench.anchors import reference_rho

    assert reference_rho("fisher", "cifar10") == (0.360, "abdelfattah")
    assert reference_rho("fisher", "cifar10", "valid_acc_200ep") == (0.50, "suite_zero")
    assert reference_rho("zico", "cifar100", "valid_acc_200ep") == (0.81, "zico")  # only source
    assert reference_rho("swap", "cifar10")[1] == ""
    assert reference_rho("params", "cifar10") == (0.75, "zico")  # vs test before vs validation
