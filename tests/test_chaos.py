"""SIGKILL ``zcbench score`` at random moments and rerun: the store ends up with every result
exactly once and the values of an uninterrupted run (the short CI version of ``make chaos``)."""

import os
import signal
import subprocess
import sys
import time

import pytest
from chaos import run_mode, session

pytestmark = pytest.mark.data


def test_sigkill_and_rerun_store_every_result_once_with_the_same_values(tmp_path):
    result = run_mode("in-process", 5, tmp_path, seed=1, archs="0-5", proxies="params,naswot")
    assert result.kills >= 5
    assert not result.problems, result.line()


def test_sigkilled_search_leaves_no_workers_and_resumes_to_the_same_outputs(tmp_path, capsys):
    """SIGKILL ``zcbench search --run-workers 2`` once its workers have sent runs back: the
    workers leave with it, and the same command (fewer runs) resumes from the journal to the
    outputs of a search that was never interrupted."""

    def search(out, runs, *extra):
        return [
            sys.executable, "-m", "zcbench.cli", "-q", "search", "--searcher", "rea",
            "--budget", "20", "--runs", str(runs), "--out", str(out), *extra,
        ]  # fmt: skip

    cut, whole = tmp_path / "cut", tmp_path / "whole"
    proc = subprocess.Popen(
        search(cut, 5000, "--run-workers", "2"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    journal, deadline = cut / "runs.partial.csv", time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count("\n") > 20 * 6:  # workers' runs
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the search ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while session(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not session(proc.pid), "run workers outlived their killed parent"
    assert not (cut / "trace.csv").exists()
    from zcbench.cli import main  # the rerun and the reference need no process of their own

    capsys.readouterr()
    assert main(search(cut, 30)[3:]) == 0
    # runs finish out of order: a few of the first 30 may have been in flight at the kill
    read_back = int(capsys.readouterr().out.split("resuming: ", 1)[1].split()[0])
    assert 1 <= read_back <= 30
    assert main(search(whole, 30)[3:]) == 0
    for name in ("trace.csv", "summary.csv"):
        assert (cut / name).read_text() == (whole / name).read_text()
