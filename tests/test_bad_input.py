"""The bad-input catalogue: every numeric option checked when the command line is parsed,
empty selections refused, long input shortened, and failed commands leave nothing behind.
Each case is one line on stderr and exit status 2, never a traceback and never a job
started by mistake."""

from __future__ import annotations

import pytest

from zcbench.cli import main


def run(capsys, argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse errors exit through parser.exit
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


NUMBERS = [
    (["score", "--sample", "3", "--seed", "-1"], "--seed: expected an integer >= 0; got -1"),
    (["score", "--sample", "0"], "--sample: expected an integer >= 1; got 0"),
    (["score", "--sample", "ten"], "--sample: expected an integer >= 1; got 'ten'"),
    (["score", "--sample", "3", "--batch-size", "0"], "--batch-size: expected an integer >= 1"),
    (["score", "--sample", "3", "--workers", "0"], "--workers: expected an integer >= 1"),
    (["score", "--sample", "3", "--threads", "-2"], "--threads: expected an integer >= 0"),
    (["score", "--sample", "3", "--sample-seed", "1.5"], "--sample-seed: expected an integer"),
    (["score", "--sample", "3", "--arch-timeout", "0"], "--arch-timeout: expected a positive"),
    (["info", "--sample", "-4", "--out", "-"], "--sample: expected an integer >= 1; got -4"),
    (["search", "--runs", "0", "--out", "X"], "--runs: expected an integer >= 1; got 0"),
    (["search", "--budget", "10,abc", "--out", "X"], "bad --budget 'abc'; expected positive"),
    (["search", "--budget", "0", "--out", "X"], "bad --budget '0'"),
    (["search", "--max-latency", "pixel3=-1", "--out", "X"], "bad --max-latency 'pixel3=-1'"),
    (["search", "--max-latency", "pixel3=0", "--out", "X"], "with MS > 0"),
    (["search", "--proxy-seed", "-3", "--out", "X"], "--proxy-seed: expected an integer >= 0"),
    (["verify", "--epochs", "0", "--out", "X"], "--epochs: expected an integer >= 1; got 0"),
    (["verify", "--lr", "-0.1", "--out", "X"], "--lr: expected a positive number"),
    (["verify", "--lr", "nan", "--out", "X"], "--lr: expected a positive number"),
    (["verify", "--top", "0", "--out", "X"], "--top: expected an integer >= 1"),
    (["verify", "--spread", "0", "--out", "X"], "--spread: expected an integer >= 1"),
    (["report", "--bootstrap", "0", "--out", "X"], "--bootstrap: expected an integer >= 1"),
    (["report", "--learned-labels", "-1", "--out", "X"], "--learned-labels: expected an integer"),
    (["perf", "--archs", "0"], "--archs: expected an integer >= 1; got 0"),
    (["bench", "--sample", "0"], "--sample: expected an integer >= 1; got 0"),
    (["study", "--space", "resnet-macro", "--epochs", "-1", "--out", "X"], "--epochs"),
]


@pytest.mark.parametrize(("argv", "message"), NUMBERS)
def test_numbers_are_checked_when_parsed(capsys, tmp_path, argv, message):
    code, out, err = run(capsys, argv)
    assert code == 2 and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())


@pytest.mark.data
@pytest.mark.parametrize(
    "argv",
    [
        ["score", "--archs", ""],
        ["score", "--archs", " , "],
        ["info", "--archs", "", "--out", "-"],
        ["verify", "--archs", "", "--out", "V"],
    ],
)
def test_an_empty_selection_is_an_error_not_the_whole_space(capsys, argv):
    code, out, err = run(capsys, argv)
    assert code == 2 and "empty architecture selection" in err, err
    assert "scoring" not in out and "verifying" not in out


@pytest.mark.data
def test_long_input_is_shortened_in_errors(capsys):
    junk = "x" * 5000
    for argv in (["score", "--archs", junk], ["score", "--space", junk, "--sample", "2"],
                 ["score", "--dataset", junk, "--sample", "2"],
                 ["score", "--proxies", junk, "--sample", "2"]):  # fmt: skip
        code, _, err = run(capsys, argv)
        assert code == 2 and len(err) < 400 and "characters)" in err, err


@pytest.mark.data
def test_failed_commands_leave_no_empty_store_or_folder(capsys, tmp_path):
    store = tmp_path / "new.db"
    # the batch size is only known to be too large once the data is read: the store is made
    argv = ["score", "--archs", "1", "--proxies", "params", "--dataset", "ImageNet16-120",
            "--batch-size", "500", "--store", store]  # fmt: skip
    code, _, err = run(capsys, argv)
    assert code == 2 and "batch size 500 is not available" in err
    assert list(tmp_path.iterdir()) == []
    code, _, err = run(capsys, ["report", "--store", tmp_path / "none.db", "--out", tmp_path / "r"])
    assert code == 2 and list(tmp_path.iterdir()) == []
