import subprocess
import sys

import pandas as pd
import pytest

from zcbench.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_spaces(capsys):
    code, out, _ = run(capsys, "spaces")
    assert code == 0
    assert "nb201" in out and "15,625" in out and "5,425" in out
    assert "nats-sss" in out and "32,768" in out


@pytest.mark.data
def test_info_writes_the_requested_rows(capsys, tmp_path):
    out_csv = tmp_path / "info.csv"
    code, out, _ = run(
        capsys,
        "info",
        "--space",
        "nb201",
        "--dataset",
        "cifar10",
        "--archs",
        "0,1462,9929-9930",
        "--out",
        str(out_csv),
        "-q",
    )
    assert code == 0 and "wrote 4 nb201" in out
    frame = pd.read_csv(out_csv)
    assert list(frame.columns) == ["index", "arch", "params_m", "flops_m"]
    assert frame["index"].tolist() == [0, 1462, 9929, 9930]
    assert frame.loc[1, "params_m"] == pytest.approx(1.531546, abs=1e-9)
    assert frame.loc[1, "flops_m"] == pytest.approx(222.860992, abs=1e-9)


@pytest.mark.data
def test_info_accepts_strings_and_samples(capsys, tmp_path):
    out_csv = tmp_path / "sss.csv"
    code, _, _ = run(
        capsys,
        "info",
        "--space",
        "nats-sss",
        "--dataset",
        "ImageNet16-120",
        "--archs",
        "0,64:64:64:64:64",
        "--out",
        str(out_csv),
        "-q",
    )
    assert code == 0
    frame = pd.read_csv(out_csv)
    assert frame["index"].tolist() == [0, 32_767]
    assert frame["arch"].tolist() == ["8:8:8:8:8", "64:64:64:64:64"]
    code, _, _ = run(capsys, "info", "--sample", "5", "--seed", "1", "--out", str(out_csv), "-q")
    assert code == 0 and len(pd.read_csv(out_csv)) == 5


@pytest.mark.data
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--archs", "|nor_conv_3x3~0|+|none~0|"], "malformed nb201 architecture"),
        (
            ["--archs", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
            "unknown operation 'conv'",
        ),
        (["--archs", "15625"], "index 15625 out of range; expected 0..15624"),
        (["--dataset", "cifar11", "--archs", "1"], "unknown dataset 'cifar11'; expected one of"),
        (["--space", "nb301", "--archs", "1"], "unknown search space 'nb301'"),
        (["--space", "nats-sss", "--archs", "8:16:33:48:64"], "invalid width 33"),
        (["--data", "/nonexistent/dir", "--archs", "1"], "data directory /nonexistent/dir"),
        (["--archs", "1", "--workers"], "expected one argument"),
    ],
)
def test_bad_input_is_one_line(capsys, tmp_path, args, message):
    code, out, err = run_safely(capsys, ["info", *args, "--out", str(tmp_path / "x.csv"), "-q"])
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def run_safely(capsys, argv):
    try:
        return run(capsys, *argv)
    except SystemExit as exc:  # argparse errors exit through parser.exit
        out, err = capsys.readouterr()
        return exc.code, out, err


@pytest.mark.data
def test_corrupt_table_is_one_line(capsys, tmp_path):
    (tmp_path / "nb201").mkdir()
    (tmp_path / "nb201" / "ground_truth.csv").write_text("index,arch\n0,|oops|\n")
    code, _, err = run(
        capsys,
        "--data",
        str(tmp_path),
        "info",
        "--archs",
        "0",
        "--out",
        str(tmp_path / "x.csv"),
        "-q",
    )
    assert code == 2 and "corrupt NB201 table" in err and err.count("\n") == 1


def test_debug_shows_the_traceback(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "zcbench.cli",
            "--debug",
            "info",
            "--space",
            "nats-sss",
            "--archs",
            "8:8",
            "--out",
            str(tmp_path / "x.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "ArchError" in proc.stderr


def test_console_script_help():
    proc = subprocess.run(
        [sys.executable, "-m", "zcbench.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "spaces" in proc.stdout and "info" in proc.stdout and "bench" in proc.stdout
