"""The command line with a user's model (--model) and a user's space (--space, --truth):
every command works with a plug-in space, worker processes import it by module, and bad
input is one line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from zcbench.cli import main

pytestmark = pytest.mark.data

CHAIN = "space_fixtures:ChainSpace"
MACRO = "zcbench.examples.resnet_space:ResNetMacroSpace"
TINY_TRAINING = ["--epochs", "1", "--train-size", "64", "--valid-size", "32",
                 "--batch-size", "32"]  # fmt: skip


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_score_a_model_by_its_factory_path(capsys, tmp_path):
    out_csv = tmp_path / "m.csv"
    code, out, err = run(capsys, "score", "--model", "model_zoo:build_mobilenet", "--proxies",
                         "snip,naswot,params", "--batch-size", 16, "--out", out_csv)  # fmt: skip
    assert code == 0, err
    assert "num_classes passed" in out and "skipped" in out
    frame = pd.read_csv(out_csv)
    assert list(frame.proxy) == ["snip", "naswot", "params"]
    assert list(frame.status) == ["ok", "skipped", "ok"] and set(frame.dataset) == {"cifar10"}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "no_such_pkg.nets:build"], "cannot import model factory "
         "'no_such_pkg.nets:build': No module named 'no_such_pkg'"),
        (["--model", "model_zoo:nope"], "model_zoo has no 'nope'"),
        (["--model", "model_zoo"], "malformed model factory path 'model_zoo'; expected "
         "'module:attribute'"),
        (["--model", "model_zoo:FAMILIES"], "is a dict, not callable"),
        (["--model", "model_zoo:Broken"], "the model failed in forward on inputs of shape "
         "(16, 3, 32, 32): RuntimeError: this layer is not implemented yet"),
        (["--model", "model_zoo:build_resnet", "--dataset", "cifar100", "--sample", "3"],
         "--model scores one model"),
        (["--space", "space_fixtures:Incomplete", "--sample", "2"],
         "missing part of the SearchSpace contract: encode, build"),
        (["--space", "no_such_pkg:Space", "--sample", "2"], "cannot import search space"),
    ],
)  # fmt: skip
def test_bad_plugins_are_one_line(capsys, tmp_path, argv, message):
    code, out, err = run(capsys, "score", *argv, "--batch-size", 16, "--store", tmp_path / "s.db")
    assert code == 2
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "s.db").exists()


def test_a_plugin_space_through_info_score_and_workers(capsys, tmp_path):
    code, out, err = run(capsys, "info", "--space", MACRO, "--archs", "0-2", "--out", "-")
    assert code == 0, err
    assert len(pd.read_csv(__import__("io").StringIO(out))) == 3
    stores = []
    for workers in (1, 2):  # worker processes import the user's space by its module
        store = tmp_path / f"w{workers}.db"
        code, out, err = run(capsys, "score", "--space", CHAIN, "--archs", "4-8,8,8-8-4",
                             "--proxies", "params,naswot,snip", "--batch-size", 16, "--workers",
                             workers, "--threads", 1, "--store", store)  # fmt: skip
        assert code == 0, err
        stores.append(store)
    code, out, _ = run(capsys, "diff", *stores)
    assert code == 0 and "9 results in both stores" in out and "9 bit-identical" in out


def test_ground_truth_by_training_then_report_and_search(capsys, tmp_path):
    truth, store = tmp_path / "truth", tmp_path / "s.db"
    code, out, err = run(capsys, "verify", "--space", "resnet-macro", "--sample", 4,
                         *TINY_TRAINING, "--out", truth)  # fmt: skip
    assert code == 0, err
    gt = pd.read_csv(truth / "ground_truth.csv")
    assert list(gt.columns[:5]) == ["dataset", "index", "arch", "test_acc_1ep", "valid_acc_1ep"]
    assert len(gt) == 4 and gt.test_acc_1ep.between(0, 100).all()
    meta = json.loads((truth / "ground_truth.json").read_text())
    assert "after a short 1-epoch schedule on 64 training images" in meta["description"]

    proxies = "params,flops,synflow,naswot"
    code, out, err = run(capsys, "score", "--space", "resnet-macro", "--sample", 4, "--proxies",
                         proxies, "--batch-size", 16, "--store", store)  # fmt: skip
    assert code == 0, err
    code, out, err = run(capsys, "report", "--space", "resnet-macro", "--store", store,
                         "--truth", truth, "--batch-size", 16, "--bootstrap", 20,
                         "--out", tmp_path / "rep")  # fmt: skip
    assert code == 0, err
    corr = pd.read_csv(tmp_path / "rep" / "correlations.csv")
    assert set(corr.target) == {"test_acc_1ep", "valid_acc_1ep"}
    assert set(corr.space) == {"resnet-macro"} and (corr.n == 4).all()
    assert "measured here by zcbench verify" in (tmp_path / "rep" / "report.md").read_text()

    # the oracle reads validation accuracy, trains what the table lacks, reports test accuracy
    code, out, err = run(capsys, "search", "--space", "resnet-macro", "--truth", truth,
                         "--searcher", "random", "--budget", 3, "--runs", 1,
                         "--out", tmp_path / "search")  # fmt: skip
    assert code == 0, err
    trace = pd.read_csv(tmp_path / "search" / "trace.csv")
    assert len(trace) == 3 and trace.signal.notna().all()
    grown = pd.read_csv(truth / "ground_truth.csv")
    assert set(trace["index"]) <= set(grown["index"]) and len(grown) >= 4
    assert "trained" in out or set(trace["index"]) <= set(gt["index"])


def test_a_space_without_a_table_says_how_to_get_one(capsys, tmp_path):
    for argv in (["report", "--store", tmp_path / "x.db", "--out", tmp_path / "r"],
                 ["search", "--out", tmp_path / "s"]):  # fmt: skip
        code, _, err = run(capsys, argv[0], "--space", "resnet-macro", *argv[1:])
        assert code == 2 and "has no tabulated benchmark" in err and "--truth DIR" in err
    code, _, err = run(capsys, "verify", "--space", "resnet-macro", "--out", tmp_path / "v")
    assert code == 2 and "choose architectures with --sample N" in err


def test_bench_config_runs_the_study_of_a_plugin_space(capsys, tmp_path):
    config = tmp_path / "study.toml"
    config.write_text(
        'space = "resnet-macro"\nsample = 5\nproxies = "params,flops,snip,naswot"\n'
        "batch_size = 16\nepochs = 1\ntrain_size = 64\nvalid_size = 32\ntrain_batch_size = 32\n"
        "bootstrap = 20\n"
    )
    code, out, err = run(capsys, "bench", "--config", config, "--out", tmp_path / "b")
    assert code == 0, err
    assert "has no tabulated benchmark; running its study" in out
    assert "which proxy to trust on resnet-macro" in out
    summary = json.loads((tmp_path / "b" / "study.json").read_text())
    assert set(summary["timings_s"]) == {"score", "train", "report"}
    html = (tmp_path / "b" / "report.html").read_text()
    assert "short 1-epoch schedule" in html and html.count("<img") >= 5


def test_verify_in_worker_processes_matches_one_process(capsys, tmp_path):
    import torch

    common = ["verify", "--space", "resnet-macro", "--sample", 2, *TINY_TRAINING, "--threads", 1]
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # in-process at the workers' thread count
    try:
        code, _, err = run(capsys, *common, "--out", tmp_path / "one")
    finally:
        torch.set_num_threads(before)
    assert code == 0, err
    code, _, err = run(capsys, *common, "--workers", 2, "--out", tmp_path / "two")
    assert code == 0, err
    cols = ["index", "arch", "test_acc_1ep", "valid_acc_1ep", "train_acc_1ep"]
    one = pd.read_csv(tmp_path / "one" / "ground_truth.csv")[cols]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "two" / "ground_truth.csv")[cols], one)
